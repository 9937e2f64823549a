using Microsoft.ML;
using Microsoft.ML.Data;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>
/// A read-only, in-memory <see cref="IDataView"/> over columns whose schema is only known at run time. Each column is a
/// function from a row's number to its value (<see cref="float"/>, <see cref="bool"/> or <see cref="ReadOnlyMemory{T}"/>
/// of char), so the view can read the table it was made from rather than hold a copy of it.
/// </summary>
public sealed class TabularDataView : IDataView
{
    private readonly IReadOnlyList<Delegate> _columns;
    private readonly int _rowCount;

    /// <param name="columns">Each column's values, as a <c>Func&lt;int, T&gt;</c> of the type its schema column has.</param>
    public TabularDataView(DataViewSchema schema, int rowCount, IReadOnlyList<Delegate> columns)
    {
        if (schema.Count != columns.Count)
        {
            throw new ArgumentException($"The schema has {schema.Count} columns but {columns.Count} were given.", nameof(columns));
        }

        Schema = schema;
        _rowCount = rowCount;
        _columns = columns;
    }

    /// <summary>Records read for <paramref name="inputs"/> (<see cref="RecordReader"/>), as a view of those columns.</summary>
    public static TabularDataView Of(IReadOnlyList<ColumnSchema> inputs, IReadOnlyList<ModelRecord> records) => new(
        ModelSchema.ForInputs(inputs),
        records.Count,
        [.. inputs.Select((input, c) => ColumnValues.IsNumeric(input.Type)
            ? (Delegate)new Func<int, float>(row => records[row].Numbers[c])
            : new Func<int, ReadOnlyMemory<char>>(row => records[row].Texts[c].AsMemory()))]);

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    public long? GetRowCount() => _rowCount;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(TabularDataView view, IEnumerable<DataViewSchema.Column> columnsNeeded) : DataViewRowCursor
    {
        private readonly HashSet<int> _active = columnsNeeded.Select(column => column.Index).ToHashSet();
        private long _position = -1;

        public override DataViewSchema Schema => view.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override bool MoveNext()
        {
            if (_position + 1 < view._rowCount)
            {
                _position++;
                return true;
            }

            _position = view._rowCount;
            return false;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() =>
            (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (view._columns[column.Index] is not Func<int, TValue> read)
            {
                throw new InvalidOperationException($"Column '{column.Name}' does not hold {typeof(TValue).Name} values.");
            }

            return (ref TValue value) => value = read((int)_position);
        }
    }
}
