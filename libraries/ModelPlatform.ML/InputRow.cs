using Microsoft.ML;
using Microsoft.ML.Data;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>
/// One mutable input row for a model's row-to-row mapper: <see cref="Set"/> a record (a new row), then read the mapper's
/// output getters. This is how ML.NET's own PredictionEngine works, without
/// needing a compile-time class for a schema that is only known at run time. Not thread safe.
/// </summary>
internal sealed class InputRow : DataViewRow
{
    private readonly float[] _numbers;
    private readonly ReadOnlyMemory<char>[] _texts;
    private readonly bool[] _isNumeric;
    private long _position = -1;

    public InputRow(IReadOnlyList<ColumnSchema> inputs)
    {
        Schema = ModelSchema.ForInputs(inputs);
        _numbers = new float[inputs.Count];
        _texts = new ReadOnlyMemory<char>[inputs.Count];
        _isNumeric = [.. inputs.Select(input => ColumnValues.IsNumeric(input.Type))];
    }

    public override DataViewSchema Schema { get; }

    public override long Position => _position;

    public override long Batch => 0;

    /// <summary>Sets every value from a record read for these inputs, and marks them as a new row.</summary>
    public void Set(ModelRecord record)
    {
        for (var c = 0; c < _isNumeric.Length; c++)
        {
            if (_isNumeric[c])
            {
                _numbers[c] = record.Numbers[c];
            }
            else
            {
                _texts[c] = record.Texts[c].AsMemory();
            }
        }

        Advance();
    }

    /// <summary>Marks the values as a new row, so transforms that cache per position recompute.</summary>
    private void Advance() => _position++;

    public override ValueGetter<DataViewRowId> GetIdGetter() =>
        (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

    public override bool IsColumnActive(DataViewSchema.Column column) => true;

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        var index = column.Index;
        Delegate getter = column.Type is NumberDataViewType
            ? (ValueGetter<float>)((ref float value) => value = _numbers[index])
            : (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> value) => value = _texts[index]);
        return getter as ValueGetter<TValue>
            ?? throw new InvalidOperationException($"Column '{column.Name}' is not of type {typeof(TValue).Name}.");
    }
}
