using ModelPlatform.Contracts;
using ModelPlatform.ML;
using ModelPlatform.Training.Jobs;
using Parquet;
using Parquet.Schema;

namespace ModelPlatform.Training.Tests;

/// <summary>A dataset version's file scored a row group at a time into a file of its rows and their predictions.</summary>
public class BatchScoringTests
{
    private static readonly string[] Colours = ["red", "green", "blue"];

    /// <summary>The dataset's columns: the model's three inputs, and three it does not take (one named like a prediction column).</summary>
    internal static readonly IReadOnlyList<ColumnSchema> DatasetColumns =
    [
        new("id", ColumnType.Numeric), new("x", ColumnType.Numeric), new("colour", ColumnType.Categorical), new("flag", ColumnType.Boolean),
        new("note", ColumnType.Text), new("prediction", ColumnType.Numeric),
    ];

    [Fact]
    public async Task EveryRowOfEveryGroupKeepsItsValuesAndGetsTheModelsAnswer()
    {
        using var model = TrainRegression();
        var groups = new[] { 1_500, 700 };
        using var input = await DatasetFileAsync(groups);
        using var output = new MemoryStream();
        var progress = new List<TrainingProgress>();

        var rows = await BatchScoring.ScoreAsync(input, DatasetColumns, 2_200, model, output, new SynchronousProgress(progress.Add), CancellationToken.None);

        Assert.Equal(2_200, rows);
        var columns = BatchScoring.OutputColumns(DatasetColumns, model.Signature);
        // The stale 'prediction' column gives way to the model's; the others are kept in their order.
        Assert.Equal(["id", "x", "colour", "flag", "note", "prediction"], columns.Select(column => column.Name));
        output.Position = 0;
        var table = await ParquetTable.ReadAsync(output, columns, CancellationToken.None);
        var expected = model.Predict([.. Enumerable.Range(0, 2_200).Select(Record)]);
        for (var row = 0; row < 2_200; row++)
        {
            Assert.Equal(row.ToString(System.Globalization.CultureInfo.InvariantCulture), table[0].CanonicalText(row));
            Assert.Equal(X(row)?.ToString("R", System.Globalization.CultureInfo.InvariantCulture), table[1].CanonicalText(row));
            Assert.Equal(Colours[row % 3], table[2].CanonicalText(row));
            Assert.Equal(row % 2 == 0 ? "true" : "false", table[3].CanonicalText(row));
            Assert.Equal(Note(row), table[4].CanonicalText(row));
            table[5].TryReadNumber(row, out var prediction);
            Assert.Equal(expected[row].Value!.Value, prediction);
        }

        // Progress moves group by group to the end.
        Assert.Equal([1_500 / 2_200.0, 1.0], progress.Select(step => step.Fraction));
        Assert.All(progress, step => Assert.Equal("scoring", step.Phase));
    }

    [Fact]
    public void ADatasetThatCannotFeedTheModelIsToldWhichColumnsAreMissingOrOfTheWrongType()
    {
        using var model = TrainRegression();

        var problem = BatchScoring.InputProblem(
            [new("x", ColumnType.Text), new("colour", ColumnType.Text), new("id", ColumnType.Numeric)], model.Signature);

        Assert.Equal(
            "has 'x' as text, but the model takes it as numeric; has no column 'flag' (boolean), which the model takes",
            problem);
        // Categories and free text read alike: a categorical input fed from a text column is no problem.
        Assert.Null(BatchScoring.InputProblem(
            [new("x", ColumnType.Numeric), new("colour", ColumnType.Text), new("flag", ColumnType.Boolean)], model.Signature));
    }

    [Fact]
    public void ClassifiersAddTheirLabelAndTheirScores()
    {
        var binary = new ModelSignature(MLTask.Binary, [new("x", ColumnType.Numeric)], new("y", ColumnType.Categorical), ["no", "yes"]);
        var multiclass = binary with { Task = MLTask.Multiclass, Classes = ["a", "b", "c"] };

        Assert.Equal(["prediction", "probability"], BatchScoring.PredictionColumns(binary).Select(column => column.Name));
        Assert.Equal(["prediction", "score_a", "score_b", "score_c"], BatchScoring.PredictionColumns(multiclass).Select(column => column.Name));
        Assert.Equal(ColumnType.Categorical, BatchScoring.PredictionColumns(multiclass)[0].Type);
    }

    private static double? X(int row) => row % 50 == 7 ? null : row % 17 * 0.5;

    private static string? Note(int row) => row % 9 == 0 ? null : $"note {row % 4}";

    private static ModelRecord Record(int row)
    {
        var record = ModelRecord.Empty(3);
        record.Numbers[0] = X(row) is { } x ? (float)x : float.NaN;
        record.Texts[1] = Colours[row % 3];
        record.Numbers[2] = row % 2 == 0 ? 1 : 0;
        return record;
    }

    private static ModelPredictor TrainRegression()
    {
        var trained = TrainedRegression();
        using var artifact = new MemoryStream(trained.Artifact);
        return ModelPredictor.Load(artifact, trained.Signature);
    }

    /// <summary>A regression on x, colour and flag, trained on rows like the dataset's.</summary>
    internal static TrainedModel TrainedRegression()
    {
        var rows = Enumerable.Range(0, 600).ToList();
        var table = new List<TableColumn>
        {
            TableColumn.Of(new ColumnSchema("x", ColumnType.Numeric), [.. rows.Select(row => (double?)(row % 17 * 0.5))]),
            TableColumn.Of(new ColumnSchema("colour", ColumnType.Categorical), [.. rows.Select(row => (string?)Colours[row % 3])]),
            TableColumn.Of(new ColumnSchema("flag", ColumnType.Boolean), [.. rows.Select(row => (bool?)(row % 2 == 0))]),
            TableColumn.Of(new ColumnSchema("y", ColumnType.Numeric), [.. rows.Select(row => (double?)(row % 17 + row % 3 * 4 + row % 2))]),
        };
        return ModelTrainer.Train(TrainingData.Create(table, "y", MLTask.Regression), new TrainingSettings("Sdca"));
    }

    /// <summary>The dataset as the feature service writes it, in row groups of the given sizes.</summary>
    internal static async Task<MemoryStream> DatasetFileAsync(int[] groups)
    {
        var fields = new DataField[]
        {
            new DataField<double?>("id"), new DataField<double?>("x"), new DataField<string>("colour", nullable: true), new DataField<bool?>("flag"),
            new DataField<string>("note", nullable: true), new DataField<double?>("prediction"),
        };
        var file = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), file, cancellationToken: CancellationToken.None))
        {
            var start = 0;
            foreach (var size in groups)
            {
                var rows = Enumerable.Range(start, size).ToList();
                using var group = writer.CreateRowGroup();
                await group.WriteAsync<double>(fields[0], rows.Select(row => (double?)row).ToArray(), null);
                await group.WriteAsync<double>(fields[1], rows.Select(X).ToArray(), null);
                await group.WriteAsync(fields[2], rows.Select(row => Colours[row % 3]).ToList(), null);
                await group.WriteAsync<bool>(fields[3], rows.Select(row => (bool?)(row % 2 == 0)).ToArray(), null);
                await group.WriteAsync(fields[4], rows.Select(Note).ToList(), null);
                await group.WriteAsync<double>(fields[5], rows.Select(_ => (double?)-1).ToArray(), null);
                start += size;
            }
        }

        file.Position = 0;
        return file;
    }

    /// <summary>Reports on the caller's thread, in order (<see cref="Progress{T}"/> posts to the thread pool).</summary>
    private sealed class SynchronousProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
