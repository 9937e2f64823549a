using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace ModelPlatform.IntegrationTests;

[Collection(PlatformCollection.Name)]
public class BadInputTests(PlatformFixture platform) : IAsyncLifetime
{
    // An earlier test may have stopped a server or service; each test starts from a running platform.
    public Task InitializeAsync() => platform.EnsureEverythingRunsAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task RaggedCsvIsRejectedNamingTheLineAndStoresNothing()
    {
        var dataset = PlatformSteps.UniqueName("ragged");

        using var response = await platform.UploadCsvAsync(dataset, "a,b,label\n1,2,x\n3,4,y\n5,6\n");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Contains("Line 4", problem["errors"]!["line 4"]![0]!.GetValue<string>());
        using var lookup = await platform.Feature.GetAsync($"/datasets/{dataset}");
        Assert.Equal(HttpStatusCode.NotFound, lookup.StatusCode);
    }

    [Fact]
    public async Task UploadThatIsNotCsvIsRejected()
    {
        using var response = await platform.Feature.PostAsync(
            $"/datasets/{PlatformSteps.UniqueName("json")}/versions", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task DatasetNameWithPathCharactersIsRejected()
    {
        using var response = await platform.UploadCsvAsync("bad%20name", "a,b\n1,2\n");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull((await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!["name"]);
    }

    [Fact]
    public async Task JobForAColumnTheDatasetLacksIsRejectedAtSubmission()
    {
        var dataset = PlatformSteps.UniqueName("iris");
        (await platform.UploadCsvAsync(dataset, PlatformSteps.IrisCsv())).EnsureSuccessStatusCode();

        using var response = await platform.Training.PostAsJsonAsync("/training-jobs",
            new { modelName = dataset, dataset, label = "colour", task = "multiclass" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Contains("'colour' is not a column", problem["errors"]!["label"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task JobWithAValueOfTheWrongTypeNamesTheField()
    {
        using var response = await platform.Training.PostAsync("/training-jobs",
            new StringContent("{\"modelName\":\"m\",\"dataset\":\"d\",\"label\":\"y\",\"task\":\"sorting\"}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.NotNull(problem["errors"]!["task"]);
        Assert.DoesNotContain("ModelPlatform", problem.ToJsonString());
    }

    [Fact]
    public async Task JobForAMissingDatasetIsRejectedAtSubmission()
    {
        using var response = await platform.Training.PostAsJsonAsync("/training-jobs",
            new { modelName = "m", dataset = PlatformSteps.UniqueName("none"), label = "y", task = "regression" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull((await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!["dataset"]);
    }

    [Fact]
    public async Task JobThatCannotTrainFailsWithTheReasonAndRegistersNothing()
    {
        var dataset = PlatformSteps.UniqueName("iris");
        var model = PlatformSteps.UniqueName("model");
        (await platform.UploadCsvAsync(dataset, PlatformSteps.IrisCsv())).EnsureSuccessStatusCode();

        var submitted = await platform.SubmitJobAsync(new { modelName = model, dataset, label = "species", task = "binary" });
        var job = await platform.WaitForJobAsync(submitted["id"]!.GetValue<string>());

        Assert.Equal("failed", job["status"]!.GetValue<string>());
        Assert.Contains("exactly 2 label values, found 3", job["error"]!.GetValue<string>());
        using var lookup = await platform.Registry.GetAsync($"/models/{model}");
        Assert.Equal(HttpStatusCode.NotFound, lookup.StatusCode);
    }

    [Fact]
    public async Task RecordsThatDoNotMatchTheSignatureGetEveryProblemListed()
    {
        var model = await ProductionIrisAsync();

        using var response = await platform.PredictAsync(model,
        [
            new { sepal_length = "long", sepal_width = 3.5, petal_length = 1.4, petal_width = 0.2 },
            new { sepal_length = 5.1, sepal_width = 3.5, petal_length = 1.4 },
        ]);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject();
        Assert.Contains("expected a number", errors["records[0].sepal_length"]![0]!.GetValue<string>());
        Assert.Contains("is missing", errors["records[1].petal_width"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task EmptyRecordsAreRejected()
    {
        var model = await ProductionIrisAsync();

        using var response = await platform.PredictAsync(model, []);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task UnknownModelAliasAndVersionAreNotFound()
    {
        var model = await ProductionIrisAsync();
        var record = new[] { PlatformSteps.IrisRows()[0].Record };

        using var unknownModel = await platform.PredictAsync(PlatformSteps.UniqueName("nope"), record);
        using var unknownAlias = await platform.PredictAsync(model, record, "?alias=staging");
        using var unknownVersion = await platform.PredictAsync(model, record, "?version=99");

        Assert.Equal(HttpStatusCode.NotFound, unknownModel.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownAlias.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownVersion.StatusCode);
    }

    [Fact]
    public async Task AliasCannotPointAtAVersionThatDoesNotExist()
    {
        var model = await ProductionIrisAsync();

        using var response = await platform.SetAliasAsync(model, "production", 42);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task OversizedPredictBodyIsRejectedWith413()
    {
        var model = await ProductionIrisAsync();
        var huge = new string(' ', PlatformFixture.MaxJsonBytes + 1);

        // Expect: 100-continue lets the server refuse before the body is sent, as a well-behaved client would.
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/models/{model}/predict")
        {
            Content = new StringContent("{\"records\":[]" + huge + "}", Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;
        using var response = await platform.Inference.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    private string? _irisModel;

    private async Task<string> ProductionIrisAsync()
    {
        if (_irisModel is not null)
        {
            return _irisModel;
        }

        var dataset = PlatformSteps.UniqueName("iris");
        (await platform.UploadCsvAsync(dataset, PlatformSteps.IrisCsv())).EnsureSuccessStatusCode();
        var job = await platform.TrainAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass" });
        (await platform.SetAliasAsync(dataset, "production", job["modelVersion"]!.GetValue<int>())).EnsureSuccessStatusCode();
        return _irisModel = dataset;
    }
}
