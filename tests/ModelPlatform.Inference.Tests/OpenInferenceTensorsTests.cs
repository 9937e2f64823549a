using System.Text;
using System.Text.Json;
using ModelPlatform.Contracts;
using ModelPlatform.Inference.Protocols;
using ModelPlatform.ML;

namespace ModelPlatform.Inference.Tests;

public class OpenInferenceTensorsTests
{
    private const int MaxRows = 100;

    /// <summary>A request as the API reads it: parsed once, its tensors' data left in the body's document.</summary>
    private static InferenceRequest Request(string inputs, string? outputs = null) =>
        InferenceRequestReader.Read(Encoding.UTF8.GetBytes(
            $$"""{"id": "r1", "inputs": {{inputs}}{{(outputs is null ? "" : $", \"outputs\": {outputs}")}}}"""), out _)!;

    private static List<ModelRecord> Read(string inputs)
    {
        var (records, error) = OpenInferenceTensors.ReadInputs(TestModels.Churn, Request(inputs), MaxRows);
        Assert.Null(error);
        return records!;
    }

    private static string ReadError(string inputs, int maxRows = MaxRows)
    {
        var (records, error) = OpenInferenceTensors.ReadInputs(TestModels.Churn, Request(inputs), maxRows);
        Assert.Null(records);
        return Assert.IsType<string>(error);
    }

    [Fact]
    public void ReadsOneRecordPerRowFromFlatTensorsInAnyOrder()
    {
        var records = Read("""
            [
              {"name": "active", "shape": [3], "datatype": "BOOL", "data": [true, false, true]},
              {"name": "age", "shape": [3], "datatype": "FP32", "data": [34, 51.5, 18]},
              {"name": "plan", "shape": [3], "datatype": "BYTES", "data": ["pro", "basic", "enterprise"]}
            ]
            """);

        Assert.Equal([34f, 51.5f, 18f], records.Select(record => record.Numbers[0]));
        Assert.Equal(["pro", "basic", "enterprise"], records.Select(record => record.Texts[1]));
        Assert.Equal([1f, 0f, 1f], records.Select(record => record.Numbers[2]));
    }

    [Fact]
    public void ReadsNestedTensorsOfShapeRowsByOne()
    {
        var records = Read("""
            [
              {"name": "age", "shape": [2, 1], "datatype": "FP64", "data": [[1], [2]]},
              {"name": "plan", "shape": [2, 1], "datatype": "BYTES", "data": [["pro"], ["basic"]]},
              {"name": "active", "shape": [2, 1], "datatype": "BOOL", "data": [[false], [true]]}
            ]
            """);

        Assert.Equal([1f, 2f], records.Select(record => record.Numbers[0]));
        Assert.Equal(["pro", "basic"], records.Select(record => record.Texts[1]));
        Assert.Equal([0f, 1f], records.Select(record => record.Numbers[2]));
    }

    [Fact]
    public void NullIsAMissingValue()
    {
        var records = Read("""
            [
              {"name": "age", "shape": [2], "datatype": "FP32", "data": [null, 40]},
              {"name": "plan", "shape": [2], "datatype": "BYTES", "data": [null, "pro"]},
              {"name": "active", "shape": [2], "datatype": "BOOL", "data": [null, true]}
            ]
            """);

        Assert.True(float.IsNaN(records[0].Numbers[0]));
        Assert.Equal("", records[0].Texts[1]);
        Assert.True(float.IsNaN(records[0].Numbers[2]));
        Assert.Equal((40f, "pro", 1f), (records[1].Numbers[0], records[1].Texts[1], records[1].Numbers[2]));
    }

    [Fact]
    public void IntegerTensorsFeedNumericColumns()
    {
        var records = Read("""
            [
              {"name": "age", "shape": [2], "datatype": "INT32", "data": [30, 2.0]},
              {"name": "plan", "shape": [2], "datatype": "BYTES", "data": ["pro", "pro"]},
              {"name": "active", "shape": [2], "datatype": "BOOL", "data": [true, true]}
            ]
            """);

        Assert.Equal([30f, 2f], records.Select(record => record.Numbers[0]));
    }

