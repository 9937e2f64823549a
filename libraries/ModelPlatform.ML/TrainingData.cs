using System.Text.Json;
using Microsoft.ML;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>
/// Rows of a dataset turned into an ML.NET data view for one task: inputs converted by type, the label
/// encoded for the task (boolean for binary, text for multiclass, float for regression) and rows
/// without a label left out.
/// </summary>
public sealed class TrainingData
{
    /// <summary>Categorical columns with more distinct values than this are hashed rather than one-hot encoded.</summary>
    public const int MaxOneHotValues = 100;

    private TrainingData(IDataView view, ModelSignature signature, int skippedRows, IReadOnlyList<DroppedColumn> dropped, IReadOnlySet<string> hashed)
    {
        View = view;
        Signature = signature;
        RowsWithoutLabel = skippedRows;
        DroppedColumns = dropped;
        HashedColumns = hashed;
    }

    /// <summary>Columns left out of the model because they cannot help it, each with the reason.</summary>
    public IReadOnlyList<DroppedColumn> DroppedColumns { get; }

    /// <summary>Categorical columns with so many values that they are hashed into a fixed number of slots.</summary>
    public IReadOnlySet<string> HashedColumns { get; }

    public IDataView View { get; }

    /// <summary>The model's signature; for classifiers, <see cref="ModelSignature.Classes"/> is filled.</summary>
    public ModelSignature Signature { get; }

    public int RowsWithoutLabel { get; }

    public int Rows => (int)View.GetRowCount()!.Value;

    /// <summary>
    /// Builds the data view from rows of JSON values (tests, small inputs); see the column-wise overload.
    /// </summary>
    /// <param name="positiveClass">For binary tasks, the label value that counts as positive; see <see cref="PositiveClass"/>.</param>
    public static TrainingData Create(
        IReadOnlyList<ColumnSchema> columns,
        string label,
        MLTask task,
        IReadOnlyList<IReadOnlyDictionary<string, JsonElement>> rows,
        string? positiveClass = null) =>
        Create([.. columns.Select(column => TableColumn.Of(column, rows))], label, task, positiveClass);

    /// <summary>
    /// Builds the data view. Throws <see cref="TrainingDataException"/> when the table cannot train a model of this task
    /// (wrong label type, too few classes, a value that does not fit its column).
    /// </summary>
    /// <param name="positiveClass">For binary tasks, the label value that counts as positive; see <see cref="PositiveClass"/>.</param>
    /// <param name="excluded">Columns the caller knows are no inputs, and why; they are reported with the dropped columns.</param>
    public static TrainingData Create(
        IReadOnlyList<TableColumn> table, string label, MLTask task, string? positiveClass = null, IReadOnlyList<DroppedColumn>? excluded = null)
    {
        var labelColumn = table.FirstOrDefault(column => column.Schema.Name == label)
            ?? throw new TrainingDataException(
                $"The label column '{label}' is not in the dataset. Columns: {string.Join(", ", table.Select(c => c.Schema.Name))}.");
        if (task == MLTask.Regression && labelColumn.Schema.Type != ColumnType.Numeric)
        {
            throw new TrainingDataException(
                $"Regression needs a numeric label, but '{label}' is {labelColumn.Schema.Type.ToString().ToLowerInvariant()}.");
        }

        // Each label's text is worked out once: it decides which rows count, the classes and the encoded label.
        var rowCount = labelColumn.Count;
        var labelTexts = new string?[rowCount];
        var labelled = new List<int>(rowCount);
        for (var row = 0; row < rowCount; row++)
        {
            if ((labelTexts[row] = labelColumn.CanonicalText(row)) is not null)
            {
                labelled.Add(row);
            }
        }

        if (labelled.Count == 0)
        {
            throw new TrainingDataException($"No row has a value in the label column '{label}'.");
        }

        var excludedByName = (excluded ?? []).Where(column => column.Name != label).ToDictionary(column => column.Name);
        var candidates = table.Where(column => column != labelColumn && !excludedByName.ContainsKey(column.Schema.Name)).ToList();
        var profiles = candidates.ToDictionary(column => column.Schema.Name, column => ColumnProfile.Of(column, labelled));
        var dropped = table.Select(column => excludedByName.GetValueOrDefault(column.Schema.Name)).OfType<DroppedColumn>()
            .Concat(candidates
                .Select(column => (column.Schema.Name, Reason: profiles[column.Schema.Name].ReasonToDrop))
                .Where(column => column.Reason is not null)
                .Select(column => new DroppedColumn(column.Name, column.Reason!)))
            .ToList();
        var inputs = candidates.Where(column => profiles[column.Schema.Name].ReasonToDrop is null).ToList();
        if (inputs.Count == 0)
        {
            throw new TrainingDataException(candidates.Count == 0
                ? "The dataset has no columns besides the label."
                : $"No column can help predict '{label}': {string.Join("; ", dropped.Select(d => $"{d.Name} ({d.Reason})"))}.");
        }

        var hashed = inputs
            .Where(column => column.Schema.Type == ColumnType.Categorical && profiles[column.Schema.Name].Distinct > MaxOneHotValues)
            .Select(column => column.Schema.Name)
            .ToHashSet();
        var classes = task == MLTask.Regression ? null : Classes(labelled.Select(row => labelTexts[row]!), task, positiveClass);

        // The view reads the inputs from the table itself: a copy of them would double the memory a job takes. The rows of
        // the view are the labelled rows of the table.
        var rowOf = labelled.Count == rowCount ? null : labelled.ToArray();
        var data = inputs.Select(input => ReadInput(input, labelled, rowOf)).ToList();
        data.Add(task switch
        {
            MLTask.Binary => Values(labelled.Select(row => labelTexts[row] == classes![1]).ToArray()),
            MLTask.Multiclass => Values(labelled.Select(row => labelTexts[row]!.AsMemory()).ToArray()),
            _ => Values(labelled.Select(row => ReadLabelNumber(labelColumn, row)).ToArray()),
        });

        var inputSchema = inputs.Select(input => input.Schema).ToList();
        var signature = new ModelSignature(task, inputSchema, labelColumn.Schema, classes);
        return new TrainingData(
            new TabularDataView(ModelSchema.ForTraining(inputSchema, task), labelled.Count, data), signature, rowCount - labelled.Count, dropped, hashed);
    }

