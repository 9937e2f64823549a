using System.Text.Json;

namespace ModelPlatform.Contracts;

/// <summary>The values of an enum as the API writes them (their JSON names, such as <c>succeeded</c>), and read back.</summary>
public static class ApiNames<TEnum> where TEnum : struct, Enum
{
    public static IReadOnlyList<string> All { get; } = [.. Enum.GetValues<TEnum>().Select(Name)];

    public static string Name(TEnum value) => JsonSerializer.Serialize(value).Trim('"');

    /// <summary>Reads a value as the API writes it, in any letter case.</summary>
    public static bool TryParse(string text, out TEnum value)
    {
        foreach (var candidate in Enum.GetValues<TEnum>())
        {
            if (string.Equals(Name(candidate), text, StringComparison.OrdinalIgnoreCase))
            {
                value = candidate;
                return true;
            }
        }

        value = default;
        return false;
    }
}