    [Theory]
    // Which input is wrong, then what the message says about it.
    [InlineData("""
        [{"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
        {"name": "active", "shape": [1], "datatype": "BOOL", "data": [true]}]
        """,
        "input 'age' is missing", "FP32 tensor")]
    [InlineData("""
        [{"name": "age", "shape": [1], "datatype": "FP32", "data": [1]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
        {"name": "active", "shape": [1], "datatype": "BOOL", "data": [true]},
        {"name": "tenure", "shape": [1], "datatype": "FP32", "data": [1]}]
        """,
        "input 'tenure' (inputs[3])", "is not an input of the model")]
    [InlineData("""
        [{"name": "age", "shape": [1], "datatype": "FP32", "data": [1]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
        {"name": "age", "shape": [1], "datatype": "FP32", "data": [2]}]
        """,
        "input 'age'", "appears more than once")]
    [InlineData("""
        [{"name": "age", "shape": [1], "datatype": "BYTES", "data": ["1"]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
        {"name": "active", "shape": [1], "datatype": "BOOL", "data": [true]}]
        """,
        "input 'age' (inputs[0])", "has datatype BYTES")]
    [InlineData("""
        [{"name": "age", "shape": [1], "datatype": "FP32", "data": [1]},
        {"name": "plan", "shape": [1], "datatype": "FP32", "data": [1]},
        {"name": "active", "shape": [1], "datatype": "BOOL", "data": [true]}]
        """,
        "input 'plan' (inputs[1])", "has datatype FP32")]
    [InlineData("""
        [{"name": "age", "shape": [1], "datatype": "FP32", "data": [1]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
        {"name": "active", "shape": [1], "datatype": "INT8", "data": [1]}]
        """,
        "input 'active' (inputs[2])", "has datatype INT8")]
    [InlineData("""
        [{"name": "age", "shape": [1], "data": [1]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
        {"name": "active", "shape": [1], "datatype": "BOOL", "data": [true]}]
        """,
        "input 'age' (inputs[0])", "has datatype (none)")]
    [InlineData("""
        [{"name": "age", "shape": [2], "datatype": "FP32", "data": [1, 2, 3]},
        {"name": "plan", "shape": [2], "datatype": "BYTES", "data": ["pro", "pro"]},
        {"name": "active", "shape": [2], "datatype": "BOOL", "data": [true, true]}]
        """,
        "input 'age' (inputs[0])", "more than the 2 values")]
    [InlineData("""
        [{"name": "age", "shape": [3], "datatype": "FP32", "data": [1, 2, 3]},
        {"name": "plan", "shape": [3], "datatype": "BYTES", "data": ["pro", "pro"]},
        {"name": "active", "shape": [3], "datatype": "BOOL", "data": [true, true, true]}]
        """,
        "input 'plan' (inputs[1])", "has 2 values; its shape says 3")]
    [InlineData("""
        [{"name": "age", "shape": [2], "datatype": "FP32", "data": [1, 2]},
        {"name": "plan", "shape": [3], "datatype": "BYTES", "data": ["pro", "pro", "pro"]},
        {"name": "active", "shape": [2], "datatype": "BOOL", "data": [true, true]}]
        """,
        "input 'plan' (inputs[1])", "has 3 rows, but the inputs before it have 2")]
    [InlineData("""
        [{"name": "age", "shape": [0], "datatype": "FP32", "data": []},
        {"name": "plan", "shape": [0], "datatype": "BYTES", "data": []},
        {"name": "active", "shape": [0], "datatype": "BOOL", "data": []}]
        """,
        "input 'age' (inputs[0])", "has shape [0]")]
    [InlineData("""
        [{"name": "age", "shape": [1, 2], "datatype": "FP32", "data": [[1, 2]]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
        {"name": "active", "shape": [1], "datatype": "BOOL", "data": [true]}]
        """,
        "input 'age' (inputs[0])", "has shape [1, 2]")]
    [InlineData("""
        [{"name": "age", "datatype": "FP32", "data": [1]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
        {"name": "active", "shape": [1], "datatype": "BOOL", "data": [true]}]
        """,
        "input 'age' (inputs[0])", "has shape []")]
    [InlineData("""
        [{"name": "age", "shape": [2], "datatype": "FP32", "data": [1, "NaN"]},
        {"name": "plan", "shape": [2], "datatype": "BYTES", "data": ["pro", "pro"]},
        {"name": "active", "shape": [2], "datatype": "BOOL", "data": [true, true]}]
        """,
        "input 'age' (inputs[0]) row 1", "NaN is not a value the model can take; send null")]
    [InlineData("""
        [{"name": "age", "shape": [1], "datatype": "FP32", "data": ["Infinity"]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
        {"name": "active", "shape": [1], "datatype": "BOOL", "data": [true]}]
        """,
        "input 'age' (inputs[0]) row 0", "Infinity is not a value the model can take")]
    [InlineData("""
        [{"name": "age", "shape": [1], "datatype": "FP64", "data": ["-inf"]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
        {"name": "active", "shape": [1], "datatype": "BOOL", "data": [true]}]
        """,
        "input 'age' (inputs[0]) row 0", "-inf is not a value the model can take")]
    [InlineData("""
        [{"name": "age", "shape": [1], "datatype": "FP64", "data": [1e39]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
        {"name": "active", "shape": [1], "datatype": "BOOL", "data": [true]}]
        """,
        "input 'age' (inputs[0]) row 0", "outside the range of a 32-bit float")]
    [InlineData("""
        [{"name": "age", "shape": [1], "datatype": "INT64", "data": [1e400]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
        {"name": "active", "shape": [1], "datatype": "BOOL", "data": [true]}]
        """,
        "input 'age' (inputs[0]) row 0", "outside the range of a 32-bit float")]
    [InlineData("""
        [{"name": "age", "shape": [2], "datatype": "INT32", "data": [3, 2.5]},
        {"name": "plan", "shape": [2], "datatype": "BYTES", "data": ["pro", "pro"]},
        {"name": "active", "shape": [2], "datatype": "BOOL", "data": [true, true]}]
        """,
        "input 'age' (inputs[0]) row 1", "2.5 is not an integer, as INT32 requires")]
    [InlineData("""
        [{"name": "age", "shape": [1], "datatype": "FP32", "data": ["12"]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
        {"name": "active", "shape": [1], "datatype": "BOOL", "data": [true]}]
        """,
        "input 'age' (inputs[0]) row 0", "expected a number or null, got string \"12\"")]
    [InlineData("""
        [{"name": "age", "shape": [1], "datatype": "FP32", "data": [1]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": [3]},
        {"name": "active", "shape": [1], "datatype": "BOOL", "data": [true]}]
        """,
        "input 'plan' (inputs[1]) row 0", "expected a string (BYTES) or null, got 3")]
    [InlineData("""
        [{"name": "age", "shape": [1], "datatype": "FP32", "data": [1]},
        {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
        {"name": "active", "shape": [1], "datatype": "BOOL", "data": ["yes"]}]
        """,
        "input 'active' (inputs[2]) row 0", "expected true, false or null, got \"yes\"")]
    [InlineData("""[{"shape": [1], "datatype": "FP32", "data": [1]}]""",
        "inputs[0]", "has no 'name'")]
    [InlineData("""[]""",
        "'inputs' is required", "age, plan, active")]
    public void RefusesABadTensorNamingTheInput(string inputs, string names, string says)
    {
        var error = ReadError(inputs);

        Assert.Contains(names, error);
        Assert.Contains(says, error);
        // Word for word what the request deserialized as a whole (each tensor copied into a document of its own) gives.
        var deserialized = JsonSerializer.Deserialize<InferenceRequest>($$"""{"inputs": {{inputs}}}""", OpenInferenceTensors.Json)!;
        Assert.Equal(OpenInferenceTensors.ReadInputs(TestModels.Churn, deserialized, MaxRows).Error, error);
    }

