using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ModelPlatform.Features.Online;

/// <summary>
/// Where an entity's row of a feature view lives in Redis: <c>features:{view}:{join key value}[:{join key value}…]</c>, the
/// join key values in the view's declared order. Every part escapes <c>\</c> and <c>:</c> with a backslash, so two different
/// (view, entity) pairs never share a key.
/// </summary>
/// <remarks>
/// A join key value counts by its text: strings as they are, numbers in one canonical form. An integral number within a 64-bit
/// integer's range is plain digits (<c>42</c>, <c>-7</c>), so 42, 42L, 42.0, 42.0m and JSON's <c>42</c>, <c>42.0</c> and
/// <c>4.2e1</c> are all the entity "42" (as is the string "42"). Any other number is the shortest text that reads back as the
/// same double (<c>0.5</c>, <c>1E+20</c>). NaN and infinities are refused.
/// </remarks>
public static class OnlineKeys
{
    public const string Prefix = "features";

    // 2^63, the first double past long.MaxValue (which itself has no exact double).
    private const double TwoToThe63 = 9223372036854775808.0;

    /// <summary>The Redis key of <paramref name="entity"/>'s row in <paramref name="view"/>.</summary>
    public static string For(OnlineView view, IReadOnlyDictionary<string, object?> entity) => For(view, entity, nameof(entity), index: -1);

    /// <summary>A join key value's canonical text, or null when it is neither a string nor a finite number.</summary>
    public static string? CanonicalText(object? value) => value switch
    {
        string text => text,
        int or long or short or sbyte or byte or ushort or uint => Convert.ToInt64(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture),
        ulong number => number <= long.MaxValue ? number.ToString(CultureInfo.InvariantCulture) : NumberText(number),
        double number => NumberText(number),
        float number => NumberText(number),
        decimal number => decimal.IsInteger(number) && number >= long.MinValue && number <= long.MaxValue
            ? ((long)number).ToString(CultureInfo.InvariantCulture)
            : NumberText((double)number),
        JsonElement { ValueKind: JsonValueKind.String } json => json.GetString(),
        // An integer is read as one, so a long beyond 2^53 keeps every digit.
        JsonElement { ValueKind: JsonValueKind.Number } json => json.TryGetInt64(out var whole)
            ? whole.ToString(CultureInfo.InvariantCulture)
            : NumberText(json.GetDouble()),
        _ => null,
    };

    /// <summary>
    /// The keys of every entity's row in every view (<c>[view][entity]</c>). An entity's part of a key is worked out once
    /// for all the views that share its join keys (a read of 3 views of one entity escapes each value once, not 3 times).
    /// </summary>
    /// <param name="paramName">The argument the entities came from, named in an error.</param>
    internal static string[][] ForEach(IReadOnlyList<OnlineView> views, IReadOnlyList<IReadOnlyDictionary<string, object?>> entities, string paramName)
    {
        var keys = new string[views.Count][];
        var entityParts = new Dictionary<string, string[]>(StringComparer.Ordinal);
        for (var v = 0; v < views.Count; v++)
        {
            var view = views[v];
            var joinKeys = string.Join('\0', view.JoinKeys);
            if (!entityParts.TryGetValue(joinKeys, out var parts))
            {
                entityParts[joinKeys] = parts = new string[entities.Count];
                for (var e = 0; e < entities.Count; e++)
                {
                    parts[e] = EntityPart(view, entities[e], paramName, e);
                }
            }

            var prefix = ViewPart(view);
            keys[v] = new string[entities.Count];
            for (var e = 0; e < entities.Count; e++)
            {
                keys[v][e] = string.Concat(prefix, parts[e]);
            }
        }

        return keys;
    }

    /// <param name="paramName">The argument the entity came from, named in the error.</param>
    /// <param name="index">The entity's position in that argument, or -1.</param>
    internal static string For(OnlineView view, IReadOnlyDictionary<string, object?> entity, string paramName, int index) =>
        string.Concat(ViewPart(view), EntityPart(view, entity, paramName, index));

    private static string ViewPart(OnlineView view) => $"{Prefix}:{Escaped(view.Name)}";

    // ":value" per join key, in the view's declared order.
    private static string EntityPart(OnlineView view, IReadOnlyDictionary<string, object?> entity, string paramName, int index)
    {
        var joinKeys = view.JoinKeys;
        if (joinKeys.Count == 1)
        {
            return string.Concat(":", Escaped(JoinKeyText(view, joinKeys[0], entity, paramName, index)));
        }

        var part = new StringBuilder();
        for (var k = 0; k < joinKeys.Count; k++)
        {
            part.Append(':').Append(Escaped(JoinKeyText(view, joinKeys[k], entity, paramName, index)));
        }

        return part.ToString();
    }

    private static string JoinKeyText(OnlineView view, string joinKey, IReadOnlyDictionary<string, object?> entity, string paramName, int index)
    {
        if (!entity.TryGetValue(joinKey, out var value))
        {
            throw new ArgumentException(
                $"{Which(paramName, index)} has no value for join key '{joinKey}', which feature view '{view.Name}' needs.", paramName);
        }

        return CanonicalText(value) ?? throw new ArgumentException(
            $"{Which(paramName, index)} has {(value is null ? "null" : $"'{value}'")} for join key '{joinKey}'; "
            + "a join key value is a string or a finite number.", paramName);
    }

    private static string Which(string paramName, int index) => index < 0 ? paramName : $"{paramName}[{index}]";

    private static string? NumberText(double number)
    {
        if (!double.IsFinite(number))
        {
            return null;
        }

        return Math.Floor(number) == number && number >= long.MinValue && number < TwoToThe63
            ? ((long)number).ToString(CultureInfo.InvariantCulture) // -0.0 becomes "0" here too
            : number.ToString("R", CultureInfo.InvariantCulture);
    }

    private static string Escaped(string part)
    {
        if (part.AsSpan().IndexOfAny('\\', ':') < 0)
        {
            return part;
        }

        var escaped = new StringBuilder(part.Length + 4);
        foreach (var character in part)
        {
            if (character is '\\' or ':')
            {
                escaped.Append('\\');
            }

            escaped.Append(character);
        }

        return escaped.ToString();
    }
}
