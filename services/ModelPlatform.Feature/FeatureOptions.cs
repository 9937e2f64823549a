using System.ComponentModel.DataAnnotations;

namespace ModelPlatform.Feature;

public sealed class FeatureOptions
{
    /// <summary>The largest CSV upload accepted, in bytes (the whole upload is parsed in memory).</summary>
    [Range(1, 1L << 30)]
    public long MaxUploadBytes { get; set; } = 64L * 1024 * 1024;
}