    [Fact]
    public void RefusesMoreRowsThanAllowed()
    {
        var error = ReadError("""
            [
              {"name": "age", "shape": [3], "datatype": "FP32", "data": [1, 2, 3]},
              {"name": "plan", "shape": [3], "datatype": "BYTES", "data": ["a", "b", "c"]},
              {"name": "active", "shape": [3], "datatype": "BOOL", "data": [true, true, true]}
            ]
            """, maxRows: 2);

        Assert.Contains("input 'age' (inputs[0]) has 3 rows; at most 2 are allowed", error);
    }

    [Fact]
    public void RefusesARequestWithoutInputs()
    {
        var request = JsonSerializer.Deserialize<InferenceRequest>("""{"id": "r1"}""", OpenInferenceTensors.Json)!;

        var (records, error) = OpenInferenceTensors.ReadInputs(TestModels.Churn, request, MaxRows);

        Assert.Null(records);
        Assert.Contains("'inputs' is required", error);
    }

    [Fact]
    public void RefusesATensorWithoutData()
    {
        var error = ReadError("""
            [
              {"name": "age", "shape": [1], "datatype": "FP32"},
              {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
              {"name": "active", "shape": [1], "datatype": "BOOL", "data": [true]}
            ]
            """);

        Assert.Contains("input 'age' (inputs[0])", error);
    }

    [Fact]
    public void BinaryAnswersAreALabelAndAProbabilityPerRow()
    {
        Prediction[] predictions = [new(Label: "yes", Probability: 0.9f), new(Label: "no", Probability: 0.25f)];

        var outputs = OpenInferenceTensors.WriteOutputs(TestModels.Churn, predictions, requested: null);

        Assert.Equal(["label", "probability"], outputs.Select(output => output.Name));
        Assert.Equal(["BYTES", "FP32"], outputs.Select(output => output.Datatype));
        Assert.All(outputs, output => Assert.Equal([2L], output.Shape));
        Assert.Equal(["yes", "no"], Assert.IsType<object?[]>(outputs[0].Data));
        Assert.Equal([0.9f, 0.25f], Assert.IsType<float[]>(outputs[1].Data));
    }

