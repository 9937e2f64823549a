using System.ComponentModel.DataAnnotations;

namespace ModelPlatform.Storage;

public sealed class StorageOptions
{
    /// <summary>
    /// Where the service keeps its database and files. The AppHost assigns one per service;
    /// relative paths are under the content root.
    /// </summary>
    [Required]
    public string DataDirectory { get; set; } = "data";
}
