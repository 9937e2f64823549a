using System.Data.Common;
using System.Security.Cryptography;
using Dapper;

namespace ModelPlatform.Storage;

/// <summary>A stored file, named by the SHA-256 of its bytes.</summary>
public sealed record BlobInfo(string Sha256, long Size);

/// <summary>
/// Large immutable files (model artifacts; dataset files in columnar form next) in the service's own database, in chunks
/// of <see cref="ChunkBytes"/>, so every replica of the service reads them without a shared disk, a backup of the database
/// holds them with the rows that name them, and no second system has to be run, secured and kept consistent with it.
/// <list type="bullet">
/// <item>Writes stream: a file is written chunk by chunk, each chunk its own short transaction, under a lease. Only when the
/// last chunk is in is it published under its SHA-256; a file already stored keeps its first copy (content addressing).
/// A failed write is deleted; one whose writer died is deleted once its lease runs out (<see cref="DeleteAbandonedAsync"/>).</item>
/// <item>Reads stream too, and check the SHA-256 as they go: a file whose bytes changed fails at its end, so a caller never
/// takes damaged bytes for good ones.</item>
/// </list>
/// </summary>
public sealed class BlobStore(ServiceDatabase database, TimeProvider clock)
{
    /// <summary>The size of a stored chunk: large enough that a 100 MB file is a hundred rows, small enough to stream.</summary>
    public const int ChunkBytes = 1 << 20;

    /// <summary>How long a write may go without storing a chunk before it counts as abandoned.</summary>
    public static readonly TimeSpan WriteLease = TimeSpan.FromMinutes(5);

    /// <summary>The migration that adds the store; each service that keeps files appends it to its own list.</summary>
    public static readonly Migration Migration = Migration.Portable(
        """
        CREATE TABLE blobs (
            sha256 TEXT PRIMARY KEY,
            content_id TEXT NOT NULL,
            size INTEGER NOT NULL,
            created_at TEXT NOT NULL);
        CREATE TABLE blob_chunks (
            content_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (content_id, seq));
        CREATE TABLE blob_writes (
            content_id TEXT PRIMARY KEY,
            writing_until TEXT NOT NULL);
        """,
        // Chunks are compressed files already: storing them as they are saves PostgreSQL a futile compression attempt.
        postgresOnly: "ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;");