    [Fact]
    public void WritesOnlyTheRequestedOutputsInTheOrderAsked()
    {
        Prediction[] predictions = [new(Label: "yes", Probability: 0.9f)];
        var request = Request("[]", outputs: """[{"name": "probability"}]""");

        var outputs = OpenInferenceTensors.WriteOutputs(TestModels.Churn, predictions, request.Outputs);

        Assert.Null(OpenInferenceTensors.RequestedOutputsError(TestModels.Churn, request.Outputs));
        var output = Assert.Single(outputs);
        Assert.Equal("probability", output.Name);
        Assert.Equal([0.9f], Assert.IsType<float[]>(output.Data));
    }

    [Fact]
    public void RefusesAnOutputTheModelDoesNotHave()
    {
        var error = OpenInferenceTensors.RequestedOutputsError(
            TestModels.Churn, [new RequestOutput("label", null), new RequestOutput("scores", null)]);

        Assert.Contains("output 'scores' is not an output of the model", error);
        Assert.Contains("label, probability", error);
    }

    [Fact]
    public void MulticlassScoresAreRowsByClassesInClassOrder()
    {
        Prediction[] predictions =
        [
            // Dictionaries in another order than the classes: the tensor must follow the signature's order.
            new(Label: "virginica", Scores: new Dictionary<string, float> { ["virginica"] = 0.7f, ["setosa"] = 0.1f, ["versicolor"] = 0.2f }),
            new(Label: "setosa", Scores: new Dictionary<string, float> { ["versicolor"] = 0.15f, ["virginica"] = 0.05f, ["setosa"] = 0.8f }),
        ];

        var outputs = OpenInferenceTensors.WriteOutputs(TestModels.Iris, predictions, requested: null);

        Assert.Equal(["label", "scores"], outputs.Select(output => output.Name));
        var scores = outputs[1];
        Assert.Equal([2L, 3L], scores.Shape);
        Assert.Equal("FP32", scores.Datatype);
        Assert.Equal([0.1f, 0.2f, 0.7f, 0.8f, 0.15f, 0.05f], Assert.IsType<float[]>(scores.Data));
        Assert.Equal(["setosa", "versicolor", "virginica"], JsonSerializer.Deserialize<string[]>(scores.Parameters!["classes"])!);
        Assert.Equal(["virginica", "setosa"], Assert.IsType<object?[]>(outputs[0].Data));
    }

    [Fact]
    public void ExplanationsAreAContributionPerRowAndColumnInSignatureOrderWithTheirBaseValues()
    {
        Explanation[] explanations =
        [
            // Dictionaries in another order than the inputs: the tensor must follow the signature's order.
            new(Explanation.ShapleySampling, Explanation.Probability, 0.3, new Dictionary<string, double> { ["plan"] = 0.2, ["active"] = 0, ["age"] = -0.1 }),
            new(Explanation.ShapleySampling, Explanation.Probability, 0.3, new Dictionary<string, double> { ["active"] = 0.05, ["age"] = 0.4, ["plan"] = 0 }),
        ];

        var outputs = OpenInferenceTensors.ExplanationOutputs(TestModels.Churn, explanations).ToList();

        Assert.Equal(["contributions", "base_value"], outputs.Select(output => output.Name));
        Assert.All(outputs, output => Assert.Equal("FP64", output.Datatype));
        Assert.Equal([2L, 3L], outputs[0].Shape);
        Assert.Equal([-0.1, 0.2, 0, 0.4, 0, 0.05], Assert.IsType<double[]>(outputs[0].Data));
        Assert.Equal(["age", "plan", "active"], JsonSerializer.Deserialize<string[]>(outputs[0].Parameters!["columns"])!);
        Assert.Equal((Explanation.ShapleySampling, Explanation.Probability), (outputs[0].Parameters!["method"], outputs[0].Parameters!["output"]));
        Assert.Equal([2L], outputs[1].Shape);
        Assert.Equal([0.3, 0.3], Assert.IsType<double[]>(outputs[1].Data));
    }

    [Fact]
    public void RegressionAnswersAreOneValuePerRow()
    {
        Prediction[] predictions = [new(Value: 310.5f), new(Value: 99f)];

        var outputs = OpenInferenceTensors.WriteOutputs(TestModels.Price, predictions, requested: null);

        var value = Assert.Single(outputs);
        Assert.Equal(("value", "FP32"), (value.Name, value.Datatype));
        Assert.Equal([2L], value.Shape);
        Assert.Equal([310.5f, 99f], Assert.IsType<float[]>(value.Data));
    }

    [Fact]
    public void MetadataDescribesTheTensorsReadAndWritten()
    {
        Assert.Equal(
            [("age", "FP32"), ("plan", "BYTES"), ("active", "BOOL")],
            OpenInferenceTensors.Inputs(TestModels.Churn).Select(tensor => (tensor.Name, tensor.Datatype)));
        Assert.Equal([-1L, 3L], OpenInferenceTensors.Outputs(TestModels.Iris).Single(tensor => tensor.Name == "scores").Shape);
    }
}
