using System.Text;
using System.Text.Json;
using ModelPlatform.Inference.Protocols;

namespace ModelPlatform.Inference.Tests;

/// <summary>
/// The OIP request reader reads a body as JsonSerializer did before it (the same request, or the same refusal with the
/// same path and line), while keeping every tensor's data in the body's one document.
/// </summary>
public class InferenceRequestReaderTests
{
    private const string Tensors = """
        [
          {"name": "age", "shape": [2], "datatype": "FP32", "data": [34, null], "parameters": {"content_type": "np"}},
          {"name": "plan", "shape": [2, 1], "datatype": "BYTES", "data": [["pro"], ["basic"]]},
          {"name": "active", "shape": [2], "datatype": "BOOL", "data": [true, false]}
        ]
        """;

    private static InferenceRequest? Read(string json) => InferenceRequestReader.Read(Encoding.UTF8.GetBytes(json), out _);

    private static InferenceRequest? Deserialize(string json) => JsonSerializer.Deserialize<InferenceRequest>(json, OpenInferenceTensors.Json);

    /// <summary>Requests compared by what they hold: written back to JSON (a JsonElement has no value equality).</summary>
    private static string Written(InferenceRequest? request) => JsonSerializer.Serialize(request, OpenInferenceTensors.Json);

    [Theory]
    [InlineData($$$"""{"id": "r1", "inputs": {{{Tensors}}}, "outputs": [{"name": "label"}], "parameters": {"routing_key": "c-42"}}""")]
    [InlineData("""{"inputs": [{"name": "age", "shape": [1], "datatype": "FP32", "data": 5}], "unknown": {"ignored": [1, 2]}}""")]
    [InlineData("""{"id": null, "parameters": null, "inputs": null, "outputs": null}""")]
    [InlineData("""{"inputs": [{"name": "age", "data": null, "shape": null, "datatype": null, "parameters": null}]}""")]
    [InlineData("""{}""")]
    public void ReadsAWellFormedRequestItselfAsTheSerializerWould(string json)
    {
        using var document = JsonDocument.Parse(json);

        var request = InferenceRequestReader.TryRead(document.RootElement);

        Assert.NotNull(request);
        Assert.Equal(Written(Deserialize(json)), Written(request));
    }

    [Theory]
    // Bound by the serializer's rules: a property name in another case, a property twice, a number in a string, null in a list.
    [InlineData("""{"Inputs": [{"Name": "age", "SHAPE": [1], "datatype": "FP32", "data": [1]}]}""")]
    [InlineData("""{"inputs": [{"name": "age", "shape": [1], "data": [1]}], "inputs": [{"name": "plan", "shape": [1], "data": ["pro"]}]}""")]
    [InlineData("""{"inputs": [{"name": "age", "shape": ["2"], "datatype": "FP32", "data": [1, 2]}]}""")]
    [InlineData("""{"inputs": [null], "outputs": [null]}""")]
    public void LeavesUnusualRequestsToTheSerializer(string json)
    {
        using var document = JsonDocument.Parse(json);

        var request = Read(json);

        Assert.Null(InferenceRequestReader.TryRead(document.RootElement));
        Assert.Equal(Written(Deserialize(json)), Written(request));
    }

    [Theory]
    [InlineData("""{"inputs": [{"name": "age", "shape": "one", "data": [1]}]}""")]
    [InlineData("""{"inputs": [{"name": 3, "shape": [1], "data": [1]}]}""")]
    [InlineData("""{"inputs": [{"name": "age", "shape": [1.5], "data": [1]}]}""")]
    [InlineData("""{"id": 7, "inputs": []}""")]
    [InlineData("""{"inputs": {"name": "age"}}""")]
    [InlineData("""{"parameters": [1], "inputs": []}""")]
    [InlineData("""[1, 2]""")]
    [InlineData("{\n  \"inputs\": [\n    {\"name\": \"age\", \"shape\": [1], \"data\": [NaN]}\n  ]\n}")]
    [InlineData("""{"inputs": [{"name": "age", "shape": [1], "data": [1]}""")]
    [InlineData("")]
    public void RefusesWhatTheSerializerRefusedWithTheSamePathAndLine(string json)
    {
        var expected = Assert.ThrowsAny<JsonException>(() => Deserialize(json));

        var refused = Assert.ThrowsAny<JsonException>(() => Read(json));

        Assert.Equal((expected.Path, expected.LineNumber, expected.BytePositionInLine), (refused.Path, refused.LineNumber, refused.BytePositionInLine));
    }

    [Fact]
    public void ANullBodyIsNoRequest()
    {
        Assert.Null(Read("null"));
    }

    [Fact]
    public void KeepsTheTensorsInTheBodysDocument()
    {
        var body = Encoding.UTF8.GetBytes($$"""{"inputs": {{Tensors}}}""");

        var request = InferenceRequestReader.Read(body, out var document);

        Assert.NotNull(document);
        // Each tensor's data is read where it lies in the body, not from a copy.
        var age = request!.Inputs![0].Data;
        Assert.Equal(JsonValueKind.Array, age.ValueKind);
        Assert.Equal("[34, null]", age.GetRawText());
        document!.Dispose();
        Assert.Throws<ObjectDisposedException>(() => age.GetArrayLength());
    }

    [Theory]
    [InlineData("""{"records": [{"plan": "\ud800"}]}""")]
    [InlineData("""{"records": [{"plan": "a\udc00b"}]}""")]
    [InlineData("""{"records": [{"plan": "\ud83d\u0041"}]}""")]
    [InlineData("""{"records": [{"plan": "\\\ud800"}]}""")]
    [InlineData("""{"inputs": [{"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["\uD800"]}]}""")]
    public void RefusesAnEscapedHalfCharacterBeforeAnythingReadsIt(string json)
    {
        // Valid JSON, but reading the string would throw (an InvalidOperationException: a 500), so the body is refused whole.
        var refused = Assert.Throws<JsonException>(() => PredictRequest.Parse(Encoding.UTF8.GetBytes(json)));

        Assert.Contains("without its other half", refused.Message);
    }

    [Theory]
    [InlineData("""{"records": [{"plan": "\ud83d\ude00 and \u00e9"}]}""", "😀 and é")]
    [InlineData("""{"records": [{"plan": "\\ud800"}]}""", "\\ud800")]
    [InlineData("""{"records": [{"plan": "ends in a backslash \\"}]}""", "ends in a backslash \\")]
    public void KeepsWholeCharactersAndEscapedBackslashes(string json, string expected)
    {
        using var document = PredictRequest.Parse(Encoding.UTF8.GetBytes(json));

        Assert.Equal(expected, document.RootElement.GetProperty("records")[0].GetProperty("plan").GetString());
    }
}
