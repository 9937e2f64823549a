using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelPlatform.IntegrationTests;

/// <summary>
/// Why a model answered as it did: <c>?explain=true</c> on /predict and the Open Inference Protocol's <c>explain</c> parameter
/// give each input column's contribution, in the columns the user sent, and say which method measured it.
/// </summary>
public class ExplanationTests(PlatformFixture platform) : PlatformTest(platform)
{
    private static readonly string[] IrisColumns = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

    [Fact]
    public async Task ALinearModelsPredictionIsExplainedByFeatureContributionsInTheUsersColumns()
    {
        var dataset = PlatformSteps.UniqueName("explain");
        await Platform.UploadCsvAsync(dataset, PlatformSteps.MessagesCsv(400)).AssertStatusAsync(HttpStatusCode.Created);
        var job = await Platform.TrainAsync(new { modelName = dataset, dataset, label = "kind", task = "binary", trainer = "LbfgsLogisticRegression" });
        var version = job["modelVersion"]!.GetValue<int>();
        var spam = new { message = "you won a free prize claim your cash now", sender = "unknown", links = 2 };

        var answer = await Platform.PredictAsync(dataset, [spam], $"?version={version}&explain=true").AssertJsonAsync();

        var explanation = answer["explanations"]![0]!;
        Assert.Equal("feature-contribution", explanation["method"]!.GetValue<string>());
        // A calibrated classifier's contributions are to its margin, before the probability is read from it.
        Assert.Equal("score", explanation["output"]!.GetValue<string>());
        var contributions = explanation["contributions"]!.AsObject().ToDictionary(pair => pair.Key, pair => pair.Value!.GetValue<double>());
        // One contribution per column sent: the message's words and the sender's categories are summed back to them.
        Assert.Equal(["links", "message", "sender"], contributions.Keys.Order());
        Assert.Equal("message", contributions.MaxBy(pair => Math.Abs(pair.Value)).Key);
        Assert.True(contributions["message"] > 0, $"the spam words push towards spam: {explanation.ToJsonString()}");
        Assert.Equal("spam", answer["predictions"]![0]!["label"]!.GetValue<string>());

        // Without explain, no explanations: they cost a calculation per record.
        Assert.Null((await Platform.PredictAsync(dataset, [spam], $"?version={version}").AssertJsonAsync())["explanations"]);
    }

