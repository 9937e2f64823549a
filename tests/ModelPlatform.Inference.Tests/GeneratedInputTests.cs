using System.Text;
using System.Text.Json;
using CsCheck;
using ModelPlatform.Inference.Protocols;
using ModelPlatform.Tests;

namespace ModelPlatform.Inference.Tests;

/// <summary>
/// Generated hostile bodies for the two JSON protocols: whatever arrives, decoding ends in a request or in a refusal the API
/// answers with a 400 (a <see cref="JsonException"/> or a problem naming the input), never in any other exception, which
/// the service would answer with a 500. Bounded and seeded, so a run is quick and a failure can be replayed.
/// </summary>
public class GeneratedInputTests
{
    private const int Cases = 3000;

    private static readonly byte[] OipBody = Encoding.UTF8.GetBytes("""
        {"id": "r1", "inputs": [
          {"name": "age", "shape": [2], "datatype": "FP32", "data": [34, null]},
          {"name": "plan", "shape": [2, 1], "datatype": "BYTES", "data": [["pro"], ["basic"]]},
          {"name": "monthly_spend", "shape": [2], "datatype": "FP64", "data": [12.5, 80]},
          {"name": "active", "shape": [2], "datatype": "BOOL", "data": [true, false]}
        ], "outputs": [{"name": "label"}], "parameters": {"routing_key": "c-42"}}
        """);

    private static readonly byte[] PredictBody = Encoding.UTF8.GetBytes("""
        {"records": [{"age": 34, "plan": "pro", "monthly_spend": 12.5, "active": true},
                     {"age": null, "plan": "basic", "monthly_spend": "80", "active": false}]}
        """);

    [Fact]
    public void AnyOipBodyDecodesToTensorsOrIsRefusedAsBadInput()
    {
        Gen.Int.Sample(seed =>
        {
            var body = Mutations.Mutate(OipBody, seed);
            JsonDocument? document = null;
            try
            {
                if (InferenceRequestReader.Read(body, out document) is { } request)
                {
                    OpenInferenceTensors.ReadInputs(TestModels.Churn, request, maxRows: 100);
                }
            }
            catch (JsonException)
            {
                // A 400 naming where the JSON went wrong.
            }
            finally
            {
                document?.Dispose();
            }
        }, iter: Cases, print: seed => Encoding.UTF8.GetString(Mutations.Mutate(OipBody, seed)));
    }

    [Fact]
    public void AnyPredictBodyIsReadAsRecordsOrRefusedAsBadInput()
    {
        var predictor = TestModels.LoadTrained();
        Gen.Int.Sample(seed =>
        {
            var body = Mutations.Mutate(PredictBody, seed);
            JsonDocument document;
            try
            {
                document = PredictRequest.Parse(body);
            }
            catch (JsonException)
            {
                return;
            }

            using (document)
            {
                var (records, problem) = PredictRequest.ReadRecords(document.RootElement, maxRecords: 100);
                Assert.True(records is not null || problem is { Count: > 0 });
                if (records is not null)
                {
                    predictor.Read(records);
                }
            }
        }, iter: Cases, print: seed => Encoding.UTF8.GetString(Mutations.Mutate(PredictBody, seed)));
    }

    [Theory]
    [InlineData("[1]")]
    [InlineData("5")]
    [InlineData("\"records\"")]
    [InlineData("{\"records\": {}}")]
    public void ABodyThatIsNotAnObjectWithRecordsIsAProblemNotAnError(string json)
    {
        using var document = JsonDocument.Parse(json);

        var (records, problem) = PredictRequest.ReadRecords(document.RootElement, maxRecords: 100);

        Assert.Null(records);
        Assert.Contains("records", problem!.Keys);
    }
}
