using Dapper;
using Microsoft.Extensions.Time.Testing;
using ModelPlatform.TestSupport;

namespace ModelPlatform.Storage.Tests;

/// <summary>Run on each engine: see the classes at the end of the file.</summary>
public abstract class BlobStoreTests : IDisposable
{
    private readonly ITestDatabase _testDatabase;
    private readonly ServiceDatabase _database;
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-11-28T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly BlobStore _blobs;

    protected BlobStoreTests(ITestDatabase testDatabase)
    {
        _testDatabase = testDatabase;
        _database = testDatabase.Open([BlobStore.Migration]);
        _blobs = new BlobStore(_database, _clock);
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }

    private async Task<byte[]> ReadAllAsync(string sha256)
    {
        await using var stream = await _blobs.OpenReadAsync(sha256, CancellationToken.None);
        Assert.NotNull(stream);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private async Task<long> CountAsync(string table)
    {
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        return await connection.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM {table}");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(BlobStore.ChunkBytes)]
    [InlineData(2 * BlobStore.ChunkBytes + 12345)]
    public async Task AFileComesBackByteForByteUnderTheHashOfItsBytes(int length)
    {
        var bytes = RandomBytes(length);

        var stored = await _blobs.WriteAsync(new MemoryStream(bytes), CancellationToken.None);

        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), stored.Sha256);
        Assert.Equal(length, stored.Size);
        Assert.Equal(bytes, await ReadAllAsync(stored.Sha256));
        Assert.Equal(stored, await _blobs.GetAsync(stored.Sha256, CancellationToken.None));
    }

    [Fact]
    public async Task TheSameBytesTwiceAreStoredOnce()
    {
        var bytes = RandomBytes(BlobStore.ChunkBytes + 1);

        var first = await _blobs.WriteAsync(new MemoryStream(bytes), CancellationToken.None);
        var second = await _blobs.WriteAsync(new MemoryStream(bytes), CancellationToken.None);

        Assert.Equal(first, second);
        Assert.Equal(1, await CountAsync("blobs"));
        Assert.Equal(2, await CountAsync("blob_chunks"));
        Assert.Equal(0, await CountAsync("blob_writes"));
    }

    [Fact]
    public async Task ADamagedFileFailsItsReadBeforeItsLastBytesAreHandedOut()
    {
        var bytes = RandomBytes(BlobStore.ChunkBytes + 100);
        var stored = await _blobs.WriteAsync(new MemoryStream(bytes), CancellationToken.None);
        await using (var connection = await _database.OpenAsync(CancellationToken.None))
        {
            var damaged = bytes[..BlobStore.ChunkBytes];
            damaged[17] ^= 1;
            await connection.ExecuteAsync("UPDATE blob_chunks SET data = @damaged WHERE seq = 0", new { damaged });
        }

        await using var stream = (await _blobs.OpenReadAsync(stored.Sha256, CancellationToken.None))!;
        var buffer = new byte[bytes.Length];
        var read = await stream.ReadAtLeastAsync(buffer.AsMemory(0, BlobStore.ChunkBytes), BlobStore.ChunkBytes);

        Assert.Equal(BlobStore.ChunkBytes, read);
        var error = await Assert.ThrowsAsync<InvalidDataException>(async () => await stream.ReadExactlyAsync(buffer.AsMemory(read)));
        Assert.Contains(stored.Sha256, error.Message);
    }

    [Fact]
    public async Task AMissingChunkFailsTheRead()
    {
        var stored = await _blobs.WriteAsync(new MemoryStream(RandomBytes(BlobStore.ChunkBytes + 100)), CancellationToken.None);
        await using (var connection = await _database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync("DELETE FROM blob_chunks WHERE seq = 1");
        }

        await Assert.ThrowsAsync<InvalidDataException>(() => ReadAllAsync(stored.Sha256));
    }

    [Fact]
    public async Task AWriteThatFailsMidwayLeavesNothing()
    {
        var failing = new FailingAfter(RandomBytes(3 * BlobStore.ChunkBytes), failAt: 2 * BlobStore.ChunkBytes + 5);

        await Assert.ThrowsAsync<IOException>(() => _blobs.WriteAsync(failing, CancellationToken.None));

        Assert.Equal(0, await CountAsync("blobs"));
        Assert.Equal(0, await CountAsync("blob_chunks"));
        Assert.Equal(0, await CountAsync("blob_writes"));
    }

    [Fact]
    public async Task AWriteWhoseWriterStoppedIsDeletedOnceItsLeaseRunsOutAndItsWriterCannotComeBack()
    {
        var resume = new TaskCompletionSource();
        var paused = new PausingAfterFirstChunk(RandomBytes(2 * BlobStore.ChunkBytes), resume.Task);
        var write = _blobs.WriteAsync(paused, CancellationToken.None);
        await paused.Paused;

        _clock.Advance(BlobStore.WriteLease - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await _blobs.DeleteAbandonedAsync(CancellationToken.None));
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, await _blobs.DeleteAbandonedAsync(CancellationToken.None));
        resume.SetResult();

        await Assert.ThrowsAsync<InvalidOperationException>(() => write);
        Assert.Equal(0, await CountAsync("blob_chunks"));
        Assert.Equal(0, await CountAsync("blobs"));
    }

    [Fact]
    public async Task AnUnknownFileIsNull()
    {
        Assert.Null(await _blobs.OpenReadAsync(new string('0', 64), CancellationToken.None));
        Assert.Null(await _blobs.GetAsync(new string('0', 64), CancellationToken.None));
    }

    public void Dispose() => _testDatabase.Dispose();

    /// <summary>A stream that fails with an I/O error once <paramref name="failAt"/> bytes have been read.</summary>
    private sealed class FailingAfter(byte[] bytes, int failAt) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count) =>
            Position >= failAt ? throw new IOException("the connection dropped") : base.Read(buffer, offset, (int)Math.Min(count, failAt - Position));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Position >= failAt
                ? throw new IOException("the connection dropped")
                : base.ReadAsync(buffer[..(int)Math.Min(buffer.Length, failAt - Position)], cancellationToken);
    }

    /// <summary>A stream that stops after its first chunk until <paramref name="resume"/> completes.</summary>
    private sealed class PausingAfterFirstChunk(byte[] bytes, Task resume) : MemoryStream(bytes)
    {
        private readonly TaskCompletionSource _paused = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Paused => _paused.Task;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Position >= BlobStore.ChunkBytes)
            {
                _paused.TrySetResult();
                await resume;
                return await base.ReadAsync(buffer, cancellationToken);
            }

            return await base.ReadAsync(buffer[..(int)Math.Min(buffer.Length, BlobStore.ChunkBytes - Position)], cancellationToken);
        }
    }
}

public sealed class BlobStoreOnSqliteTests() : BlobStoreTests(new SqliteTestDatabase());

[Collection(nameof(PostgresServer))]
public sealed class BlobStoreOnPostgresTests(PostgresServer server) : BlobStoreTests(new PostgresTestDatabase(server));
