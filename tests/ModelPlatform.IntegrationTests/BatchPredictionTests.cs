using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace ModelPlatform.IntegrationTests;

/// <summary>
/// Batch prediction jobs: a dataset version scored through the queue by a model version into a new dataset version of its
/// rows and their predictions, whose lineage reads dataset → model version → predictions.
/// </summary>
public class BatchPredictionTests(PlatformFixture platform) : PlatformTest(platform)
{
    private static readonly string[] IrisColumns = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"];

    [Fact]
    public async Task ADatasetVersionScoredByAliasBecomesANewVersionOfItsRowsWithTheAnswersPredictGivesAndItsLineage()
    {
        var model = await Platform.ProductionIrisAsync();
        var version = (await Platform.Registry.GetFromJsonAsync<JsonObject>($"/models/{model}/aliases/production"))!["version"]!.GetValue<int>();

        var submitted = await SubmitAsync(new { model, alias = "production", dataset = model }).AssertJsonAsync(HttpStatusCode.Accepted);
        Assert.Equal((version, 1, 150, $"{model}-predictions"), (Int(submitted, "modelVersion"), Int(submitted, "datasetVersion"),
            Int(submitted, "rows"), submitted["output"]!.GetValue<string>()));
        var job = await Platform.WaitForJobAsync(submitted["id"]!.GetValue<string>(), "batch-predictions");
        Platform.AssertJobStatus(job, "succeeded");

        // A new dataset version: the rows scored, every column kept, and the model's answer columns after them.
        var output = await Platform.Feature.GetFromJsonAsync<JsonObject>($"/datasets/{model}-predictions/versions/{Int(job, "outputVersion")}");
        var classes = new[] { "setosa", "versicolor", "virginica" };
        Assert.Equal([.. IrisColumns, "prediction", .. classes.Select(label => $"score_{label}")],
            output!["columns"]!.AsArray().Select(column => column!["name"]!.GetValue<string>()));
        Assert.Equal(150, Int(output, "rows"));
        var lineage = output["predictions"]!;
        Assert.Equal((model, 1, model, version, job["id"]!.GetValue<string>()), (lineage["dataset"]!.GetValue<string>(), Int(lineage, "datasetVersion"),
            lineage["model"]!.GetValue<string>(), Int(lineage, "modelVersion"), lineage["jobId"]!.GetValue<string>()));
        // ... and the model version's own lineage closes the chain back to the rows it was trained on.
        var trained = await Platform.Registry.GetFromJsonAsync<JsonObject>($"/models/{model}/versions/{version}");
        Assert.Equal(model, trained!["lineage"]!["dataset"]!.GetValue<string>());

        // Row for row, the answers /predict gives for the same records.
        var rows = (await Platform.Feature.GetFromJsonAsync<JsonObject>(
            $"/datasets/{model}-predictions/versions/{Int(job, "outputVersion")}/rows?limit=150"))!["rows"]!.AsArray();
        var iris = PlatformSteps.IrisRows();
        var answers = (await Platform.PredictAsync(model, iris.Select(row => row.Record), $"?version={version}").AssertJsonAsync())["predictions"]!.AsArray();
        for (var r = 0; r < iris.Count; r++)
        {
            Assert.Equal(iris[r].Species, rows[r]!["species"]!.GetValue<string>());
            Assert.Equal((double)iris[r].Record["petal_width"], rows[r]!["petal_width"]!.GetValue<double>());
            Assert.Equal(answers[r]!["label"]!.GetValue<string>(), rows[r]!["prediction"]!.GetValue<string>());
            foreach (var label in classes)
            {
                Assert.Equal(answers[r]!["scores"]![label]!.GetValue<double>(), rows[r]![$"score_{label}"]!.GetValue<double>(), 1e-6);
            }
        }

        // The job's record: done in one attempt, its history, and who asked.
        Assert.Single(job["attempts"]!.AsArray());
        Assert.Equal(["queued", "running", "succeeded"], job["history"]!.AsArray().Select(change => change!["status"]!.GetValue<string>()));
        Assert.Contains(
            (await Platform.Training.GetFromJsonAsync<JsonArray>($"/batch-predictions?model={model}"))!,
            listed => listed!["id"]!.GetValue<string>() == job["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnOnnxModelScoresADatasetAsItServes()
    {
        var model = PlatformSteps.UniqueName("batch-onnx");
        var registered = await Platform.RegisterGraphAsync(model, "linear-regression.onnx", new
        {
            format = "onnx",
            lineage = new { dataset = model, datasetVersion = 1 },
            onnx = new { columns = new Dictionary<string, string[]> { ["float_input"] = ["area", "rooms", "age"] } },
        }).AssertJsonAsync(HttpStatusCode.Created);
        var inputs = registered["signature"]!["inputs"]!.AsArray().Select(input => input!["name"]!.GetValue<string>()).ToList();
        var csv = string.Join(',', inputs) + "\n"
            + string.Join('\n', Enumerable.Range(0, 50).Select(row => string.Join(',', inputs.Select((_, c) => row + c))));
        await Platform.UploadCsvAsync(model, csv).AssertStatusAsync(HttpStatusCode.Created);

        var submitted = await SubmitAsync(new { model, version = 1, dataset = model, output = $"{model}-scored" }).AssertJsonAsync(HttpStatusCode.Accepted);
        var job = await Platform.WaitForJobAsync(submitted["id"]!.GetValue<string>(), "batch-predictions");
        Platform.AssertJobStatus(job, "succeeded");

        var rows = (await Platform.Feature.GetFromJsonAsync<JsonObject>($"/datasets/{model}-scored/versions/1/rows?limit=50"))!["rows"]!.AsArray();
        var records = Enumerable.Range(0, 50)
            .Select(row => inputs.Select((input, c) => (input, value: (double)(row + c))).ToDictionary(p => p.input, p => (object)p.value));
        var answers = (await Platform.PredictAsync(model, records, "?version=1").AssertJsonAsync())["predictions"]!.AsArray();
        Assert.Equal(answers.Select(answer => answer!["value"]!.GetValue<double>()), rows.Select(row => row!["prediction"]!.GetValue<double>()));
    }

    [Fact]
    public async Task ARequestThatCannotBeScoredIsRefusedNamingItsFieldAndQueuesNothing()
    {
        var model = await Platform.ProductionIrisAsync();
        var unrelated = PlatformSteps.UniqueName("unrelated");
        await Platform.UploadCsvAsync(unrelated, "sepal_length,colour\n5.1,red\n4.9,blue\n").AssertStatusAsync(HttpStatusCode.Created);

        async Task Refused(object request, string field, string message)
        {
            var problem = await SubmitAsync(request).AssertJsonAsync(HttpStatusCode.BadRequest);
            Assert.Contains(message, problem["errors"]![field]![0]!.GetValue<string>());
        }

        await Refused(new { model, version = 99, dataset = model }, "version", "has no version 99");
        await Refused(new { model, alias = "staging", dataset = model }, "alias", "has no alias 'staging'");
        await Refused(new { model, dataset = model }, "version", "one of the two");
        await Refused(new { model, version = 1, alias = "production", dataset = model }, "version", "one of the two");
        await Refused(new { model, version = 1, dataset = "no-such-dataset" }, "dataset", "does not exist");
        await Refused(new { model, version = 1, dataset = model, datasetVersion = 7 }, "datasetVersion", "does not exist");
        await Refused(new { model, version = 1, dataset = unrelated }, "dataset", "has no column 'petal_length'");
        await Refused(new { model, version = 1, dataset = model, output = model }, "output", "another dataset");

        Assert.Empty((await Platform.Training.GetFromJsonAsync<JsonArray>($"/batch-predictions?model={model}"))!);
    }

    [Fact]
    public async Task OnlyTheTrainingServiceStoresAJobsPredictions()
    {
        var dataset = PlatformSteps.UniqueName("claimed");
        using var form = new MultipartFormDataContent
        {
            {
                JsonContent.Create(new
                {
                    columns = new[] { new { name = "x", type = "numeric" } },
                    predictions = new { dataset = "d", datasetVersion = 1, model = "m", modelVersion = 1, jobId = Guid.NewGuid() },
                }),
                "metadata"
            },
            { new ByteArrayContent([1, 2, 3]), "data", "data.parquet" },
        };

        var refused = await Platform.Feature.PostAsync($"/datasets/{dataset}/versions", form);

        await refused.AssertStatusAsync(HttpStatusCode.Forbidden);
        await Platform.Feature.GetAsync($"/datasets/{dataset}").AssertStatusAsync(HttpStatusCode.NotFound);
    }

    private Task<HttpResponseMessage> SubmitAsync(object request) => Platform.Training.PostAsJsonAsync("/batch-predictions", request);

    private static int Int(JsonNode node, string property) => node[property]!.GetValue<int>();
}
