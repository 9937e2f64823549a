using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML;

namespace ModelPlatform.ML;

/// <summary>
/// A model version's artifact: an ML.NET model zip, or for an ensemble a zip of its members' ML.NET zips with an
/// <c>ensemble.json</c> that gives each one's weight. Either loads as a list of weighted members (one for a single model).
/// </summary>
public static class ModelArtifact
{
    private const string Manifest = "ensemble.json";

    /// <summary>
    /// The most an artifact may hold uncompressed, all entries (and an ensemble's members) together. ML.NET extracts
    /// entries to temporary files before it parses them, so a zip bomb would fill the disk before anything else noticed.
    /// </summary>
    public const long MaxUncompressedBytes = 2L << 30;

    public static byte[] Save(MLContext ml, IReadOnlyList<(ITransformer Model, double Weight)> members, DataViewSchema inputSchema)
    {
        if (members.Count == 1)
        {
            return SaveOne(ml, members[0].Model, inputSchema);
        }

        using var artifact = new MemoryStream();
        using (var zip = new ZipArchive(artifact, ZipArchiveMode.Create, leaveOpen: true))
        {
            var manifest = new EnsembleManifest([.. members.Select((member, i) => new EnsembleManifestMember($"member-{i + 1}.zip", member.Weight))]);
            for (var i = 0; i < members.Count; i++)
            {
                // A member is a zip already: storing it compressed again would only cost time.
                using var entry = zip.CreateEntry(manifest.Members[i].Artifact, CompressionLevel.NoCompression).Open();
                entry.Write(SaveOne(ml, members[i].Model, inputSchema));
            }

            using var manifestEntry = zip.CreateEntry(Manifest).Open();
            JsonSerializer.Serialize(manifestEntry, manifest, JsonSerializerOptions.Web);
        }

        return artifact.ToArray();
    }

    /// <summary>
    /// Loads the members, and what they take in memory: the uncompressed size of their contents (trees, weights,
    /// dictionaries), which is what ML.NET holds once loaded. That size is counted by inflating every entry, not read from
    /// the zip's directory, which anyone can write; past <paramref name="maxUncompressedBytes"/> the artifact is refused.
    /// </summary>
    public static (IReadOnlyList<(ITransformer Model, double Weight)> Members, long SizeBytes) Load(
        MLContext ml, Stream artifact, long maxUncompressedBytes = MaxUncompressedBytes)
    {
        using var buffer = new MemoryStream();
        artifact.CopyTo(buffer);
        using var zip = new ZipArchive(buffer, ZipArchiveMode.Read, leaveOpen: true);
        var uncompressed = InflatedSize(zip, maxUncompressedBytes);
        if (zip.GetEntry(Manifest) is not { } manifestEntry)
        {
            buffer.Position = 0;
            return ([(ml.Model.Load(buffer, out _), 1.0)], uncompressed);
        }

        EnsembleManifest manifest;
        using (var manifestStream = manifestEntry.Open())
        {
            manifest = JsonSerializer.Deserialize<EnsembleManifest>(manifestStream, JsonSerializerOptions.Web)
                ?? throw new InvalidDataException($"The ensemble's {Manifest} is empty.");
        }

        var members = new List<(ITransformer, double)>();
        var size = 0L;
        foreach (var member in manifest.Members)
        {
            // Load buffers the member's stream itself.
            using var memberStream = (zip.GetEntry(member.Artifact) ?? throw new InvalidDataException($"The ensemble has no {member.Artifact}.")).Open();
            var (loaded, memberSize) = Load(ml, memberStream, maxUncompressedBytes - size);
            members.Add((loaded.Single().Model, member.Weight));
            size += memberSize;
        }

        return (members, size);
    }

    /// <summary>
    /// The bytes the entries really inflate to, counted without keeping them: the directory's sizes are the writer's word.
    /// (The runtime reads an entry no further than its declared size, so a zip cannot smuggle more than it declares.)
    /// </summary>
    private static long InflatedSize(ZipArchive zip, long maxBytes)
    {
        if (zip.Entries.Sum(entry => entry.Length) is var declared && declared > maxBytes)
        {
            throw new InvalidDataException($"The artifact declares {declared:N0} bytes uncompressed; the most allowed is {maxBytes:N0}.");
        }

        var buffer = new byte[81920];
        var total = 0L;
        foreach (var entry in zip.Entries)
        {
            using var content = entry.Open();
            int read;
            while ((read = content.Read(buffer)) > 0)
            {
                total += read;
            }
        }

        return total;
    }

    private static byte[] SaveOne(MLContext ml, ITransformer model, DataViewSchema inputSchema)
    {
        using var stream = new MemoryStream();
        ml.Model.Save(model, inputSchema, stream);
        return stream.ToArray();
    }

    private sealed record EnsembleManifest(IReadOnlyList<EnsembleManifestMember> Members);

    private sealed record EnsembleManifestMember(string Artifact, double Weight);
}
