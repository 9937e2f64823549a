using System.Text.RegularExpressions;

namespace ModelPlatform.Contracts;

/// <summary>Names users give to datasets, models and aliases: safe in URLs, file names and cache keys.</summary>
public static partial class ResourceNames
{
    /// <summary>Null when <paramref name="name"/> is a valid dataset or model name, else why not.</summary>
    public static string? NameError(string? name) => name is not null && Name().IsMatch(name)
        ? null
        : "must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit";

    /// <summary>Null when <paramref name="alias"/> is a valid alias (such as <c>production</c>), else why not.</summary>
    public static string? AliasError(string? alias) => alias is not null && Alias().IsMatch(alias)
        ? null
        : "must be 1 to 64 lowercase letters, digits or '-', starting with a letter";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex Name();

    [GeneratedRegex("^[a-z][a-z0-9-]{0,63}$")]
    private static partial Regex Alias();
}
