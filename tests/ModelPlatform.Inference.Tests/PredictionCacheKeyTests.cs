using System.Text.Json;
using ModelPlatform.Contracts;
using ModelPlatform.Inference.Serving;
using ModelPlatform.ML;

namespace ModelPlatform.Inference.Tests;

public class PredictionCacheKeyTests
{
    private static readonly ModelVersionInfo V1 = TestModels.Version(TestModels.Churn, version: 1);

    private static ModelRecord Record(string json, ModelSignature? signature = null)
    {
        var (records, errors) = RecordReader.Read((signature ?? TestModels.Churn).Inputs, [JsonDocument.Parse(json).RootElement]);
        Assert.Empty(errors);
        return Assert.Single(records);
    }

    [Fact]
    public void TheSameValuesGiveTheSameKeyHoweverTheJsonWasWritten()
    {
        var keys = new[]
        {
            """{"age": 1, "plan": "pro", "active": true}""",
            """{ "active" : true ,  "plan":"pro",	"age":1.0 }""",
            """{"plan": "pro", "age": 1e0, "active": true, "ignored": [1, 2]}""",
            """
            {
              "age": 10E-1,
              "plan": "pro",
              "active": true
            }
            """,
        }.Select(json => PredictionCache.Key(V1, Record(json))).ToList();

        Assert.Single(keys.Distinct());
    }

    [Fact]
    public void AKeyNamesTheModelAndVersionAndHashesTheValues()
    {
        var key = PredictionCache.Key(V1, Record("""{"age": 1, "plan": "pro", "active": true}"""));

        Assert.StartsWith("modelplatform:inference:prediction:churn:1:", key);
        Assert.Matches("^[0-9a-f]{64}$", key["modelplatform:inference:prediction:churn:1:".Length..]);
    }

    [Theory]
    [InlineData("""{"age": 2, "plan": "pro", "active": true}""")]
    [InlineData("""{"age": 1.0001, "plan": "pro", "active": true}""")]
    [InlineData("""{"age": null, "plan": "pro", "active": true}""")]
    [InlineData("""{"age": 0, "plan": "pro", "active": true}""")]
    [InlineData("""{"age": 1, "plan": "Pro", "active": true}""")]
    [InlineData("""{"age": 1, "plan": "pro ", "active": true}""")]
    [InlineData("""{"age": 1, "plan": null, "active": true}""")]
    [InlineData("""{"age": 1, "plan": "pro", "active": false}""")]
    [InlineData("""{"age": 1, "plan": "pro", "active": null}""")]
    public void DifferentValuesGiveDifferentKeys(string other)
    {
        var key = PredictionCache.Key(V1, Record("""{"age": 1, "plan": "pro", "active": true}"""));

        Assert.NotEqual(key, PredictionCache.Key(V1, Record(other)));
    }

    [Fact]
    public void AnotherVersionOrModelGivesAnotherKey()
    {
        var record = Record("""{"age": 1, "plan": "pro", "active": true}""");

        string[] keys =
        [
            PredictionCache.Key(V1, record),
            PredictionCache.Key(TestModels.Version(TestModels.Churn, version: 2), record),
            PredictionCache.Key(TestModels.Version(TestModels.Churn, version: 1, model: "churn-eu"), record),
        ];

        Assert.Equal(3, keys.Distinct().Count());
    }

    [Fact]
    public void TextsAreNotRunTogether()
    {
        var signature = new ModelSignature(
            MLTask.Binary, [new("first", ColumnType.Categorical), new("last", ColumnType.Text)], new("spam", ColumnType.Boolean), ["false", "true"]);
        var version = TestModels.Version(signature);

        var ab = PredictionCache.Key(version, Record("""{"first": "ab", "last": "c"}""", signature));
        var bc = PredictionCache.Key(version, Record("""{"first": "a", "last": "bc"}""", signature));

        Assert.NotEqual(ab, bc);
    }

    [Fact]
    public void EveryMissingNumberGivesTheSameKey()
    {
        var fromNull = Record("""{"age": null, "plan": "pro", "active": null}""");
        var fromCsv = ModelRecord.Empty(3);
        Assert.Null(RecordReader.ReadCell(TestModels.Churn.Inputs[0], "NaN", fromCsv, 0));
        Assert.Null(RecordReader.ReadCell(TestModels.Churn.Inputs[1], "pro", fromCsv, 1));
        Assert.Null(RecordReader.ReadCell(TestModels.Churn.Inputs[2], "NA", fromCsv, 2));
        // Another NaN bit pattern (negative, with a payload) is still a missing value.
        var otherNaN = new ModelRecord([BitConverter.Int32BitsToSingle(unchecked((int)0xFFC00001)), 0, float.NaN], [string.Empty, "pro", string.Empty]);
        otherNaN.Numbers[2] = -float.NaN;

        var key = PredictionCache.Key(V1, fromNull);

        Assert.Equal(key, PredictionCache.Key(V1, fromCsv));
        Assert.Equal(key, PredictionCache.Key(V1, otherNaN));
    }

    [Fact]
    public void ARecordReadFromCsvHitsTheSameEntryAsFromJson()
    {
        var fromJson = Record("""{"age": 42, "plan": "basic", "active": false}""");
        var fromCsv = ModelRecord.Empty(3);
        string[] cells = ["42.0", "basic", "False"];
        for (var c = 0; c < cells.Length; c++)
        {
            Assert.Null(RecordReader.ReadCell(TestModels.Churn.Inputs[c], cells[c], fromCsv, c));
        }

        Assert.Equal(PredictionCache.Key(V1, fromJson), PredictionCache.Key(V1, fromCsv));
    }
}