    [Fact]
    public async Task AMulticlassPredictionIsExplainedByShapleyValuesThatAddUpOverBothProtocols()
    {
        var model = await Platform.UploadIrisAsync("shapley");
        var version = await Platform.TrainIrisAsync(model, "LbfgsMaximumEntropy");
        var row = PlatformSteps.IrisRows()[120].Record;

        var answer = await Platform.PredictAsync(model, [row], $"?version={version}&explain=true").AssertJsonAsync();

        var explanation = answer["explanations"]![0]!;
        var prediction = answer["predictions"]![0]!;
        Assert.Equal(("shapley-sampling", "score"), (explanation["method"]!.GetValue<string>(), explanation["output"]!.GetValue<string>()));
        var contributions = explanation["contributions"]!.AsObject().ToDictionary(pair => pair.Key, pair => pair.Value!.GetValue<double>());
        Assert.Equal(IrisColumns.Order(), contributions.Keys.Order());
        // From the typical training row to this flower: the predicted class's score moves by exactly the contributions' sum.
        var score = prediction["scores"]![prediction["label"]!.GetValue<string>()]!.GetValue<double>();
        Assert.Equal(score, explanation["baseValue"]!.GetValue<double>() + contributions.Values.Sum(), 1e-4);

        // The Open Inference Protocol: the same contributions as a [rows, columns] tensor, its columns named.
        var request = new JsonObject
        {
            ["parameters"] = new JsonObject { ["explain"] = true },
            ["inputs"] = new JsonArray([.. IrisColumns.Select(column => (JsonNode)new JsonObject
            {
                ["name"] = column,
                ["datatype"] = "FP64",
                ["shape"] = new JsonArray(1),
                ["data"] = new JsonArray((double)row[column]),
            })]),
        };
        var inferred = await Platform.Inference.PostAsync($"/v2/models/{model}/versions/{version}/infer",
            new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json")).AssertJsonAsync();
        OpenInferenceSpec.AssertMatches("inference_response", inferred);
        var tensor = inferred["outputs"]!.AsArray().Single(output => output!["name"]!.GetValue<string>() == "contributions")!;
        Assert.Equal("[1,4]", tensor["shape"]!.ToJsonString());
        var columns = JsonSerializer.Deserialize<string[]>(tensor["parameters"]!["columns"]!.GetValue<string>())!;
        Assert.Equal(IrisColumns, columns);
        Assert.Equal("shapley-sampling", tensor["parameters"]!["method"]!.GetValue<string>());
        var data = tensor["data"]!.AsArray().Select(value => value!.GetValue<double>()).ToList();
        for (var c = 0; c < columns.Length; c++)
        {
            Assert.Equal(contributions[columns[c]], data[c], 1e-9);
        }
    }

    [Fact]
    public async Task AnOnnxModelIsExplainedFromTheReferenceRowItWasRegisteredWith()
    {
        var model = PlatformSteps.UniqueName("explain-onnx");
        var registration = new
        {
            format = "onnx",
            lineage = new { dataset = "customers", datasetVersion = 1 },
            onnx = new { task = "binary", classes = new[] { "stays", "churns" }, label = "churn" },
        };
        var withoutReference = await RegisterAsync(model, registration).AssertJsonAsync(HttpStatusCode.Created);
        var badReference = await RegisterAsync(model, new
        {
            registration.format,
            registration.lineage,
            registration.onnx,
            reference = new { plan = "basic" },
        }).AssertJsonAsync(HttpStatusCode.BadRequest);
        var withReference = await RegisterAsync(model, new
        {
            registration.format,
            registration.lineage,
            registration.onnx,
            reference = new { plan = "basic", minutes = 0 },
        }).AssertJsonAsync(HttpStatusCode.Created);
        var customer = new { plan = "pro", minutes = 100 };

        var refused = await Platform.PredictAsync(model, [customer], $"?version={withoutReference["version"]}&explain=true")
            .AssertJsonAsync(HttpStatusCode.BadRequest);
        var answer = await Platform.PredictAsync(model, [customer], $"?version={withReference["version"]}&explain=true").AssertJsonAsync();

        Assert.Contains("metadata.reference", refused["errors"]!["explain"]![0]!.GetValue<string>());
        Assert.Contains("minutes", badReference["errors"]!["metadata.reference"]![0]!.GetValue<string>());
        var explanation = answer["explanations"]![0]!;
        Assert.Equal(("shapley-sampling", "probability"), (explanation["method"]!.GetValue<string>(), explanation["output"]!.GetValue<string>()));
        // Two columns: every order is taken, so these are the exact Shapley values of sigmoid(plan weight + minutes / 100 - 1).
        Assert.Equal(Sigmoid(-2), explanation["baseValue"]!.GetValue<double>(), 1e-6);
        Assert.Equal(((Sigmoid(1) - Sigmoid(-2)) + (Sigmoid(2) - Sigmoid(-1))) / 2, explanation["contributions"]!["plan"]!.GetValue<double>(), 1e-6);
        Assert.Equal(((Sigmoid(-1) - Sigmoid(-2)) + (Sigmoid(2) - Sigmoid(1))) / 2, explanation["contributions"]!["minutes"]!.GetValue<double>(), 1e-6);
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    private Task<HttpResponseMessage> RegisterAsync(string model, object metadata) => Platform.RegisterGraphAsync(model, "string-input.onnx", metadata);
}
