using System.Globalization;
using System.Text;
using System.Text.Json;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>
/// One column of a table as training reads it, value by value, whatever held it: typed arrays read from a columnar file,
/// or the values of JSON rows. Each reader returns null on success, else a message that says what was expected.
/// </summary>
public abstract class TableColumn(ColumnSchema schema)
{
    public ColumnSchema Schema { get; } = schema;

    public abstract int Count { get; }

    /// <summary>The text that stands for the value (as <see cref="ColumnValues.CanonicalText"/>); null when it is missing.</summary>
    public abstract string? CanonicalText(int row);

    /// <summary>The value as ML.NET's float (missing = NaN); see <see cref="ColumnValues.TryReadNumber"/>.</summary>
    public abstract string? TryReadNumber(int row, out float value);

    /// <summary>The value as text (missing = empty); see <see cref="ColumnValues.TryReadText"/>.</summary>
    public virtual string? TryReadText(int row, out string value)
    {
        value = CanonicalText(row) ?? string.Empty;
        return null;
    }

    public static TableColumn Of(ColumnSchema schema, double?[] values) => new Numbers(schema, [.. values.Select(value => value ?? double.NaN)]);

    /// <summary>Numbers as a columnar file gives them, NaN where a value is missing (the platform's data never holds a NaN value).</summary>
    public static TableColumn Of(ColumnSchema schema, double[] values) => new Numbers(schema, values);

    public static TableColumn Of(ColumnSchema schema, bool?[] values) => new Booleans(schema, values);

    public static TableColumn Of(ColumnSchema schema, string?[] values) => new Texts(schema, values);

    /// <summary>Text of few values: each row's code into <paramref name="values"/>, -1 where missing (see <see cref="TextColumnBuilder"/>).</summary>
    public static TableColumn Of(ColumnSchema schema, int[] codes, string[] values) => new CodedTexts(schema, codes, values);

    /// <summary>
    /// Text of many values as UTF-8, one after another in <paramref name="chunks"/>, each starting at the position given in
    /// <paramref name="chunkStarts"/> counted over all of them: row i is the bytes from the end of row i - 1 to
    /// <paramref name="ends"/>[i], and missing where its bit in <paramref name="missing"/> is set (see <see cref="TextColumnBuilder"/>).
    /// </summary>
    internal static TableColumn OfUtf8(ColumnSchema schema, byte[][] chunks, int[] chunkStarts, int[] ends, ulong[]? missing) =>
        new Utf8Texts(schema, chunks, chunkStarts, ends, missing);

    /// <summary>The column <paramref name="schema"/> names, read from each of <paramref name="rows"/>.</summary>
    public static TableColumn Of(ColumnSchema schema, IReadOnlyList<IReadOnlyDictionary<string, JsonElement>> rows) => new JsonValues(schema, rows);

    private static string Expected(ColumnType type) => type == ColumnType.Boolean ? "expected true, false or null" : "expected a number or null";

    /// <summary>
    /// How many of <paramref name="rows"/> hold a value (empty text counts as none), how many different values they hold,
    /// and the first one's text. Values are told apart only up to <paramref name="distinctLimit"/>: a column whose caller
    /// needs to know no more than whether it is constant asks for 2, and costs no memory a row.
    /// </summary>
    internal virtual (int Present, int Distinct, string? First) CountValues(List<int> rows, int distinctLimit = int.MaxValue)
    {
        var (present, distinct, first) = (0, new HashSet<string>(StringComparer.Ordinal), (string?)null);
        foreach (var row in rows)
        {
            if (CanonicalText(row) is { Length: > 0 } text)
            {
                present++;
                first ??= text;
                if (distinct.Count < distinctLimit)
                {
                    distinct.Add(text);
                }
            }
        }

        return (present, distinct.Count, first);
    }

    // Held as doubles, 8 bytes a value: a double? takes 16.
    private sealed class Numbers(ColumnSchema schema, double[] values) : TableColumn(schema)
    {
        public override int Count => values.Length;

        public override string? CanonicalText(int row) => double.IsNaN(values[row]) ? null : values[row].ToString("R", CultureInfo.InvariantCulture);

