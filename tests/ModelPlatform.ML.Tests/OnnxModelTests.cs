using System.Globalization;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Tests;

/// <summary>Real ONNX graphs (tests/corpus/onnx, built by make_graphs.py): their signatures read from the graph, and their answers.</summary>
public sealed class OnnxModelTests
{
    private static byte[] Graph(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "corpus", "onnx", name));

    private static (ModelSignature Signature, OnnxBinding Binding) Describe(string graph, OnnxRegistration? registration = null)
    {
        var (signature, binding, errors) = OnnxGraph.Describe(Graph(graph), registration);
        Assert.Empty(errors);
        return (signature!, binding!);
    }

    private static ModelPredictor Load(string graph, OnnxRegistration? registration = null)
    {
        var (signature, binding) = Describe(graph, registration);
        return ModelPredictor.Load(new MemoryStream(Graph(graph)), signature, binding);
    }

    private static ModelRecord Record(ModelSignature signature, params (string Column, object Value)[] values)
    {
        var record = ModelRecord.Empty(signature.Inputs.Count);
        foreach (var (column, value) in values)
        {
            var index = signature.Inputs.Select(input => input.Name).ToList().IndexOf(column);
            if (value is string text)
            {
                record.Texts[index] = text;
            }
            else
            {
                record.Numbers[index] = Convert.ToSingle(value, CultureInfo.InvariantCulture);
            }
        }

        return record;
    }

    private static readonly OnnxRegistration HouseColumns = new(Columns: new Dictionary<string, IReadOnlyList<string>>
    {
        ["float_input"] = ["area", "rooms", "age"],
    });

    [Fact]
    public void ALinearGraphIsARegressionOnTheColumnsTheUserNamed()
    {
        var (signature, binding) = Describe("linear-regression.onnx", HouseColumns);

        Assert.Equal(MLTask.Regression, signature.Task);
        Assert.Equal(["area", "rooms", "age"], signature.Inputs.Select(input => input.Name));
        Assert.All(signature.Inputs, input => Assert.Equal(ColumnType.Numeric, input.Type));
        Assert.Equal(new ColumnSchema("label", ColumnType.Numeric), signature.Label);
        Assert.Null(signature.Classes);
        Assert.Equal("variable", binding.Output);
        Assert.Equal(["area", "rooms", "age"], Assert.Single(binding.Inputs).Columns);
    }

    [Fact]
    public void UnnamedColumnsOfATensorAreNumberedAfterIt()
    {
        var (signature, _) = Describe("linear-regression.onnx");

        Assert.Equal(["float_input_0", "float_input_1", "float_input_2"], signature.Inputs.Select(input => input.Name));
    }

    [Theory]
    [InlineData("linear-regression.onnx")]
    [InlineData("linear-regression-one-row.onnx")]
    public void ALinearGraphAnswersItsFormulaForEveryRow(string graph)
    {
        var predictor = Load(graph, HouseColumns);
        var houses = Enumerable.Range(0, 2500).Select(i => (Area: 40 + i % 200, Rooms: 1 + i % 6, Age: i % 90)).ToList();

        var predictions = predictor.Predict([.. houses.Select(house =>
            Record(predictor.Signature, ("area", house.Area), ("rooms", house.Rooms), ("age", house.Age)))]);

        Assert.Equal(houses.Count, predictions.Length);
        for (var i = 0; i < houses.Count; i++)
        {
            var (area, rooms, age) = houses[i];
            Assert.Equal(3000.0 * area + 10000.0 * rooms - 500.0 * age + 20000, predictions[i].Value!.Value, 0.5);
        }
    }

    [Fact]
    public void AnMlpAnswersItsSoftmaxForEachClassTheUserNamed()
    {
        var predictor = Load("mlp-classifier.onnx", new OnnxRegistration(Classes: ["setosa", "versicolor", "virginica"], Label: "species"));
        var weights = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "corpus", "onnx", "mlp-weights.txt"))
            .Select(line => line.Split(' '))
            .ToDictionary(parts => parts[0], parts => parts[1..].Select(value => double.Parse(value, CultureInfo.InvariantCulture)).ToArray());
        float[][] flowers = [[5.1f, 3.5f, 1.4f, 0.2f], [6.7f, 3.0f, 5.2f, 2.3f], [0, 0, 0, 0], [-3, 2, 8, 1]];

        var predictions = predictor.Predict([.. flowers.Select(flower => new ModelRecord(flower, ["", "", "", ""]))]);

        Assert.Equal(MLTask.Multiclass, predictor.Signature.Task);
        Assert.Equal(new ColumnSchema("species", ColumnType.Categorical), predictor.Signature.Label);
        for (var i = 0; i < flowers.Length; i++)
        {
            var expected = Forward(weights, flowers[i]);
            var scores = predictions[i].Scores!;
            Assert.Equal(["setosa", "versicolor", "virginica"], scores.Keys);
            for (var c = 0; c < 3; c++)
            {
                Assert.Equal(expected[c], scores[predictor.Signature.Classes![c]], 1e-5);
            }

            Assert.Equal(predictor.Signature.Classes![Array.IndexOf(expected, expected.Max())], predictions[i].Label);
        }
    }

    /// <summary>The MLP's forward pass, in doubles: softmax(relu(x W1 + b1) W2 + b2).</summary>
    private static double[] Forward(Dictionary<string, double[]> weights, float[] x)
    {
        var hidden = Enumerable.Range(0, 8).Select(j => Math.Max(0, weights["b1"][j] + Enumerable.Range(0, 4).Sum(i => x[i] * weights["w1"][i * 8 + j])));
        var h = hidden.ToArray();
        var logits = Enumerable.Range(0, 3).Select(k => weights["b2"][k] + Enumerable.Range(0, 8).Sum(j => h[j] * weights["w2"][j * 3 + k])).ToArray();
        var exp = logits.Select(Math.Exp).ToArray();
        return [.. exp.Select(value => value / exp.Sum())];
    }

    [Fact]
    public void AnMlpsClassesAreNumberedWhenTheUserNamesNone()
    {
        var (signature, binding) = Describe("mlp-classifier.onnx");

        Assert.Equal(["0", "1", "2"], signature.Classes);
        Assert.Equal(ColumnType.Numeric, signature.Label.Type);
        // The int64 label output is not what answers: the probabilities are.
        Assert.Equal("probabilities", binding.Output);
    }

    [Fact]
    public void AStringInputIsACategoricalColumnAndOneProbabilityABinaryAnswer()
    {
        var predictor = Load("string-input.onnx", new OnnxRegistration(Task: MLTask.Binary, Classes: ["stays", "churns"], Label: "churn"));
        var signature = predictor.Signature;

        var predictions = predictor.Predict(
        [
            Record(signature, ("plan", "pro"), ("minutes", 100)),
            Record(signature, ("plan", "basic"), ("minutes", 30)),
            Record(signature, ("plan", "enterprise"), ("minutes", 150)),
        ]);

        Assert.Equal(MLTask.Binary, signature.Task);
        Assert.Equal([new ColumnSchema("plan", ColumnType.Categorical), new ColumnSchema("minutes", ColumnType.Numeric)], signature.Inputs);
        Assert.Equal(Sigmoid(2 + 1 - 1), predictions[0].Probability!.Value, 1e-6);
        Assert.Equal("churns", predictions[0].Label);
        Assert.Equal(Sigmoid(-1 + 0.3 - 1), predictions[1].Probability!.Value, 1e-6);
        Assert.Equal("stays", predictions[1].Label);
        // A plan the graph does not know weighs nothing.
        Assert.Equal(Sigmoid(0 + 1.5 - 1), predictions[2].Probability!.Value, 1e-6);
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    [Fact]
    public void AStringColumnNamedAsTextIsText()
    {
        var (signature, _) = Describe("string-input.onnx", new OnnxRegistration(Text: ["plan"], Task: MLTask.Binary));

        Assert.Equal(ColumnType.Text, signature.Inputs[0].Type);
    }

    [Theory]
    [InlineData("zipmap-classifier.onnx", null, "artifact", "zipmap")]
    [InlineData("linear-regression.onnx", "columns", "metadata.onnx.columns.float_input", "names 2 column(s), but input 'float_input' has 3")]
    [InlineData("linear-regression.onnx", "unknown-tensor", "metadata.onnx.columns.features", "is not an input of the graph; its inputs are float_input")]
    [InlineData("linear-regression.onnx", "classes", "metadata.onnx.classes", "a regression model has no classes")]
    [InlineData("mlp-classifier.onnx", "classes", "metadata.onnx.classes", "must name 3 distinct classes")]
    [InlineData("mlp-classifier.onnx", "output", "metadata.onnx.output", "'label' is not a float tensor")]
    [InlineData("mlp-classifier.onnx", "regression", "metadata.onnx.task", "is regression, but output 'probabilities' has 3 value(s) per row")]
    [InlineData("string-input.onnx", "text", "metadata.onnx.text", "'minutes' is fed to 'minutes', a tensor of Float, not of strings")]
    public void WhatDoesNotFitTheGraphIsNamed(string graph, string? mistake, string field, string error)
    {
        var registration = mistake switch
        {
            "columns" => new OnnxRegistration(Columns: new Dictionary<string, IReadOnlyList<string>> { ["float_input"] = ["area", "rooms"] }),
            "unknown-tensor" => new OnnxRegistration(Columns: new Dictionary<string, IReadOnlyList<string>> { ["features"] = ["area"] }),
            "classes" => new OnnxRegistration(Classes: ["a", "b"]),
            "output" => new OnnxRegistration(Output: "label"),
            "regression" => new OnnxRegistration(Task: MLTask.Regression),
            "text" => new OnnxRegistration(Text: ["minutes"]),
            _ => null,
        };

        var (signature, _, errors) = OnnxGraph.Describe(Graph(graph), registration);

        Assert.Null(signature);
        Assert.Contains(error, Assert.Single(errors[field]), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void BytesThatAreNoGraphAreRefused()
    {
        var (_, _, errors) = OnnxGraph.Describe("not a graph"u8.ToArray(), null);

        Assert.StartsWith("The artifact is not an ONNX model ONNX Runtime can load", Assert.Single(errors["artifact"]));
    }

    [Fact]
    public void ALongRuntimeMessageKeepsItsBeginningAndTheSentenceAtItsEnd()
    {
        var message = "Exception during initialization: tree_ensemble_common.h:504 " + new string('x', 2000)
            + " nodes_featureids[394]=-1 must be in [0, 2147483647] for non-leaf nodes.";

        var shortened = OnnxPredictor.Shortened(message);

        Assert.StartsWith("Exception during initialization: tree_ensemble_common.h:504", shortened);
        Assert.EndsWith("nodes_featureids[394]=-1 must be in [0, 2147483647] for non-leaf nodes.", shortened);
        Assert.InRange(shortened.Length, 300, 410);
        Assert.Equal("short", OnnxPredictor.Shortened("short"));
    }

    [Fact]
    public void ABindingThatDoesNotFitTheGraphFailsToLoad()
    {
        var (signature, binding) = Describe("linear-regression.onnx", HouseColumns);
        var wrongTensor = binding with { Inputs = [new OnnxInputBinding("features", ["area", "rooms", "age"])] };
        var wrongOutput = binding with { Output = "price" };

        Assert.Throws<InvalidDataException>(() => ModelPredictor.Load(new MemoryStream(Graph("linear-regression.onnx")), signature, wrongTensor));
        Assert.Throws<InvalidDataException>(() => ModelPredictor.Load(new MemoryStream(Graph("linear-regression.onnx")), signature, wrongOutput));
    }
}
