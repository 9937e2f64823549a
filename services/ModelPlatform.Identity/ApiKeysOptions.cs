using System.ComponentModel.DataAnnotations;
using ModelPlatform.Identity.Keys;

namespace ModelPlatform.Identity;

/// <summary>
/// The keys the platform's own configuration defines (Aspire secret parameters): the first admin key, and each service's
/// identity by service name. They are stored, hashed, at start-up; a new value replaces the old one.
/// </summary>
public sealed class ApiKeysOptions
{
    [Required]
    [MinLength(ApiKeySecrets.MinLength)]
    public string AdminKey { get; set; } = "";

    public Dictionary<string, string> ServiceKeys { get; set; } = [];
}
