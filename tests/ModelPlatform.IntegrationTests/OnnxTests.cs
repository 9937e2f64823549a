using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelPlatform.IntegrationTests;

/// <summary>
/// Models brought from elsewhere as ONNX graphs (tests/corpus/onnx, built with python3-onnx): registered from the graph,
/// served on every protocol beside ML.NET versions, behind the same aliases.
/// </summary>
public class OnnxTests(PlatformFixture platform) : PlatformTest(platform)
{
    private static readonly string[] IrisColumns = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
    private static readonly string[] Species = ["setosa", "versicolor", "virginica"];

    private static byte[] Graph(string name) => PlatformSteps.OnnxGraph(name);

    private Task<HttpResponseMessage> RegisterGraphAsync(string model, string graph, object metadata) => Platform.RegisterGraphAsync(model, graph, metadata);

    [Fact]
    public async Task AnOnnxClassifierRegistersFromItsGraphAndServesEveryProtocolBesideAnMLNetVersion()
    {
        var model = await Platform.UploadIrisAsync("onnx");
        var trained = await Platform.TrainIrisAsync(model, "LbfgsMaximumEntropy");

        var registered = await RegisterGraphAsync(model, "mlp-classifier.onnx", new
        {
            format = "onnx",
            lineage = new { dataset = model, datasetVersion = 1, trainer = "pytorch MLP" },
            onnx = new { columns = new Dictionary<string, string[]> { ["measurements"] = IrisColumns }, classes = Species, label = "species" },
        }).AssertJsonAsync(HttpStatusCode.Created);
        var onnx = registered["version"]!.GetValue<int>();

        // The signature comes from the graph, in the user's names; the binding says which tensor takes which column.
        Assert.Equal("onnx", registered["format"]!.GetValue<string>());
        Assert.Equal("multiclass", registered["signature"]!["task"]!.GetValue<string>());
        Assert.Equal(IrisColumns, registered["signature"]!["inputs"]!.AsArray().Select(input => input!["name"]!.GetValue<string>()));
        Assert.Equal(Species, registered["signature"]!["classes"]!.AsArray().Select(name => name!.GetValue<string>()));
        Assert.Equal("probabilities", registered["onnx"]!["output"]!.GetValue<string>());
        using (var artifact = await Platform.Registry.GetAsync($"/models/{model}/versions/{onnx}/artifact"))
        {
            Assert.Equal(Graph("mlp-classifier.onnx"), await artifact.Content.ReadAsByteArrayAsync());
            Assert.Equal($"{model}-v{onnx}.onnx", artifact.Content.Headers.ContentDisposition!.FileName);
        }

        // Hot swap from the ML.NET version to the graph, behind the same alias.
        var rows = PlatformSteps.IrisRows().Where((_, i) => i % 10 == 0).Select(row => (object)row.Record).ToList();
        await Platform.PromoteAsync(model, new { version = trained });
        Assert.Equal(trained, (await Platform.PredictAsync(model, rows).AssertJsonAsync())["version"]!.GetValue<int>());
        await Platform.PromoteAsync(model, new { version = onnx });
        var answer = await Platform.WaitUntilAsync($"the graph v{onnx} to answer for production", async () =>
            await Platform.PredictAsync(model, rows).AssertJsonAsync(),
            seen => seen["version"]!.GetValue<int>() == onnx, PlatformSteps.EventTimeout, ["inference"]);
        var predictions = answer["predictions"]!.AsArray();
        Assert.Equal(rows.Count, predictions.Count);
        Assert.All(predictions, prediction =>
        {
            var scores = prediction!["scores"]!.AsObject();
            Assert.Equal(Species, scores.Select(score => score.Key));
            Assert.Equal(1.0, scores.Sum(score => score.Value!.GetValue<double>()), 1e-5);
            Assert.Equal(scores.MaxBy(score => score.Value!.GetValue<double>()).Key, prediction["label"]!.GetValue<string>());
        });
        var labels = predictions.Select(prediction => prediction!["label"]!.GetValue<string>()).ToList();

        // The Open Inference Protocol: the graph's runtime named, the same columns as tensors, the same answers.
        var metadata = await Platform.Inference.GetAsync($"/v2/models/{model}/versions/{onnx}").AssertJsonAsync();
        OpenInferenceSpec.AssertMatches("metadata_model_response", metadata);
        Assert.Equal("onnxruntime_onnx", metadata["platform"]!.GetValue<string>());
        var records = rows.Cast<Dictionary<string, object>>().ToList();
        var inputs = new JsonArray([.. IrisColumns.Select(column => (JsonNode)new JsonObject
        {
            ["name"] = column,
            ["datatype"] = "FP32",
            ["shape"] = new JsonArray(records.Count),
            ["data"] = new JsonArray([.. records.Select(record => (JsonNode)(double)record[column])]),
        })]);
        var inferred = await Platform.Inference.PostAsync($"/v2/models/{model}/versions/{onnx}/infer",
            new StringContent(new JsonObject { ["inputs"] = inputs }.ToJsonString(), Encoding.UTF8, "application/json")).AssertJsonAsync();
        OpenInferenceSpec.AssertMatches("inference_response", inferred);
        var oipLabels = inferred["outputs"]!.AsArray().Single(output => output!["name"]!.GetValue<string>() == "label")!["data"]!.AsArray();
        Assert.Equal(labels, oipLabels.Select(label => label!.GetValue<string>()));

        // CSV in, CSV out.
        var csv = new StringBuilder(string.Join(',', IrisColumns) + "\n");
        foreach (var record in records)
        {
            csv.AppendLine(string.Join(',', IrisColumns.Select(column => Convert.ToString(record[column], System.Globalization.CultureInfo.InvariantCulture))));
        }

        using var csvRequest = new HttpRequestMessage(HttpMethod.Post, $"/models/{model}/predict?version={onnx}")
        {
            Content = new StringContent(csv.ToString(), Encoding.UTF8, "text/csv"),
        };
        csvRequest.Headers.Accept.ParseAdd("text/csv");
        var csvAnswer = await (await Platform.Inference.SendAsync(csvRequest)).AssertStatusAsync(HttpStatusCode.OK);
        var csvLines = csvAnswer.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var labelColumn = Array.IndexOf(csvLines[0].Split(','), "label");
        Assert.Equal(labels, csvLines.Skip(1).Select(line => line.Split(',')[labelColumn]));

        // The graph shadows the ML.NET version: every copy is scored and compared.
        await Platform.PromoteAsync(model, new { version = trained, shadow = onnx });
        var comparison = await Platform.WaitUntilAsync($"the graph v{onnx} to shadow 150 rows", async () =>
        {
            await Platform.PredictAsync(model, rows).AssertStatusAsync(HttpStatusCode.OK);
            var comparisons = await Platform.Inference.GetFromJsonAsync<JsonArray>($"/models/{model}/shadow");
            return comparisons!.SingleOrDefault(seen => seen!["shadowVersion"]!.GetValue<int>() == onnx)?.AsObject();
        }, seen => seen?["rows"]!.GetValue<long>() >= 150, PlatformSteps.EventTimeout, ["inference"]);
        Assert.Equal(trained, comparison!["answeredVersion"]!.GetValue<int>());
    }