    /// <summary>Stores <paramref name="content"/> as it streams in, and returns its SHA-256 and size.</summary>
    public async Task<BlobInfo> WriteAsync(Stream content, CancellationToken cancellationToken)
    {
        var contentId = Guid.NewGuid().ToString("N");
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO blob_writes (content_id, writing_until) VALUES (@contentId, @until)",
                new { contentId, until = (clock.GetUtcNow() + WriteLease).ToString("O") }, cancellationToken: cancellationToken));
        }

        try
        {
            using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[ChunkBytes];
            long size = 0;
            for (var seq = 0L; ; seq++)
            {
                var filled = await content.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
                if (filled == 0)
                {
                    break;
                }

                sha256.AppendData(buffer, 0, filled);
                size += filled;
                await WriteChunkAsync(contentId, seq, buffer.AsMemory(0, filled), cancellationToken);
            }

            var info = new BlobInfo(Convert.ToHexStringLower(sha256.GetHashAndReset()), size);
            await PublishAsync(contentId, info, cancellationToken);
            return info;
        }
        catch (Exception failure)
        {
            try
            {
                await DeleteContentAsync(contentId);
            }
            catch (Exception cleanup)
            {
                // The sweeper deletes the write once its lease runs out; the caller hears of both failures.
                throw new AggregateException(failure, cleanup);
            }

            throw;
        }
    }

    private async Task WriteChunkAsync(string contentId, long seq, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(contentId), cancellationToken);
        var renewed = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE blob_writes SET writing_until = @until WHERE content_id = @contentId",
            new { contentId, until = (clock.GetUtcNow() + WriteLease).ToString("O") }, transaction, cancellationToken: cancellationToken));
        if (renewed == 0)
        {
            throw new InvalidOperationException(
                $"The file being written was discarded: it stored nothing for {WriteLease.TotalMinutes:F0} minutes.");
        }

        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO blob_chunks (content_id, seq, data) VALUES (@contentId, @seq, @data)",
            new { contentId, seq, data = data.ToArray() }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Names the written content by its hash, unless a file with that hash is stored already: then the copy goes.</summary>
    private async Task PublishAsync(string contentId, BlobInfo info, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(info.Sha256), cancellationToken);
        var finished = await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM blob_writes WHERE content_id = @contentId", new { contentId }, transaction, cancellationToken: cancellationToken));
        if (finished == 0)
        {
            throw new InvalidOperationException("The file being written was discarded before it was complete.");
        }

        var stored = await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO blobs (sha256, content_id, size, created_at) VALUES (@Sha256, @contentId, @Size, @now)
            ON CONFLICT (sha256) DO NOTHING
            """,
            new { info.Sha256, contentId, info.Size, now = clock.GetUtcNow().ToString("O") }, transaction, cancellationToken: cancellationToken));
        if (stored == 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM blob_chunks WHERE content_id = @contentId", new { contentId }, transaction, cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<BlobInfo?> GetAsync(string sha256, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<BlobInfo>(new CommandDefinition(
            "SELECT sha256 AS Sha256, size AS Size FROM blobs WHERE sha256 = @sha256", new { sha256 }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// The file's bytes as a stream that reads one chunk at a time and checks the SHA-256 at the end, throwing
    /// <see cref="InvalidDataException"/> when they do not match; null when there is no such file.
    /// </summary>
    public async Task<Stream?> OpenReadAsync(string sha256, CancellationToken cancellationToken)
    {
        var connection = await database.OpenAsync(cancellationToken);
        try
        {
            var blob = await connection.QuerySingleOrDefaultAsync<StoredBlob>(new CommandDefinition(
                "SELECT content_id AS ContentId, size AS Size FROM blobs WHERE sha256 = @sha256", new { sha256 }, cancellationToken: cancellationToken));
            if (blob is null)
            {
                await connection.DisposeAsync();
                return null;
            }

            return new BlobReadStream(connection, blob.ContentId, sha256, blob.Size);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Holds the file <paramref name="sha256"/> against <see cref="DeleteUnreferencedAsync"/> until the transaction ends, so a
    /// row written in it can name the file; throws if the file is gone already.
    /// </summary>
    public async Task ClaimAsync(DbConnection connection, DbTransaction transaction, string sha256, CancellationToken cancellationToken)
    {
        await database.LockAsync(connection, transaction, FileResource(sha256), cancellationToken);
        if (await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM blobs WHERE sha256 = @sha256", new { sha256 }, transaction, cancellationToken: cancellationToken)) == 0)
        {
            throw new InvalidOperationException($"The file {sha256} was swept away before a row named it; write it again.");
        }
    }

    /// <summary>
    /// Deletes files stored more than <paramref name="grace"/> ago that no row of <paramref name="table"/> names in any of
    /// <paramref name="columns"/>: what a failed or raced write leaves. Each is checked again under the lock a writer takes
    /// in <see cref="ClaimAsync"/>. Safe with several replicas.
    /// </summary>
    public async Task<int> DeleteUnreferencedAsync(string table, IReadOnlyList<string> columns, TimeSpan grace, CancellationToken cancellationToken)
    {
        var unreferenced = $"NOT EXISTS (SELECT 1 FROM {table} r WHERE {string.Join(" OR ", columns.Select(column => $"r.{column} = b.sha256"))})";
        await using var connection = await database.OpenAsync(cancellationToken);
        var candidates = (await connection.QueryAsync<string>(new CommandDefinition(
            $"SELECT b.sha256 FROM blobs b WHERE b.created_at < @before AND {unreferenced}",
            new { before = (clock.GetUtcNow() - grace).ToString("O") }, cancellationToken: cancellationToken))).ToList();
        var deleted = 0;
        foreach (var sha256 in candidates)
        {
            await using var transaction = await database.BeginWriteAsync(connection, FileResource(sha256), cancellationToken);
            if (await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                $"SELECT COUNT(*) FROM blobs b WHERE b.sha256 = @sha256 AND {unreferenced}", new { sha256 }, transaction,
                cancellationToken: cancellationToken)) > 0)
            {
                await DeleteAsync(connection, transaction, sha256, cancellationToken);
                deleted++;
            }

            await transaction.CommitAsync(cancellationToken);
        }

        return deleted;
    }

    private static async Task DeleteAsync(DbConnection connection, DbTransaction transaction, string sha256, CancellationToken cancellationToken)
    {
        var contentId = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "DELETE FROM blobs WHERE sha256 = @sha256 RETURNING content_id", new { sha256 }, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM blob_chunks WHERE content_id = @contentId", new { contentId }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>Deletes writes whose writer stopped without finishing: their lease ran out. Safe with several replicas.</summary>
    public async Task<int> DeleteAbandonedAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var abandoned = (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT content_id FROM blob_writes WHERE writing_until < @now",
            new { now = clock.GetUtcNow().ToString("O") }, cancellationToken: cancellationToken))).ToList();
        foreach (var contentId in abandoned)
        {
            await DeleteContentAsync(contentId);
        }

        return abandoned.Count;
    }

    // Not cancellable: it cleans up after a failure, including a cancelled write.
    private async Task DeleteContentAsync(string contentId)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(contentId), CancellationToken.None);
        var parameters = new { contentId };
        if (await connection.ExecuteAsync("DELETE FROM blob_writes WHERE content_id = @contentId", parameters, transaction) > 0)
        {
            await connection.ExecuteAsync("DELETE FROM blob_chunks WHERE content_id = @contentId", parameters, transaction);
        }

        await transaction.CommitAsync(CancellationToken.None);
    }

    private static string Resource(string id) => $"blobs/{id}";

    private static string FileResource(string sha256) => $"blob-files/{sha256}";

    private sealed record StoredBlob(string ContentId, long Size);

    /// <summary>Reads the chunks in order over one connection, hashing them, and fails at the end if the hash differs.</summary>
    private sealed class BlobReadStream(DbConnection connection, string contentId, string sha256, long size) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private byte[] _chunk = [];
        private int _offset;
        private long _nextSeq;
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => size;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_offset == _chunk.Length)
            {
                if (_position == size)
                {
                    // Only an empty file ends without a last chunk to check at.
                    if (size == 0)
                    {
                        CheckHash();
                    }

                    return 0;
                }

                var chunk = await connection.QuerySingleOrDefaultAsync<byte[]>(new CommandDefinition(
                    "SELECT data FROM blob_chunks WHERE content_id = @contentId AND seq = @seq",
                    new { contentId, seq = _nextSeq++ }, cancellationToken: cancellationToken));
                if (chunk is not { Length: > 0 } || _position + chunk.Length > size)
                {
                    throw new InvalidDataException($"The stored file {sha256} is damaged: a chunk is missing or too long.");
                }

                _hash.AppendData(chunk);
                (_chunk, _offset) = (chunk, 0);
                // Checked before the last bytes are handed out, so a reader never has the whole of a damaged file.
                if (_position + chunk.Length == size)
                {
                    CheckHash();
                }
            }

            var count = Math.Min(buffer.Length, _chunk.Length - _offset);
            _chunk.AsMemory(_offset, count).CopyTo(buffer);
            _offset += count;
            _position += count;
            return count;
        }

        private void CheckHash()
        {
            if (Convert.ToHexStringLower(_hash.GetCurrentHash()) != sha256)
            {
                throw new InvalidDataException($"The stored file {sha256} is damaged: its bytes no longer hash to its name.");
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask DisposeAsync()
        {
            _hash.Dispose();
            await connection.DisposeAsync();
            await base.DisposeAsync();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _hash.Dispose();
                connection.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
