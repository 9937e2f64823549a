namespace ModelPlatform.Tests;

/// <summary>
/// Hostile variants of a valid input, for generated-input tests: each is the input with a few random edits (a byte
/// changed, bytes inserted, a range cut or repeated, the end cut off). The inserts favour what parsers trip on: JSON
/// and CSV punctuation, quotes, NUL, bytes that are not UTF-8, huge and special numbers, deep nesting.
/// </summary>
public static class Mutations
{
    private static readonly byte[][] Tokens =
    [
        "{"u8.ToArray(), "}"u8.ToArray(), "["u8.ToArray(), "]"u8.ToArray(), ","u8.ToArray(), ":"u8.ToArray(), "\""u8.ToArray(),
        "null"u8.ToArray(), "true"u8.ToArray(), "NaN"u8.ToArray(), "1e999"u8.ToArray(), "-0"u8.ToArray(), "99999999999999999999999"u8.ToArray(),
        "\n"u8.ToArray(), "\r\n"u8.ToArray(), ";"u8.ToArray(), "\t"u8.ToArray(), "\\u0000"u8.ToArray(), [0], [0xFF, 0xFE], [0xC3],
        "=cmd|' /C calc'!A0"u8.ToArray(), "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["u8.ToArray(),
    ];

    /// <summary>The variant of <paramref name="input"/> that <paramref name="seed"/> picks.</summary>
    public static byte[] Mutate(byte[] input, int seed)
    {
        var random = new Random(seed);
        var bytes = new List<byte>(input);
        for (var edits = random.Next(1, 6); edits > 0; edits--)
        {
            var at = random.Next(bytes.Count + 1);
            switch (random.Next(6))
            {
                case 0 when bytes.Count > 0:
                    bytes[Math.Min(at, bytes.Count - 1)] = (byte)random.Next(256);
                    break;
                case 1:
                    bytes.InsertRange(at, Tokens[random.Next(Tokens.Length)]);
                    break;
                case 2:
                    bytes.RemoveRange(at, Math.Min(random.Next(1, 16), bytes.Count - at));
                    break;
                case 3 when bytes.Count > 0:
                    var start = random.Next(bytes.Count);
                    bytes.InsertRange(at, bytes.GetRange(start, Math.Min(random.Next(1, 64), bytes.Count - start)));
                    break;
                case 4:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                default:
                    bytes.Insert(at, (byte)random.Next(256));
                    break;
            }
        }

        return [.. bytes];
    }
}