    [Fact]
    public async Task ATrainedVersionsOnnxExportServesTheSameAnswersAsTheVersion()
    {
        var model = await Platform.UploadIrisAsync("export");
        var trained = await Platform.TrainIrisAsync(model, "LbfgsMaximumEntropy");
        var version = await Platform.Registry.GetAsync($"/models/{model}/versions/{trained}").AssertJsonAsync();
        var export = version["onnxExport"]!;
        Assert.Equal("Score.output", export["binding"]!["output"]!.GetValue<string>());

        // The export downloads with the checksum the version records, and registers as a version of its own.
        using var download = await Platform.Registry.GetAsync($"/models/{model}/versions/{trained}/onnx");
        var graph = await download.Content.ReadAsByteArrayAsync();
        Assert.Equal(export["sha256"]!.GetValue<string>(), Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(graph)));
        var classes = version["signature"]!["classes"]!.AsArray().Select(name => name!.GetValue<string>()).ToArray();
        var form = new MultipartFormDataContent
        {
            {
                JsonContent.Create(new
                {
                    format = "onnx",
                    lineage = new { dataset = model, datasetVersion = 1, trainer = "ML.NET export" },
                    onnx = new { output = "Score.output", classes, label = "species" },
                }, options: JsonSerializerOptions.Web),
                "metadata"
            },
            { new ByteArrayContent(graph), "artifact", "export.onnx" },
        };
        var onnx = (await Platform.Registry.PostAsync($"/models/{model}/versions", form).AssertJsonAsync(HttpStatusCode.Created))["version"]!.GetValue<int>();
        Assert.Equal(IrisColumns,
            (await Platform.Registry.GetAsync($"/models/{model}/versions/{onnx}").AssertJsonAsync())["signature"]!["inputs"]!.AsArray()
                .Select(input => input!["name"]!.GetValue<string>()));

