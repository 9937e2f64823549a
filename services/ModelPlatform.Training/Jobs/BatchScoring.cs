using System.Globalization;
using ModelPlatform.Contracts;
using ModelPlatform.ML;
using Parquet;
using Parquet.Schema;

namespace ModelPlatform.Training.Jobs;

/// <summary>
/// Scores a dataset version's Parquet file into a Parquet file of its rows with their predictions, one row group at a time:
/// each column of a group is read once, to be copied out and to feed the model, so memory holds a group (the feature service
/// writes 122,880 rows a group), never the file. A group is scored in chunks of <see cref="ChunkRows"/> on every core.
/// </summary>
public static class BatchScoring
{
    public const int ChunkRows = 1_000;

    /// <summary>
    /// The answer columns a model adds: <c>prediction</c>, and a binary model's <c>probability</c> or a multiclass model's
    /// <c>score_{class}</c>.
    /// </summary>
    public static IReadOnlyList<ColumnSchema> PredictionColumns(ModelSignature signature) => signature.Task switch
    {
        MLTask.Binary => [new("prediction", ColumnType.Categorical), new("probability", ColumnType.Numeric)],
        MLTask.Multiclass =>
            [new("prediction", ColumnType.Categorical), .. signature.Classes!.Select(label => new ColumnSchema($"score_{label}", ColumnType.Numeric))],
        _ => [new("prediction", ColumnType.Numeric)],
    };

    /// <summary>The file's columns: the dataset's, less any a prediction column replaces, then the prediction columns.</summary>
    public static IReadOnlyList<ColumnSchema> OutputColumns(IReadOnlyList<ColumnSchema> dataset, ModelSignature signature)
    {
        var predictions = PredictionColumns(signature);
        return [.. dataset.Where(column => predictions.All(prediction => prediction.Name != column.Name)), .. predictions];
    }

    /// <summary>
    /// Why the dataset's columns cannot feed the model, or null: every input the model takes must be a column, of a type that
    /// reads as the input's (numbers and booleans as numbers; categories and text as text).
    /// </summary>
    public static string? InputProblem(IReadOnlyList<ColumnSchema> dataset, ModelSignature signature)
    {
        var problems = new List<string>();
        foreach (var input in signature.Inputs)
        {
            var column = dataset.FirstOrDefault(column => column.Name == input.Name);
            if (column is null)
            {
                problems.Add($"has no column '{input.Name}' ({Name(input.Type)}), which the model takes");
            }
            else if (column.Type != input.Type && (ColumnValues.IsNumeric(column.Type) || ColumnValues.IsNumeric(input.Type)))
            {
                problems.Add($"has '{input.Name}' as {Name(column.Type)}, but the model takes it as {Name(input.Type)}");
            }
        }

        return problems.Count == 0 ? null : string.Join("; ", problems);

        static string Name(ColumnType type) => type.ToString().ToLowerInvariant();
    }

