namespace ModelPlatform.Storage;

/// <summary>
/// A file being received: written to a temporary file while its SHA-256 is computed, so a large upload
/// never sits in memory. Disposing deletes it.
/// </summary>
public sealed class StagedFile : IDisposable
{
    private StagedFile(string path, string sha256, long size) => (TemporaryPath, Sha256, Size) = (path, sha256, size);

    public string TemporaryPath { get; }

    public string Sha256 { get; }

    public long Size { get; }

    public static async Task<StagedFile> ReceiveAsync(string directory, Stream content, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{Guid.NewGuid():N}.tmp");
        try
        {
            using var sha256 = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            var buffer = new byte[81920];
            long size = 0;
            await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, buffer.Length, FileOptions.Asynchronous))
            {
                int read;
                while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    sha256.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    size += read;
                }

                file.Flush(flushToDisk: true);
            }

            return new StagedFile(path, Convert.ToHexStringLower(sha256.GetHashAndReset()), size);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    public void Dispose() => File.Delete(TemporaryPath);
}