    /// <summary>
    /// The two classes of a binary task as [negative, positive]. Unless told, the positive class is the one
    /// that reads as "yes" (true, 1, yes, y, positive), else the later in ordinal order ("spam" over "ham").
    /// </summary>
    public static IReadOnlyList<string> PositiveClass(IReadOnlyCollection<string> distinct, string? positiveClass)
    {
        if (distinct.Count != 2)
        {
            throw new TrainingDataException(
                $"Binary classification needs exactly 2 label values, found {distinct.Count}: {string.Join(", ", distinct.Take(10))}.");
        }

        string[] yes = ["true", "1", "yes", "y", "positive"];
        var positive = positiveClass
            ?? distinct.FirstOrDefault(value => yes.Contains(value, StringComparer.OrdinalIgnoreCase))
            ?? distinct.Max(StringComparer.Ordinal)!;
        if (!distinct.Contains(positive))
        {
            throw new TrainingDataException($"positiveClass '{positive}' is not a label value; the values are {string.Join(", ", distinct)}.");
        }

        return [distinct.Single(value => value != positive), positive];
    }

    private static List<string>? Classes(IEnumerable<string> labels, MLTask task, string? positiveClass)
    {
        var distinct = labels.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (task == MLTask.Binary)
        {
            return [.. PositiveClass(distinct, positiveClass)];
        }

        if (distinct.Count < 2)
        {
            throw new TrainingDataException($"Multiclass classification needs at least 2 label values, found {distinct.Count}.");
        }

        return distinct;
    }

    /// <summary>
    /// An input column as the view reads it, row by row from the table (<paramref name="rowOf"/> maps the view's rows to the
    /// table's when some are left out). Every value is checked first, so one that does not fit fails before training.
    /// </summary>
    private static Delegate ReadInput(TableColumn column, List<int> rows, int[]? rowOf)
    {
        var numeric = ColumnValues.IsNumeric(column.Schema.Type);
        foreach (var row in rows)
        {
            ThrowIfError(numeric ? column.TryReadNumber(row, out _) : column.TryReadText(row, out _), column.Schema.Name, row);
        }

        if (numeric)
        {
            return (Func<int, float>)(row =>
            {
                column.TryReadNumber(rowOf?[row] ?? row, out var number);
                return number;
            });
        }

        return (Func<int, ReadOnlyMemory<char>>)(row =>
        {
            column.TryReadText(rowOf?[row] ?? row, out var text);
            return text.AsMemory();
        });
    }

    private static Func<int, T> Values<T>(T[] values) => row => values[row];

    private static float ReadLabelNumber(TableColumn label, int row)
    {
        ThrowIfError(label.TryReadNumber(row, out var number), label.Schema.Name, row);
        return number;
    }

    private static void ThrowIfError(string? error, string column, int rowIndex)
    {
        if (error is not null)
        {
            throw new TrainingDataException($"Row {rowIndex}, column '{column}': {error}.");
        }
    }
}

/// <summary>A column the model does not use, and why.</summary>
public sealed record DroppedColumn(string Name, string Reason);

/// <summary>What the values of one column look like, to decide whether it can help a model.</summary>
/// <param name="Distinct">For a column neither categorical nor possibly an identifier, 1 or 2 (more than one value).</param>
internal sealed record ColumnProfile(int Present, int Distinct, string? ReasonToDrop)
{
    private const int MinRowsToCallUnique = 20;

    /// <remarks>
    /// Values are told apart only as far as the column's decision needs: all of them for a category (how many it has decides
    /// its encoding) or a possible identifier, two for any other column (is it constant?), which then costs no memory a row.
    /// </remarks>
    public static ColumnProfile Of(TableColumn column, List<int> rows)
    {
        var all = column.Schema.Type == ColumnType.Categorical || LooksLikeIdentifier(column.Schema);
        var (present, distinct, first) = column.CountValues(rows, all ? int.MaxValue : 2);
        string? reason = null;
        if (column.Schema.Type == ColumnType.Timestamp)
        {
            // A moment is no quantity: a model fitted on when its rows happened would not carry over to new ones.
            reason = "a timestamp, which names a moment rather than describing the row";
        }
        else if (present == 0)
        {
            reason = "every value is missing";
        }
        else if (distinct == 1)
        {
            reason = $"constant: every value is {first}";
        }
        else if (distinct == present && present >= MinRowsToCallUnique && LooksLikeIdentifier(column.Schema))
        {
            reason = "identifier: every value is different";
        }

        return new ColumnProfile(present, distinct, reason);
    }

    // Unique free text (reviews, messages) is a feature; unique labels or id-named numbers are keys.
    private static bool LooksLikeIdentifier(ColumnSchema column) => column.Type switch
    {
        ColumnType.Categorical => true,
        ColumnType.Numeric => column.Name.Equals("id", StringComparison.OrdinalIgnoreCase)
            || column.Name.EndsWith("_id", StringComparison.OrdinalIgnoreCase)
            || column.Name.EndsWith("Id", StringComparison.Ordinal),
        _ => false,
    };
}

/// <summary>The data cannot train the requested model; the message says why, for the job's error.</summary>
public sealed class TrainingDataException(string message) : Exception(message);
