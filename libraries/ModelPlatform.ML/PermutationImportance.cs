using Microsoft.ML;
using Microsoft.ML.Data;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>
/// How much a fitted model leans on each input column, in the user's columns (never ML.NET's one-hot or hashed slots):
/// each column's values are shuffled among the hold-out's rows, which breaks its link to the label and keeps its
/// distribution, and the model's metric is measured again. The drop is the column's importance (scikit-learn's
/// <c>permutation_importance</c>, and Breiman's for random forests). It works for any model, ensembles included.
/// </summary>
public static class PermutationImportance
{
    /// <summary>
    /// Enough rows to rank the columns, the spread telling when they are not; more would lengthen a large job for little.
    /// At 5,000 it adds about a fifth to a LightGBM job on 200,000 rows (docs/performance.md).
    /// </summary>
    public const int MaxRows = 5_000;

    /// <summary>Shuffles per column: their spread says how much the ranking can be trusted.</summary>
    public const int Permutations = 3;

    /// <param name="score">Scores rows with the model (a single pipeline or an ensemble's average).</param>
    /// <returns>Null when the metric cannot be measured on these rows (say, AUC of a hold-out with one class).</returns>
    public static FeatureImportance? Measure(
        MLContext ml, ModelSignature signature, string metric, Func<IDataView, IDataView> score, IDataView holdOut, int seed,
        CancellationToken cancellationToken = default)
    {
        // Read once through the hold-out's chain (the label's mapping, the split's filter), then from memory: a few hundred KiB.
        var rows = ml.Data.Cache(ml.Data.TakeRows(holdOut, MaxRows));
        var count = (int)rows.CountRows();
        var higherIsBetter = ModelMetrics.HigherIsBetter(signature.Task, metric)
            ?? throw new ArgumentException($"'{metric}' is not a {signature.Task} metric.", nameof(metric));
        double? Measured(IDataView view) =>
            ModelMetrics.Evaluate(ml, signature, score(view)).TryGetValue(metric, out var value) ? value : null;
        if (count == 0 || Measured(rows) is not { } baseline)
        {
            return null;
        }

        // The shuffles are drawn first, in order, so the columns can be measured at once (a core each) and still come out the same.
        var random = new Random(seed);
        var orders = signature.Inputs.Select(_ => Enumerable.Range(0, Permutations).Select(_ => Shuffled(count, random)).ToList()).ToList();
        var columns = new ColumnImportance?[signature.Inputs.Count];
        Parallel.For(0, columns.Length, new ParallelOptions { CancellationToken = cancellationToken }, column =>
        {
            var drops = new List<double>();
            var permute = PermutedColumnView.Permuter(rows, signature.Inputs[column].Name);
            foreach (var order in orders[column])
            {
                if (Measured(permute(order)) is not { } permuted)
                {
                    return;
                }

                drops.Add(higherIsBetter ? baseline - permuted : permuted - baseline);
            }

            var mean = drops.Average();
            columns[column] = new ColumnImportance(
                signature.Inputs[column].Name, mean, Math.Sqrt(drops.Sum(drop => (drop - mean) * (drop - mean)) / drops.Count));
        });

        return columns.Any(column => column is null)
            ? null
            : new FeatureImportance(metric, count, Permutations, [.. columns.OfType<ColumnImportance>().OrderByDescending(column => column.Mean)]);
    }

    private static int[] Shuffled(int count, Random random)
    {
        var order = Enumerable.Range(0, count).ToArray();
        random.Shuffle(order);
        return order;
    }
}

/// <summary>
/// Rows of another view with one column's values reordered: row i reads that column's value of row <c>order[i]</c>, and
/// every other column as it is. The reordered column is read once into memory (<see cref="Permuter"/>), for every order it
/// is then put in; the rest stream through.
/// </summary>
internal sealed class PermutedColumnView : IDataView
{
    private readonly IDataView _source;
    private readonly int _column;
    private readonly Delegate _read;

    private PermutedColumnView(IDataView source, int column, Delegate read) => (_source, _column, _read) = (source, column, read);

    public static IDataView Create(IDataView source, string column, int[] order) => Permuter(source, column)(order);

    /// <summary>Reads <paramref name="column"/> once; each call of the result is a view with the column in that order.</summary>
    public static Func<int[], IDataView> Permuter(IDataView source, string column)
    {
        var index = source.Schema[column].Index;
        return source.Schema[index].Type.RawType == typeof(float)
            ? Permuter<float>(source, index, value => value)
            : Permuter<ReadOnlyMemory<char>>(source, index, value => value.ToString().AsMemory());
    }

    private static Func<int[], IDataView> Permuter<T>(IDataView source, int column, Func<T, T> copy)
    {
        var values = Values(source, column, copy);
        return order => new PermutedColumnView(source, column, new Func<int, T>(row => values[order[row]]));
    }

    public DataViewSchema Schema => _source.Schema;

    public bool CanShuffle => false;

    public long? GetRowCount() => _source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, _source.GetRowCursor(columnsNeeded.Where(column => column.Index != _column)), columnsNeeded);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    // The column's values; a value the source reuses between rows (text) is copied as it is read.
    private static List<T> Values<T>(IDataView source, int column, Func<T, T> copy)
    {
        var values = new List<T>((int)(source.GetRowCount() ?? 0));
        using (var cursor = source.GetRowCursor([source.Schema[column]]))
        {
            var getter = cursor.GetGetter<T>(source.Schema[column]);
            T value = default!;
            while (cursor.MoveNext())
            {
                getter(ref value);
                values.Add(copy(value));
            }
        }

        return values;
    }

    private sealed class Cursor(PermutedColumnView view, DataViewRowCursor source, IEnumerable<DataViewSchema.Column> columnsNeeded)
        : DataViewRowCursor
    {
        private readonly HashSet<int> _active = [.. columnsNeeded.Select(column => column.Index)];
        private long _row = -1;

        public override DataViewSchema Schema => view.Schema;

        public override long Position => _row;

        public override long Batch => 0;

        public override bool MoveNext()
        {
            if (!source.MoveNext())
            {
                return false;
            }

            _row++;
            return true;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => source.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index != view._column)
            {
                return source.GetGetter<TValue>(column);
            }

            var read = (Func<int, TValue>)view._read;
            return (ref TValue value) => value = read((int)_row);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                source.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
