using System.Text;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>
/// Builds a text column value by value, from spans of characters (a columnar file's values), without a string a row: a
/// column of few values is held as a code a row into one string per value; once it has more than
/// <see cref="MaxCodedValues"/> values (identifiers, free text), as the UTF-8 bytes of its values one after another, in
/// chunks of a mebibyte that are never copied to grow.
/// </summary>
public sealed class TextColumnBuilder
{
    /// <summary>More different values than this are held as UTF-8: a dictionary of them would cost more than it saves.</summary>
    public const int MaxCodedValues = 1 << 16;

    private readonly ColumnSchema _schema;
    private readonly int _rows;
    private int _count;

    // Coded: a code a row (-1 where missing) into the values, found by their characters.
    private int[]? _codes;
    private List<string>? _values;
    private Dictionary<string, int>? _index;

    // UTF-8: each row's value ends where the next begins, counted over all chunks (a value is never split between two);
    // missing rows are marked in a bit set.
    private const int ChunkBytes = 1 << 20;
    private List<byte[]>? _chunks;
    private List<int>? _chunkStarts;
    private int _used;
    private int[]? _ends;
    private ulong[]? _missing;
    private int _length;

    public TextColumnBuilder(ColumnSchema schema, int rows)
    {
        (_schema, _rows) = (schema, rows);
        (_codes, _values, _index) = (new int[rows], [], new Dictionary<string, int>(StringComparer.Ordinal));
    }

    public void Add(ReadOnlySpan<char> value)
    {
        if (_codes is not null)
        {
            var lookup = _index!.GetAlternateLookup<ReadOnlySpan<char>>();
            if (lookup.TryGetValue(value, out var code))
            {
                _codes[_count++] = code;
                return;
            }

            if (_values!.Count < MaxCodedValues)
            {
                var text = value.ToString();
                _index.Add(text, _values.Count);
                _codes[_count++] = _values.Count;
                _values.Add(text);
                return;
            }

            SwitchToUtf8();
        }

        Append(value);
    }

    public void AddMissing()
    {
        if (_codes is not null)
        {
            _codes[_count++] = -1;
            return;
        }

        _missing ??= new ulong[(_rows + 63) / 64];
        _missing[_count >> 6] |= 1UL << _count;
        _ends![_count++] = _length;
    }

    public TableColumn Build()
    {
        if (_count != _rows)
        {
            throw new InvalidOperationException($"Column '{_schema.Name}' was given {_count} of its {_rows} rows.");
        }

        return _codes is not null
            ? TableColumn.Of(_schema, _codes, [.. _values!])
            : TableColumn.OfUtf8(_schema, [.. _chunks!], [.. _chunkStarts!], _ends!, _missing);
    }

    /// <summary>The rows so far, from their codes to their bytes.</summary>
    private void SwitchToUtf8()
    {
        var (codes, values, count) = (_codes!, _values!, _count);
        (_codes, _values, _index, _count) = (null, null, null, 0);
        (_chunks, _chunkStarts, _ends) = ([], [], new int[_rows]);
        for (var row = 0; row < count; row++)
        {
            if (codes[row] < 0)
            {
                AddMissing();
            }
            else
            {
                Append(values[codes[row]]);
            }
        }
    }

    private void Append(ReadOnlySpan<char> value)
    {
        var size = Encoding.UTF8.GetByteCount(value);
        if ((long)_length + size > int.MaxValue)
        {
            throw new InvalidDataException($"Column '{_schema.Name}' holds more than {int.MaxValue:N0} bytes of text.");
        }

        if (_chunks!.Count == 0 || _used + size > _chunks[^1].Length)
        {
            _chunks.Add(new byte[Math.Max(ChunkBytes, size)]);
            _chunkStarts!.Add(_length);
            _used = 0;
        }

        _used += Encoding.UTF8.GetBytes(value, _chunks[^1].AsSpan(_used));
        _length += size;
        _ends![_count++] = _length;
    }
}
