using System.ComponentModel.DataAnnotations;

namespace ModelPlatform.Registry;

public sealed class RegistryOptions
{
    /// <summary>The largest model artifact accepted, in bytes.</summary>
    [Range(1, 4L << 30)]
    public long MaxArtifactBytes { get; set; } = 256L * 1024 * 1024;
}