        // Every iris row: the same class scores from ONNX Runtime as from ML.NET, to 1e-5.
        var rows = PlatformSteps.IrisRows().Select(row => (object)row.Record).ToList();
        var fromMLNet = (await Platform.PredictAsync(model, rows, $"?version={trained}").AssertJsonAsync())["predictions"]!.AsArray();
        var fromOnnx = (await Platform.PredictAsync(model, rows, $"?version={onnx}").AssertJsonAsync())["predictions"]!.AsArray();
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(fromMLNet[i]!["label"]!.GetValue<string>(), fromOnnx[i]!["label"]!.GetValue<string>());
            foreach (var name in classes)
            {
                Assert.Equal(fromMLNet[i]!["scores"]![name]!.GetValue<double>(), fromOnnx[i]!["scores"]![name]!.GetValue<double>(), 1e-5);
            }
        }
    }

    [Fact]
    public async Task AGraphWithAStringInputAnswersItsFormula()
    {
        var model = PlatformSteps.UniqueName("churn-onnx");
        await RegisterGraphAsync(model, "string-input.onnx", new
        {
            format = "onnx",
            lineage = new { dataset = "customers", datasetVersion = 3, trainer = "scikit-learn" },
            onnx = new { task = "binary", classes = new[] { "stays", "churns" }, label = "churn" },
        }).AssertJsonAsync(HttpStatusCode.Created);

        var answer = await Platform.PredictAsync(model,
            [new { plan = "pro", minutes = 100 }, new { plan = "basic", minutes = 30 }], "?version=1").AssertJsonAsync();

        var predictions = answer["predictions"]!.AsArray();
        Assert.Equal("churns", predictions[0]!["label"]!.GetValue<string>());
        Assert.Equal(1 / (1 + Math.Exp(-2)), predictions[0]!["probability"]!.GetValue<double>(), 1e-6);
        Assert.Equal("stays", predictions[1]!["label"]!.GetValue<string>());
        Assert.Equal(1 / (1 + Math.Exp(1.7)), predictions[1]!["probability"]!.GetValue<double>(), 1e-6);
    }

    [Fact]
    public async Task AGraphThatCannotAnswerIsRefusedAndNothingIsStored()
    {
        var model = PlatformSteps.UniqueName("zipmap");

        var zipMap = await RegisterGraphAsync(model, "zipmap-classifier.onnx", new
        {
            format = "onnx",
            lineage = new { dataset = "d", datasetVersion = 1 },
        }).AssertJsonAsync(HttpStatusCode.BadRequest);
        var withSignature = await RegisterGraphAsync(model, "linear-regression.onnx", new
        {
            format = "onnx",
            lineage = new { dataset = "d", datasetVersion = 1 },
            signature = new { task = "regression", inputs = new[] { new { name = "x", type = "numeric" } }, label = new { name = "y", type = "numeric" } },
        }).AssertJsonAsync(HttpStatusCode.BadRequest);
        var wrongColumns = await RegisterGraphAsync(model, "linear-regression.onnx", new
        {
            format = "onnx",
            lineage = new { dataset = "d", datasetVersion = 1 },
            onnx = new { columns = new Dictionary<string, string[]> { ["float_input"] = ["area"] } },
        }).AssertJsonAsync(HttpStatusCode.BadRequest);

        Assert.Contains("zipmap", zipMap["errors"]!["artifact"]![0]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("is read from an ONNX graph", withSignature["errors"]!["metadata.signature"]![0]!.GetValue<string>());
        Assert.Equal("names 1 column(s), but input 'float_input' has 3", wrongColumns["errors"]!["metadata.onnx.columns.float_input"]![0]!.GetValue<string>());
        await Platform.Registry.GetAsync($"/models/{model}").AssertStatusAsync(HttpStatusCode.NotFound);
    }
}