        // Counted as numbers, not as their text: a string for every row would take several times the column's memory. Two
        // numbers have the same shortest round-trip text exactly when they have the same bits.
        internal override (int Present, int Distinct, string? First) CountValues(List<int> rows, int distinctLimit = int.MaxValue)
        {
            if (distinctLimit <= 2)
            {
                return CountUpToTwo(rows);
            }

            var bits = new long[rows.Count];
            var present = 0;
            foreach (var row in rows)
            {
                if (!double.IsNaN(values[row]))
                {
                    bits[present++] = BitConverter.DoubleToInt64Bits(values[row]);
                }
            }

            var sorted = bits.AsSpan(0, present);
            sorted.Sort();
            var distinct = present == 0 ? 0 : 1;
            for (var i = 1; i < sorted.Length; i++)
            {
                distinct += sorted[i] != sorted[i - 1] ? 1 : 0;
            }

            return (present, distinct, rows.Select(CanonicalText).FirstOrDefault(text => text is not null));
        }

        // Whether the column is constant needs no copy of it: one pass, comparing each value with the first.
        private (int Present, int Distinct, string? First) CountUpToTwo(List<int> rows)
        {
            var (present, distinct, first) = (0, 0, 0L);
            foreach (var row in rows)
            {
                if (!double.IsNaN(values[row]))
                {
                    var bits = BitConverter.DoubleToInt64Bits(values[row]);
                    first = present++ == 0 ? bits : first;
                    distinct = present == 1 ? 1 : bits != first ? 2 : distinct;
                }
            }

            return (present, distinct, present == 0 ? null : BitConverter.Int64BitsToDouble(first).ToString("R", CultureInfo.InvariantCulture));
        }

        public override string? TryReadNumber(int row, out float value)
        {
            value = float.NaN;
            var number = values[row];
            if (double.IsNaN(number))
            {
                return null;
            }

            if (Schema.Type != ColumnType.Numeric)
            {
                return $"{Expected(Schema.Type)}, got the number {CanonicalText(row)}";
            }

            value = (float)number;
            return float.IsFinite(value) ? null : "the number is outside the range of a 32-bit float";
        }
    }

    private sealed class Booleans(ColumnSchema schema, bool?[] values) : TableColumn(schema)
    {
        public override int Count => values.Length;

        public override string? CanonicalText(int row) => values[row] switch { true => "true", false => "false", null => null };

        public override string? TryReadNumber(int row, out float value)
        {
            value = values[row] switch { true => 1f, false => 0f, null => float.NaN };
            return values[row] is null || Schema.Type == ColumnType.Boolean ? null : $"{Expected(Schema.Type)}, got the boolean {CanonicalText(row)}";
        }
    }

    private sealed class Texts(ColumnSchema schema, string?[] values) : TableColumn(schema)
    {
        public override int Count => values.Length;

        public override string? CanonicalText(int row) => values[row];

        public override string? TryReadNumber(int row, out float value)
        {
            value = float.NaN;
            return values[row] is null ? null : $"{Expected(Schema.Type)}, got the string \"{CellValues.Truncate(values[row]!)}\"";
        }
    }

    // A code a row into one string per value: 4 bytes a row, and no string made to read a value.
    private sealed class CodedTexts(ColumnSchema schema, int[] codes, string[] values) : TableColumn(schema)
    {
        public override int Count => codes.Length;

        public override string? CanonicalText(int row) => codes[row] < 0 ? null : values[codes[row]];

        public override string? TryReadNumber(int row, out float value)
        {
            value = float.NaN;
            return codes[row] < 0 ? null : $"{Expected(Schema.Type)}, got the string \"{CellValues.Truncate(values[codes[row]])}\"";
        }

        // Values are told apart by their codes, as each has one.
        internal override (int Present, int Distinct, string? First) CountValues(List<int> rows, int distinctLimit = int.MaxValue)
        {
            var seen = new bool[values.Length];
            var (present, distinct, first) = (0, 0, -1);
            foreach (var row in rows)
            {
                var code = codes[row];
                if (code >= 0 && values[code].Length > 0)
                {
                    present++;
                    first = first < 0 ? code : first;
                    distinct += seen[code] ? 0 : 1;
                    seen[code] = true;
                }
            }

            return (present, distinct, first < 0 ? null : values[first]);
        }
    }

