using System.Text.Json;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Tests;

public class ModelPredictorTests
{
    private static readonly Lazy<ModelPredictor> Churn = new(() =>
    {
        var model = ModelTrainer.Train(
            TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, SampleData.Churn(600)), new TrainingSettings("LbfgsLogisticRegression"));
        return ModelPredictor.Load(new MemoryStream(model.Artifact), model.Signature);
    });

    [Fact]
    public void ListsEveryProblemKeyedByRecordAndColumn()
    {
        var outcome = Churn.Value.Predict(
        [
            SampleData.Record(("customer_id", "c1"), ("tenure", "long"), ("plan", "pro"), ("autopay", "yes"), ("last_ticket", "ok")),
            SampleData.Record(("customer_id", "c2"), ("plan", "pro"), ("autopay", true), ("last_ticket", new[] { "a" })),
            JsonSerializer.SerializeToElement(42),
        ]);

        Assert.False(outcome.IsValid);
        Assert.Empty(outcome.Predictions);
        Assert.Equal(
            ["records[0].autopay", "records[0].tenure", "records[1].last_ticket", "records[1].tenure", "records[2]"],
            outcome.Errors.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("expected a number", outcome.Errors["records[0].tenure"][0]);
        Assert.Contains("expected true, false or null", outcome.Errors["records[0].autopay"][0]);
        Assert.Contains("is missing", outcome.Errors["records[1].tenure"][0]);
        Assert.Contains("must be an object", outcome.Errors["records[2]"][0]);
    }

    [Fact]
    public void IgnoresColumnsTheModelDoesNotUse()
    {
        var outcome = Churn.Value.Predict(
        [
            SampleData.Record(("customer_id", "c1"), ("tenure", 4), ("plan", "pro"), ("autopay", true), ("last_ticket", "ok"), ("churned", "no"), ("extra", 1)),
        ]);

        Assert.True(outcome.IsValid);
    }

    [Fact]
    public void GivesTheSameAnswersFromManyThreadsAsFromOne()
    {
        var records = SampleData.Churn(200, seed: 99).Select(row => SampleData.AsRecord(row, "churned")).ToList();
        var sequential = records.Select(record => Churn.Value.Predict([record]).Predictions.Single()).ToList();

        var parallel = new Prediction[records.Count];
        Parallel.For(0, records.Count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            parallel[i] = Churn.Value.Predict([records[i]]).Predictions.Single());

        Assert.Equal(sequential, parallel);
    }

    [Fact]
    public void RefusesAnArtifactThatDoesNotFitItsSignature()
    {
        var model = ModelTrainer.Train(
            TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Multiclass, SampleData.Iris()), new TrainingSettings("LbfgsMaximumEntropy"));
        var wrongSignature = model.Signature with { Inputs = [new ColumnSchema("something_else", ColumnType.Numeric)] };

        Assert.Throws<InvalidDataException>(() => ModelPredictor.Load(new MemoryStream(model.Artifact), wrongSignature));
    }

    public static TheoryData<string, byte[]> NotModels() => new()
    {
        { "random bytes", [.. Enumerable.Range(0, 512).Select(i => (byte)(i * 7))] },
        { "a zip of something else", Zip(("notes.txt", "not a model"u8.ToArray())) },
        { "an ensemble missing its member", Zip(("ensemble.json", "{\"members\":[{\"artifact\":\"member-1.zip\",\"weight\":1}]}"u8.ToArray())) },
        {
            "an ensemble whose member is not a model",
            Zip(("ensemble.json", "{\"members\":[{\"artifact\":\"m.zip\",\"weight\":1}]}"u8.ToArray()), ("m.zip", [1, 2, 3]))
        },
    };

    [Theory]
    [MemberData(nameof(NotModels))]
    public void AnArtifactThatIsNotAModelIsInvalidDataWhateverMLNetThrows(string what, byte[] artifact)
    {
        var error = Record.Exception(() => ModelPredictor.Load(new MemoryStream(artifact), Churn.Value.Signature));

        Assert.True(error is InvalidDataException, $"{what}: {error}");
    }

    [Fact]
    public void RefusesAnArtifactThatDeclaresMoreUncompressedBytesThanAllowed()
    {
        var bomb = Zip(("model.bin", new byte[4 << 20]));

        var error = Assert.Throws<InvalidDataException>(() => ModelArtifact.Load(new Microsoft.ML.MLContext(), new MemoryStream(bomb), 1 << 20));

        Assert.Contains("declares 4,194,304 bytes uncompressed", error.Message);
    }

    [Fact]
    public void AnEntryThatLiesAboutItsSizeYieldsNoMoreThanItDeclaresAndIsRefused()
    {
        // A zip whose directory says its entry holds 10 bytes, when it inflates to a megabyte.
        var bomb = Zip(("model.bin", new byte[1 << 20]));
        PatchUncompressedSizes(bomb, 10);

        using var zip = new System.IO.Compression.ZipArchive(new MemoryStream(bomb));
        using var entry = zip.Entries.Single().Open();
        var inflated = new MemoryStream();
        var copy = Record.Exception(() => entry.CopyTo(inflated));
        var load = Record.Exception(() => ModelPredictor.Load(new MemoryStream(bomb), Churn.Value.Signature));

        // The runtime stops (or fails) at the declared size, so the size the budget counts is never less than what loads.
        Assert.True(inflated.Length <= 10, $"inflated {inflated.Length} bytes ({copy?.Message})");
        Assert.True(load is InvalidDataException, $"expected the artifact to be refused as invalid data, got {load}");
    }

    /// <summary>Rewrites the uncompressed size of every entry, in its local header and in the central directory.</summary>
    private static void PatchUncompressedSizes(byte[] zip, uint size)
    {
        for (var i = 0; i + 4 <= zip.Length; i++)
        {
            var signature = BitConverter.ToUInt32(zip, i);
            var offset = signature switch { 0x04034b50 => 22, 0x02014b50 => 24, _ => -1 };
            if (offset >= 0)
            {
                BitConverter.TryWriteBytes(zip.AsSpan(i + offset, 4), size);
            }
        }
    }

    private static byte[] Zip(params (string Name, byte[] Content)[] entries)
    {
        using var stream = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(stream, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                using var entry = zip.CreateEntry(name).Open();
                entry.Write(content);
            }
        }

        return stream.ToArray();
    }
}
