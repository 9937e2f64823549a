using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace ModelPlatform.IntegrationTests;

/// <summary>Bad CSV, bad jobs and bad records: each refused with a problem that names it, and nothing stored.</summary>
public class BadInputTests(PlatformFixture platform) : PlatformTest(platform)
{
    [Fact]
    public async Task RaggedCsvIsRejectedNamingTheLineAndStoresNothing()
    {
        var dataset = PlatformSteps.UniqueName("ragged");

        using var response = await Platform.UploadCsvAsync(dataset, "a,b,label\n1,2,x\n3,4,y\n5,6\n");

        var problem = await response.AssertJsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Line 4", problem["errors"]!["line 4"]![0]!.GetValue<string>());
        await Platform.Feature.GetAsync($"/datasets/{dataset}").AssertStatusAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task BinaryBytesAreRefusedAsNotTextAndStoreNothing()
    {
        var dataset = PlatformSteps.UniqueName("png");
        var bytes = new byte[4096];
        new Random(7).NextBytes(bytes);
        using var content = new ByteArrayContent([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, .. bytes]);
        content.Headers.ContentType = new("text/csv");

        using var response = await Platform.Feature.PostAsync($"/datasets/{dataset}/versions", content);

        var problem = await response.AssertJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("not text", problem["detail"]!.GetValue<string>());
        await Platform.Feature.GetAsync($"/datasets/{dataset}").AssertStatusAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task TabSeparatedUploadIsReadByItsTabsAndSaysSo()
    {
        using var response = await Platform.UploadCsvAsync(PlatformSteps.UniqueName("tsv"), "a\tb\tlabel\n1\t2\tx\n3\t4\ty\n");

        var version = await response.AssertJsonAsync(HttpStatusCode.Created);
        Assert.Equal("\t", version["delimiter"]!.GetValue<string>());
        Assert.Equal(["a", "b", "label"], version["columns"]!.AsArray().Select(column => column!["name"]!.GetValue<string>()));
    }

    [Fact]
    public async Task AnArtifactThatIsNotAModelIsRefusedAndRegistersNothing()
    {
        var model = PlatformSteps.UniqueName("notamodel");
        using var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        {
            await using var entry = archive.CreateEntry("notes.txt").Open();
            await entry.WriteAsync("not a model"u8.ToArray());
        }

        using var response = await Platform.RegisterArtifactAsync(model, zip.ToArray());

        var problem = await response.AssertJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("not a model ML.NET can load", problem["errors"]!["artifact"]![0]!.GetValue<string>());
        await Platform.Registry.GetAsync($"/models/{model}").AssertStatusAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task UploadThatIsNotCsvIsRejected()
    {
        using var response = await Platform.Feature.PostAsync(
            $"/datasets/{PlatformSteps.UniqueName("json")}/versions", new StringContent("{}", Encoding.UTF8, "application/json"));

        await response.AssertStatusAsync(HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task DatasetNameWithPathCharactersIsRejected()
    {
        using var response = await Platform.UploadCsvAsync("bad%20name", "a,b\n1,2\n");

        var problem = await response.AssertJsonAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["name"]);
    }

    [Fact]
    public async Task JobForAColumnTheDatasetLacksIsRejectedAtSubmission()
    {
        var dataset = await Platform.UploadIrisAsync("iris");

        using var response = await Platform.Training.PostAsJsonAsync("/training-jobs",
            new { modelName = dataset, dataset, label = "colour", task = "multiclass" });

        var problem = await response.AssertJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("'colour' is not a column", problem["errors"]!["label"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task JobWithAValueOfTheWrongTypeNamesTheField()
    {
        using var response = await Platform.Training.PostAsync("/training-jobs", new StringContent(
            """{"modelName":"m","dataset":"d","label":"y","task":"sorting"}""", Encoding.UTF8, "application/json"));

        var problem = await response.AssertJsonAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["task"]);
        Assert.DoesNotContain("ModelPlatform", problem.ToJsonString());
    }

    [Fact]
    public async Task JobForAMissingDatasetIsRejectedAtSubmission()
    {
        using var response = await Platform.Training.PostAsJsonAsync("/training-jobs",
            new { modelName = "m", dataset = PlatformSteps.UniqueName("none"), label = "y", task = "regression" });

        var problem = await response.AssertJsonAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["dataset"]);
    }

    [Fact]
    public async Task JobThatCannotTrainFailsWithTheReasonAndRegistersNothing()
    {
        var dataset = await Platform.UploadIrisAsync("iris");
        var model = PlatformSteps.UniqueName("model");

        var submitted = await Platform.SubmitJobAsync(new { modelName = model, dataset, label = "species", task = "binary" });
        var job = await Platform.WaitForJobAsync(submitted["id"]!.GetValue<string>());

        Platform.AssertJobStatus(job, "failed");
        Assert.Contains("exactly 2 label values, found 3", job["error"]!.GetValue<string>());
        await Platform.Registry.GetAsync($"/models/{model}").AssertStatusAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task RecordsThatDoNotMatchTheSignatureGetEveryProblemListed()
    {
        var model = await Platform.ProductionIrisAsync();

        using var response = await Platform.PredictAsync(model,
        [
            new { sepal_length = "long", sepal_width = 3.5, petal_length = 1.4, petal_width = 0.2 },
            new { sepal_length = 5.1, sepal_width = 3.5, petal_length = 1.4 },
        ]);

        var errors = (await response.AssertJsonAsync(HttpStatusCode.BadRequest))["errors"]!.AsObject();
        Assert.Contains("expected a number", errors["records[0].sepal_length"]![0]!.GetValue<string>());
        Assert.Contains("is missing", errors["records[1].petal_width"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task EmptyRecordsAreRejected()
    {
        var model = await Platform.ProductionIrisAsync();

        using var response = await Platform.PredictAsync(model, []);

        await response.AssertStatusAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task UnknownModelAliasAndVersionAreNotFound()
    {
        var model = await Platform.ProductionIrisAsync();
        var record = new[] { PlatformSteps.IrisRows()[0].Record };

        using var unknownModel = await Platform.PredictAsync(PlatformSteps.UniqueName("nope"), record);
        using var unknownAlias = await Platform.PredictAsync(model, record, "?alias=staging");
        using var unknownVersion = await Platform.PredictAsync(model, record, "?version=99");

        await unknownModel.AssertStatusAsync(HttpStatusCode.NotFound);
        await unknownAlias.AssertStatusAsync(HttpStatusCode.NotFound);
        await unknownVersion.AssertStatusAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AliasCannotPointAtAVersionThatDoesNotExist()
    {
        var model = await Platform.ProductionIrisAsync();

        using var response = await Platform.SetAliasAsync(model, "production", 42);

        await response.AssertStatusAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task OversizedPredictBodyIsRejectedWith413()
    {
        var model = await Platform.ProductionIrisAsync();
        var huge = new string(' ', PlatformFixture.MaxJsonBytes + 1);

        // Expect: 100-continue lets the server refuse before the body is sent, as a well-behaved client would.
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/models/{model}/predict")
        {
            Content = new StringContent("{\"records\":[]" + huge + "}", Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;
        using var response = await Platform.Inference.SendAsync(request);

        await response.AssertStatusAsync(HttpStatusCode.RequestEntityTooLarge);
    }
}