    // Every value's UTF-8 bytes one after another, with where each row ends: about the bytes of the text, where a string a
    // row costs 24 bytes and two a character. A value is made into a string each time it is read.
    private sealed class Utf8Texts(ColumnSchema schema, byte[][] chunks, int[] chunkStarts, int[] ends, ulong[]? missing) : TableColumn(schema)
    {
        public override int Count => ends.Length;

        public override string? CanonicalText(int row) => IsMissing(row) ? null : Encoding.UTF8.GetString(Bytes(row));

        public override string? TryReadNumber(int row, out float value)
        {
            value = float.NaN;
            return IsMissing(row) ? null : $"{Expected(Schema.Type)}, got the string \"{CellValues.Truncate(CanonicalText(row)!)}\"";
        }

        // Values are told apart by sorting their hashes with their rows, then comparing the bytes of rows whose hashes are
        // equal: 8 bytes a row, where a set of the values' strings took several times the column.
        internal override (int Present, int Distinct, string? First) CountValues(List<int> rows, int distinctLimit = int.MaxValue)
        {
            if (distinctLimit <= 2)
            {
                return CountUpToTwo(rows);
            }

            var present = rows.Where(row => !IsMissing(row) && Bytes(row).Length > 0).ToArray();
            var hashes = Array.ConvertAll(present, row => HashCode(Bytes(row)));
            Array.Sort(hashes, present);
            var distinct = 0;
            for (var start = 0; start < present.Length;)
            {
                var end = start + 1;
                while (end < present.Length && hashes[end] == hashes[start])
                {
                    end++;
                }

                // Rows of one hash: each counts unless an earlier one has the same bytes.
                for (var i = start; i < end; i++)
                {
                    var first = true;
                    for (var j = start; j < i && first; j++)
                    {
                        first = !Bytes(present[i]).SequenceEqual(Bytes(present[j]));
                    }

                    distinct += first ? 1 : 0;
                }

                start = end;
            }

            var firstRow = rows.FirstOrDefault(row => !IsMissing(row) && Bytes(row).Length > 0, -1);
            return (present.Length, distinct, firstRow < 0 ? null : CanonicalText(firstRow));
        }

        public override string? TryReadText(int row, out string value)
        {
            value = IsMissing(row) ? string.Empty : Encoding.UTF8.GetString(Bytes(row));
            return null;
        }

        private (int Present, int Distinct, string? First) CountUpToTwo(List<int> rows)
        {
            var (present, distinct, first) = (0, 0, -1);
            foreach (var row in rows.Where(row => !IsMissing(row) && Bytes(row).Length > 0))
            {
                first = present++ == 0 ? row : first;
                distinct = present == 1 ? 1 : Bytes(row).SequenceEqual(Bytes(first)) ? distinct : 2;
            }

            return (present, distinct, first < 0 ? null : CanonicalText(first));
        }

        private static int HashCode(ReadOnlySpan<byte> bytes)
        {
            var hash = new HashCode();
            hash.AddBytes(bytes);
            return hash.ToHashCode();
        }

        private bool IsMissing(int row) => missing is not null && (missing[row >> 6] & (1UL << row)) != 0;

        private ReadOnlySpan<byte> Bytes(int row)
        {
            var (start, end) = (row == 0 ? 0 : ends[row - 1], ends[row]);
            if (start == end)
            {
                return [];
            }

            var chunk = Array.BinarySearch(chunkStarts, start);
            chunk = chunk >= 0 ? chunk : ~chunk - 1;
            return chunks[chunk].AsSpan(start - chunkStarts[chunk], end - start);
        }
    }

    private sealed class JsonValues(ColumnSchema schema, IReadOnlyList<IReadOnlyDictionary<string, JsonElement>> rows) : TableColumn(schema)
    {
        public override int Count => rows.Count;

        public override string? CanonicalText(int row) => ColumnValues.CanonicalText(Value(row));

        public override string? TryReadNumber(int row, out float value) => ColumnValues.TryReadNumber(Value(row), Schema.Type, out value);

        public override string? TryReadText(int row, out string value) => ColumnValues.TryReadText(Value(row), out value);

        private JsonElement Value(int row) => rows[row].TryGetValue(Schema.Name, out var value) ? value : default;
    }
}