    /// <summary>
    /// Writes <paramref name="input"/>'s rows (of <paramref name="columns"/>) with their predictions to <paramref name="output"/>;
    /// returns the rows written. A value the model cannot read is a <see cref="TrainingDataException"/> naming its row and column.
    /// </summary>
    /// <param name="totalRows">The rows the dataset version holds, for progress.</param>
    public static async Task<long> ScoreAsync(
        Stream input, IReadOnlyList<ColumnSchema> columns, long totalRows, ModelPredictor model, Stream output, IProgress<TrainingProgress> progress,
        CancellationToken cancellationToken)
    {
        await using var reader = await ParquetReader.CreateAsync(input, cancellationToken: cancellationToken);
        var outputColumns = OutputColumns(columns, model.Signature);
        var fields = outputColumns.Select(Field).ToList();
        var names = columns.Select(column => column.Name).ToList();
        // Where each copied column and each model input is among the dataset's columns.
        var copied = outputColumns.Take(outputColumns.Count - PredictionColumns(model.Signature).Count).Select(column => names.IndexOf(column.Name)).ToArray();
        var inputs = model.Signature.Inputs.Select(input => names.IndexOf(input.Name)).ToArray();
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), output, cancellationToken: cancellationToken);
        long done = 0;
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var count = (int)group.RowCount;
            var table = new TableColumn[columns.Count];
            var values = new object[columns.Count];
            for (var c = 0; c < columns.Count; c++)
            {
                var field = reader.Schema.DataFields.FirstOrDefault(field => field.Name == columns[c].Name)
                    ?? throw new TrainingDataException($"The dataset file has no column '{columns[c].Name}'.");
                (table[c], values[c]) = await ReadAsync(group, field, columns[c], count, cancellationToken);
            }

            var answers = Score(model, [.. inputs.Select(c => table[c])], count, done, cancellationToken);
            using var rows = writer.CreateRowGroup();
            for (var c = 0; c < copied.Length; c++)
            {
                await WriteAsync(rows, fields[c], values[copied[c]], cancellationToken);
            }

            for (var p = 0; p < answers.Count; p++)
            {
                await WriteAsync(rows, fields[copied.Length + p], answers[p], cancellationToken);
            }

            done += count;
            progress.Report(new TrainingProgress("scoring", totalRows == 0 ? 1 : (double)done / totalRows));
        }

        return done;
    }

    /// <summary>Scores a group's rows, a chunk per core at a time, into the prediction columns' values.</summary>
    private static List<object> Score(ModelPredictor model, TableColumn[] inputs, int count, long firstRow, CancellationToken cancellationToken)
    {
        var signature = model.Signature;
        var labels = new string?[count];
        var numbers = PredictionColumns(signature).Skip(signature.Task == MLTask.Regression ? 0 : 1).Select(_ => new double?[count]).ToList();
        var chunks = (count + ChunkRows - 1) / ChunkRows;
        Parallel.For(0, chunks, new ParallelOptions { CancellationToken = cancellationToken }, chunk =>
        {
            var start = chunk * ChunkRows;
            var records = new ModelRecord[Math.Min(ChunkRows, count - start)];
            for (var r = 0; r < records.Length; r++)
            {
                records[r] = Record(inputs, signature.Inputs, start + r, firstRow);
            }

            var predictions = model.Predict(records);
            for (var r = 0; r < predictions.Length; r++)
            {
                var prediction = predictions[r];
                var row = start + r;
                switch (signature.Task)
                {
                    case MLTask.Binary:
                        labels[row] = ColumnValues.LabelText(prediction.Label);
                        numbers[0][row] = prediction.Probability;
                        break;
                    case MLTask.Multiclass:
                        labels[row] = ColumnValues.LabelText(prediction.Label);
                        for (var k = 0; k < signature.Classes!.Count; k++)
                        {
                            numbers[k][row] = prediction.Scores!.GetValueOrDefault(signature.Classes[k]);
                        }

                        break;
                    default:
                        numbers[0][row] = prediction.Value;
                        break;
                }
            }
        });
        return signature.Task == MLTask.Regression ? [.. numbers] : [labels, .. numbers];
    }

    private static ModelRecord Record(TableColumn[] columns, IReadOnlyList<ColumnSchema> inputs, int row, long firstRow)
    {
        var record = ModelRecord.Empty(inputs.Count);
        for (var c = 0; c < inputs.Count; c++)
        {
            var error = ColumnValues.IsNumeric(inputs[c].Type)
                ? columns[c].TryReadNumber(row, out record.Numbers[c])
                : columns[c].TryReadText(row, out record.Texts[c]);
            if (error is not null)
            {
                throw new TrainingDataException($"Row {firstRow + row + 1:N0}, column '{inputs[c].Name}': {error}.");
            }
        }

        return record;
    }

    /// <summary>A column of a group: as the model reads it, and its values as read, to be written out unchanged.</summary>
    private static async Task<(TableColumn Column, object Values)> ReadAsync(
        ParquetRowGroupReader group, DataField field, ColumnSchema column, int count, CancellationToken cancellationToken)
    {
        switch (column.Type)
        {
            case ColumnType.Numeric:
                var numbers = new double?[count];
                await group.ReadAsync(field, numbers.AsMemory(), null, cancellationToken);
                return (TableColumn.Of(column, numbers), numbers);
            case ColumnType.Boolean:
                var flags = new bool?[count];
                await group.ReadAsync(field, flags.AsMemory(), null, cancellationToken);
                return (TableColumn.Of(column, flags), flags);
            case ColumnType.Timestamp:
                var times = new DateTime?[count];
                await group.ReadAsync(field, times.AsMemory(), null, cancellationToken);
                return (TableColumn.Of(column, [.. times.Select(time => time?.ToString("O", CultureInfo.InvariantCulture))]), times);
            default:
                var texts = new string?[count];
                await group.ReadAsync(field, texts.AsMemory(), null, cancellationToken);
                return (TableColumn.Of(column, texts), texts);
        }
    }

    private static Task WriteAsync(ParquetRowGroupWriter rows, DataField field, object values, CancellationToken cancellationToken) => values switch
    {
        double?[] numbers => rows.WriteAsync<double>(field, numbers, null, null, cancellationToken),
        bool?[] flags => rows.WriteAsync<bool>(field, flags, null, null, cancellationToken),
        DateTime?[] times => rows.WriteAsync<DateTime>(field, times, null, null, cancellationToken),
        string?[] texts => rows.WriteAsync(field, texts, null),
        _ => throw new InvalidOperationException($"No Parquet writer for {values.GetType()}."),
    };

    /// <summary>A column's field as every dataset file has it: nullable doubles, booleans, UTC timestamps, text.</summary>
    private static DataField Field(ColumnSchema column) => column.Type switch
    {
        ColumnType.Numeric => new DataField<double?>(column.Name),
        ColumnType.Boolean => new DataField<bool?>(column.Name),
        ColumnType.Timestamp =>
            new DateTimeDataField(column.Name, DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Micros, isNullable: true),
        _ => new DataField<string>(column.Name, nullable: true),
    };
}
