using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using StackExchange.Redis;

namespace ModelPlatform.IntegrationTests;

/// <summary>The inference service as a product sees it: both protocols, CSV files, canaries, shadows, caching and hot swaps.</summary>
[Collection(PlatformCollection.Name)]
public class InferenceTests(PlatformFixture platform) : IAsyncLifetime
{
    private static readonly string[] IrisColumns = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

    public Task InitializeAsync() => platform.EnsureEverythingRunsAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task OpenInferenceProtocolServesTheProductionModelAsTheSpecDescribes()
    {
        var (model, versions) = await IrisVersionsAsync("oip", 1);
        await PromoteAsync(model, new { version = versions[0] });

        OpenInferenceSpec.AssertMatches("metadata_server_response", await GetJsonAsync("/v2"));
        Assert.Equal(HttpStatusCode.OK, (await platform.Inference.GetAsync("/v2/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await platform.Inference.GetAsync("/v2/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await platform.Inference.GetAsync($"/v2/models/{model}/ready")).StatusCode);

        foreach (var path in new[] { $"/v2/models/{model}", $"/v2/models/{model}/versions/{versions[0]}" })
        {
            var metadata = await GetJsonAsync(path);
            OpenInferenceSpec.AssertMatches("metadata_model_response", metadata);
            Assert.Equal(model, metadata["name"]!.GetValue<string>());
            Assert.Equal([versions[0].ToString()], metadata["versions"]!.AsArray().Select(v => v!.GetValue<string>()));
            Assert.Equal(IrisColumns, metadata["inputs"]!.AsArray().Select(input => input!["name"]!.GetValue<string>()));
            Assert.All(metadata["inputs"]!.AsArray(), input => Assert.Equal("FP32", input!["datatype"]!.GetValue<string>()));
            Assert.Equal(["label", "scores"], metadata["outputs"]!.AsArray().Select(output => output!["name"]!.GetValue<string>()));
            Assert.Equal("[-1,3]", metadata["outputs"]![1]!["shape"]!.ToJsonString());
        }

        var rows = PlatformSteps.IrisRows().Where((_, i) => i % 50 == 0).ToList();
        using var friendly = await platform.PredictAsync(model, rows.Select(row => row.Record));
        var expected = (await friendly.Content.ReadFromJsonAsync<JsonObject>())!["predictions"]!.AsArray().Select(p => p!["label"]!.GetValue<string>()).ToList();

        // Columns as a KServe or Triton client sends them: flat or [rows, 1], FP32 or FP64.
        var request = new JsonObject
        {
            ["id"] = "request-42",
            ["inputs"] = new JsonArray(
                Tensor("sepal_length", "FP32", [rows.Count], rows.Select(row => (JsonNode)(double)row.Record["sepal_length"])),
                Tensor("sepal_width", "FP64", [rows.Count], rows.Select(row => (JsonNode)(double)row.Record["sepal_width"])),
                Tensor("petal_length", "FP32", [rows.Count, 1], rows.Select(row => (JsonNode)new JsonArray((double)row.Record["petal_length"]))),
                Tensor("petal_width", "FP32", [rows.Count, 1], rows.Select(row => (JsonNode)(double)row.Record["petal_width"]))),
        };
        var (status, response) = await InferAsync($"/v2/models/{model}/infer", request);

        Assert.Equal(HttpStatusCode.OK, status);
        OpenInferenceSpec.AssertMatches("inference_response", response);
        Assert.Equal(model, response["model_name"]!.GetValue<string>());
        Assert.Equal(versions[0].ToString(), response["model_version"]!.GetValue<string>());
        Assert.Equal("request-42", response["id"]!.GetValue<string>());
        var label = response["outputs"]!.AsArray().Single(output => output!["name"]!.GetValue<string>() == "label")!;
        Assert.Equal("BYTES", label["datatype"]!.GetValue<string>());
        Assert.Equal(expected, label["data"]!.AsArray().Select(value => value!.GetValue<string>()));
        var scores = response["outputs"]!.AsArray().Single(output => output!["name"]!.GetValue<string>() == "scores")!;
        Assert.Equal($"[{rows.Count},3]", scores["shape"]!.ToJsonString());
        Assert.Equal(rows.Count * 3, scores["data"]!.AsArray().Count);

        request["outputs"] = new JsonArray(new JsonObject { ["name"] = "label" });
        var (versionStatus, onlyLabel) = await InferAsync($"/v2/models/{model}/versions/{versions[0]}/infer", request);
        Assert.Equal(HttpStatusCode.OK, versionStatus);
        Assert.Equal(["label"], onlyLabel["outputs"]!.AsArray().Select(output => output!["name"]!.GetValue<string>()));
    }

    [Fact]
    public async Task OpenInferenceProtocolRejectsBadInputWithAnErrorNamingIt()
    {
        var (model, versions) = await IrisVersionsAsync("oipbad", 1);
        await PromoteAsync(model, new { version = versions[0] });
        var infer = $"/v2/models/{model}/infer";

        await AssertErrorAsync(infer, IrisRequest(("sepal_length", "BYTES", [1], [JsonValue.Create("long")])), HttpStatusCode.BadRequest, "'sepal_length'", "BYTES");
        await AssertErrorAsync(infer, IrisRequest(("sepal_width", "FP32", [2], [3.5, 3.0, 3.1])), HttpStatusCode.BadRequest, "'sepal_width'");
        await AssertErrorAsync(infer, IrisRequest(("sepal_width", "FP32", [2, 2], [3.5, 3.0, 3.1, 3.2])), HttpStatusCode.BadRequest, "'sepal_width'", "shape");
        await AssertErrorAsync(infer, IrisRequest(("petal_width", "FP32", [1], [JsonValue.Create("NaN")])), HttpStatusCode.BadRequest, "'petal_width'", "NaN");
        await AssertErrorAsync(infer, IrisRequest(("petal_length", null, [], [])), HttpStatusCode.BadRequest, "'petal_length'", "missing");
        var tooMany = PlatformFixture.MaxRecordsPerRequest + 1;
        await AssertErrorAsync(infer, new JsonObject
        {
            ["inputs"] = new JsonArray([.. IrisColumns.Select(column => Tensor(column, "FP32", [tooMany], Enumerable.Range(0, tooMany).Select(_ => (JsonNode)1.0)))]),
        }, HttpStatusCode.BadRequest, $"at most {PlatformFixture.MaxRecordsPerRequest}");
        await AssertErrorAsync($"/v2/models/{PlatformSteps.UniqueName("nope")}/infer", IrisRequest(), HttpStatusCode.NotFound, "nope");
        await AssertErrorAsync($"/v2/models/{model}/versions/99/infer", IrisRequest(), HttpStatusCode.NotFound, "99");

        // NaN as Python's json.dumps writes it is not JSON at all.
        using var bareNaN = await platform.Inference.PostAsync(infer, new StringContent(
            IrisRequest().ToJsonString().Replace("5.1", "NaN"), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bareNaN.StatusCode);
        Assert.Contains("NaN", (await bareNaN.Content.ReadFromJsonAsync<JsonObject>())!["error"]!.GetValue<string>());

        using var oversized = new HttpRequestMessage(HttpMethod.Post, infer)
        {
            Content = new StringContent("{\"inputs\":[]" + new string(' ', PlatformFixture.MaxJsonBytes + 1) + "}", Encoding.UTF8, "application/json"),
        };
        oversized.Headers.ExpectContinue = true;
        using var tooLarge = await platform.Inference.SendAsync(oversized);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        OpenInferenceSpec.AssertMatches("inference_error_response", await tooLarge.Content.ReadFromJsonAsync<JsonObject>());
    }

    [Fact]
    public async Task PredictRejectsNaNAndMoreRecordsThanTheLimit()
    {
        var (model, versions) = await IrisVersionsAsync("limits", 1);
        var record = PlatformSteps.IrisRows()[0].Record;

        using var nan = await platform.PredictAsync(model, [new Dictionary<string, object>(record) { ["petal_width"] = "NaN" }], $"?version={versions[0]}");
        using var tooMany = await platform.PredictAsync(model, Enumerable.Repeat(record, PlatformFixture.MaxRecordsPerRequest + 1), $"?version={versions[0]}");

        Assert.Equal(HttpStatusCode.BadRequest, nan.StatusCode);
        Assert.Contains("NaN", (await nan.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!["records[0].petal_width"]![0]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.Contains($"at most {PlatformFixture.MaxRecordsPerRequest}", (await tooMany.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!["records"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task CsvFilesAreScoredAsAStreamInCsvOrJsonLines()
    {
        var (model, versions) = await IrisVersionsAsync("csv", 1);
        await PromoteAsync(model, new { version = versions[0] });
        var rows = PlatformSteps.IrisRows();
        // Columns in another order, plus one the model does not take: matched by the header's names.
        var csv = new StringBuilder("id,petal_width,petal_length,sepal_width,sepal_length\n");
        for (var repeat = 0; repeat < 20; repeat++)
        {
            foreach (var (record, _) in rows)
            {
                csv.Append($"{repeat},{record["petal_width"]},{record["petal_length"]},{record["sepal_width"]},{record["sepal_length"]}\n");
            }
        }

        using var asCsv = await PostCsvAsync(model, csv.ToString(), "text/csv");
        Assert.Equal(HttpStatusCode.OK, asCsv.StatusCode);
        Assert.Equal(versions[0].ToString(), asCsv.Headers.GetValues("X-Model-Version").Single());
        // RFC 4180 lines end with CRLF.
        var lines = (await asCsv.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("label,score_setosa,score_versicolor,score_virginica", lines[0]);
        Assert.Equal(rows.Count * 20, lines.Length - 1);
        using var friendly = await platform.PredictAsync(model, rows.Select(row => row.Record));
        var expected = (await friendly.Content.ReadFromJsonAsync<JsonObject>())!["predictions"]!.AsArray().Select(p => p!["label"]!.GetValue<string>()).ToList();
        Assert.Equal(expected, lines.Skip(1).Take(rows.Count).Select(line => line.Split(',')[0]));

        using var asJsonLines = await PostCsvAsync(model, csv.ToString(), "application/x-ndjson");
        Assert.Equal("application/x-ndjson", asJsonLines.Content.Headers.ContentType!.MediaType);
        var jsonLines = (await asJsonLines.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(rows.Count * 20, jsonLines.Length);
        Assert.Equal(expected[0], JsonNode.Parse(jsonLines[0])!["label"]!.GetValue<string>());
    }

    [Fact]
    public async Task BadCsvGetsA400NamingTheLineAndNothingIsScored()
    {
        var (model, versions) = await IrisVersionsAsync("csvbad", 1);
        await PromoteAsync(model, new { version = versions[0] });

        using var badCell = await PostCsvAsync(model, "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n4.9,wide,1.4,0.2\n", "text/csv");
        using var missingColumn = await PostCsvAsync(model, "sepal_length,sepal_width,petal_length\n5.1,3.5,1.4\n", "text/csv");
        using var ragged = await PostCsvAsync(model, "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4\n", "text/csv");

        Assert.Equal(HttpStatusCode.BadRequest, badCell.StatusCode);
        Assert.Contains("expected a number", (await badCell.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!["line 3.sepal_width"]![0]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, missingColumn.StatusCode);
        Assert.NotNull((await missingColumn.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!["header.petal_width"]);
        Assert.Equal(HttpStatusCode.BadRequest, ragged.StatusCode);
        Assert.NotNull((await ragged.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!["line 2"]);
    }

    [Fact]
    public async Task CanaryTrafficSplitsByWeightAndStaysStickyByKey()
    {
        var (model, versions) = await IrisVersionsAsync("canary", 2);
        await PromoteAsync(model, new { version = versions[0] });
        using var badPercent = await platform.Registry.PutAsJsonAsync($"/models/{model}/aliases/production", new { version = versions[0], canary = new { version = versions[1], percent = 0 } });
        Assert.Equal(HttpStatusCode.BadRequest, badPercent.StatusCode);
        Assert.NotNull((await badPercent.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!["canary.percent"]);

        await PromoteAsync(model, new { version = versions[0], canary = new { version = versions[1], percent = 50 } });
        var alias = (await platform.Registry.GetFromJsonAsync<JsonObject>($"/models/{model}/aliases/production"))!;
        Assert.Equal(50, alias["canary"]!["percent"]!.GetValue<int>());

        // The split arrives by event; until then every answer is the main version.
        var seen = new HashSet<int>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (seen.Count < 2 && DateTime.UtcNow < deadline)
        {
            seen.Add(await AnsweringVersionAsync(model, key: null));
        }

        Assert.Equal(versions.ToHashSet(), seen);
        foreach (var key in new[] { "customer-1", "customer-2", "customer-3", "customer-4" })
        {
            var first = await AnsweringVersionAsync(model, key);
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(first, await AnsweringVersionAsync(model, key));
            }

            // The Open Inference Protocol takes the key as a request parameter and lands on the same side.
            var request = IrisRequest();
            request["parameters"] = new JsonObject { ["routing_key"] = key };
            var (_, response) = await InferAsync($"/v2/models/{model}/infer", request);
            Assert.Equal(first.ToString(), response["model_version"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task ShadowVersionScoresACopyOfTrafficButNeverAnswers()
    {
        // Two versions from the same deterministic trainer: how well two different trainers agree is not what is tested.
        var (model, versions) = await IrisVersionsAsync("shadow", 2, "LbfgsMaximumEntropy");
        await PromoteAsync(model, new { version = versions[0], shadow = versions[1] });
        var records = PlatformSteps.IrisRows().Select(row => row.Record).ToList();

        // Wait for the event, then send the same traffic a few times.
        JsonNode? comparison = null;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (comparison?["rows"]?.GetValue<long>() is not >= 300 && DateTime.UtcNow < deadline)
        {
            Assert.Equal(versions[0], await AnsweringVersionAsync(model, key: null, records));
            var comparisons = (await platform.Inference.GetFromJsonAsync<JsonArray>($"/models/{model}/shadow"))!;
            comparison = comparisons.SingleOrDefault();
        }

        Assert.NotNull(comparison);
        Assert.Equal(versions[0], comparison["answeredVersion"]!.GetValue<int>());
        Assert.Equal(versions[1], comparison["shadowVersion"]!.GetValue<int>());
        Assert.True(comparison["rows"]!.GetValue<long>() >= 300, comparison.ToJsonString());
        Assert.InRange(comparison["agreement"]!.GetValue<double>(), 0.8, 1.0);
    }

    [Fact]
    public async Task PredictionsAreCachedInRedisForModelsThatOptIn()
    {
        var (other, otherVersions) = await IrisVersionsAsync("uncached", 1);
        var dataset = PlatformSteps.UniqueName("cache");
        (await platform.UploadCsvAsync(dataset, PlatformSteps.IrisCsv())).EnsureSuccessStatusCode();
        var version = (await platform.TrainAsync(new { modelName = PlatformFixture.CachedModel, dataset, label = "species", task = "multiclass" }))["modelVersion"]!.GetValue<int>();
        var query = $"?version={version}";

        // The same record written two ways is one cache entry.
        using var first = await platform.Inference.PostAsync($"/models/{PlatformFixture.CachedModel}/predict{query}", new StringContent(
            """{"records":[{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}]}""", Encoding.UTF8, "application/json"));
        using var second = await platform.Inference.PostAsync($"/models/{PlatformFixture.CachedModel}/predict{query}", new StringContent(
            """{"records":[{ "petal_width": 0.20, "petal_length": 1.4, "sepal_width": 3.5, "sepal_length": 5.10 }]}""", Encoding.UTF8, "application/json"));
        using var otherResponse = await platform.PredictAsync(other, [PlatformSteps.IrisRows()[0].Record], $"?version={otherVersions[0]}");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(
            (await first.Content.ReadFromJsonAsync<JsonObject>())!["predictions"]!.ToJsonString(),
            (await second.Content.ReadFromJsonAsync<JsonObject>())!["predictions"]!.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, otherResponse.StatusCode);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(await platform.ConnectionStringAsync("redis"));
        var server = redis.GetServers().Single();
        var keys = server.Keys(pattern: $"modelplatform:inference:prediction:{PlatformFixture.CachedModel}:{version}:*").ToList();
        Assert.Single(keys);
        Assert.True((await redis.GetDatabase().KeyTimeToLiveAsync(keys[0])) > TimeSpan.FromSeconds(500));
        Assert.Empty(server.Keys(pattern: $"modelplatform:inference:prediction:{other}:*"));
    }

    [Fact]
    public async Task WithRedisDownPredictionsContinueAndHealthIsDegraded()
    {
        var (model, versions) = await IrisVersionsAsync("noredis", 1);
        await PromoteAsync(model, new { version = versions[0] });
        var record = PlatformSteps.IrisRows()[0].Record;

        var (status, health) = await platform.WhileStoppedAsync("redis", async () =>
        {
            using var predicted = await platform.PredictAsync(model, [record]);
            using var byVersion = await platform.PredictAsync(model, [record], $"?version={versions[0]}");
            Assert.Equal(HttpStatusCode.OK, predicted.StatusCode);
            Assert.Equal(HttpStatusCode.OK, byVersion.StatusCode);
            using var response = await platform.Inference.GetAsync("/health");
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Degraded", health);
    }

    [Fact]
    public async Task PromotionUnderSteadyLoadFailsNoRequestAndSwitchesOnce()
    {
        var (model, versions) = await IrisVersionsAsync("hotswap", 2);
        await PromoteAsync(model, new { version = versions[0] });
        var records = PlatformSteps.IrisRows().Take(5).Select(row => row.Record).ToList();
        using var stop = new CancellationTokenSource();
        var newVersionSince = DateTime.MaxValue;

        // Four callers, each sending requests back to back, through both protocols.
        var callers = Enumerable.Range(0, 4).Select(caller => Task.Run(async () =>
        {
            var answers = new List<(HttpStatusCode Status, int Version)>();
            while (!stop.IsCancellationRequested)
            {
                if (caller % 2 == 0)
                {
                    using var response = await platform.PredictAsync(model, records);
                    var body = response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonObject>() : null;
                    answers.Add((response.StatusCode, body?["version"]!.GetValue<int>() ?? 0));
                }
                else
                {
                    var (status, body) = await InferAsync($"/v2/models/{model}/infer", IrisRequest());
                    answers.Add((status, int.Parse(body["model_version"]?.GetValue<string>() ?? "0")));
                }
            }

            return answers;
        })).ToList();

        await Task.Delay(TimeSpan.FromSeconds(2));
        await PromoteAsync(model, new { version = versions[1] });
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && await AnsweringVersionAsync(model, key: null) != versions[1])
        {
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        await stop.CancelAsync();
        var all = await Task.WhenAll(callers);

        Assert.All(all.SelectMany(answers => answers), answer => Assert.Equal(HttpStatusCode.OK, answer.Status));
        foreach (var answers in all)
        {
            // Each caller sees the old version, then the new one, and never the old one again.
            var switchedAt = answers.FindIndex(answer => answer.Version == versions[1]);
            Assert.True(switchedAt > 0, $"caller never saw both versions: {string.Join(",", answers.Select(a => a.Version))}");
            Assert.All(answers.Take(switchedAt), answer => Assert.Equal(versions[0], answer.Version));
            Assert.All(answers.Skip(switchedAt), answer => Assert.Equal(versions[1], answer.Version));
        }
    }

    [Fact]
    public async Task AfterARestartProductionModelsAreLoadedBeforeTheServiceIsReady()
    {
        var (model, versions) = await IrisVersionsAsync("ready", 1);
        await PromoteAsync(model, new { version = versions[0] });

        await platform.WhileStoppedAsync("inference", () => Task.FromResult(0));

        // No request has asked for the model since the restart: it was loaded and warmed at start-up.
        using var modelReady = await platform.Inference.GetAsync($"/v2/models/{model}/ready");
        using var serverReady = await platform.Inference.GetAsync("/v2/health/ready");
        Assert.Equal(HttpStatusCode.OK, modelReady.StatusCode);
        Assert.Equal(HttpStatusCode.OK, serverReady.StatusCode);
        var notLoaded = PlatformSteps.UniqueName("never");
        Assert.Equal(HttpStatusCode.NotFound, (await platform.Inference.GetAsync($"/v2/models/{notLoaded}/ready")).StatusCode);
    }

    /// <summary>
    /// Uploads iris once and trains <paramref name="count"/> versions of a model on it, taking turns with
    /// <paramref name="trainers"/> (by default two different ones).
    /// </summary>
    private async Task<(string Model, List<int> Versions)> IrisVersionsAsync(string prefix, int count, params string[] trainers)
    {
        var model = PlatformSteps.UniqueName(prefix);
        (await platform.UploadCsvAsync(model, PlatformSteps.IrisCsv())).EnsureSuccessStatusCode();
        trainers = trainers is [] ? ["LbfgsMaximumEntropy", "SdcaMaximumEntropy"] : trainers;
        var versions = new List<int>();
        for (var i = 0; i < count; i++)
        {
            var job = await platform.TrainAsync(new { modelName = model, dataset = model, label = "species", task = "multiclass", trainer = trainers[i % trainers.Length] });
            versions.Add(job["modelVersion"]!.GetValue<int>());
        }

        return (model, versions);
    }

    private async Task PromoteAsync(string model, object route)
    {
        using var response = await platform.Registry.PutAsJsonAsync($"/models/{model}/aliases/production", route);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<int> AnsweringVersionAsync(string model, string? key, IEnumerable<object>? records = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/models/{model}/predict")
        {
            Content = JsonContent.Create(new { records = records ?? [PlatformSteps.IrisRows()[0].Record] }),
        };
        if (key is not null)
        {
            request.Headers.Add("X-Routing-Key", key);
        }

        using var response = await platform.Inference.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var version = (await response.Content.ReadFromJsonAsync<JsonObject>())!["version"]!.GetValue<int>();
        Assert.Equal(version.ToString(), response.Headers.GetValues("X-Model-Version").Single());
        return version;
    }

    private async Task<JsonObject> GetJsonAsync(string path) => (await platform.Inference.GetFromJsonAsync<JsonObject>(path))!;

    private async Task<(HttpStatusCode Status, JsonObject Body)> InferAsync(string path, JsonObject request)
    {
        using var response = await platform.Inference.PostAsync(path, new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json"));
        return (response.StatusCode, (await response.Content.ReadFromJsonAsync<JsonObject>())!);
    }

    private async Task AssertErrorAsync(string path, JsonObject request, HttpStatusCode status, params string[] mentions)
    {
        var (actual, body) = await InferAsync(path, request);
        Assert.Equal(status, actual);
        Assert.DoesNotContain("   at ", body.ToJsonString());
        OpenInferenceSpec.AssertMatches("inference_error_response", body);
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, body["error"]!.GetValue<string>());
        }
    }

    private Task<HttpResponseMessage> PostCsvAsync(string model, string csv, string accept)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/models/{model}/predict") { Content = new StringContent(csv, Encoding.UTF8, "text/csv") };
        request.Headers.Accept.ParseAdd(accept);
        return platform.Inference.SendAsync(request);
    }

    /// <summary>One iris row as column tensors, with <paramref name="replace"/> swapping one tensor (a null datatype removes it).</summary>
    private static JsonObject IrisRequest((string Name, string? Datatype, long[] Shape, JsonNode?[] Data)? replace = null)
    {
        var record = PlatformSteps.IrisRows()[0].Record;
        var inputs = new JsonArray();
        foreach (var column in IrisColumns)
        {
            if (replace?.Name != column)
            {
                inputs.Add(Tensor(column, "FP32", [1], [(double)record[column]]));
            }
            else if (replace.Value.Datatype is not null)
            {
                inputs.Add(Tensor(column, replace.Value.Datatype, replace.Value.Shape, replace.Value.Data));
            }
        }

        return new JsonObject { ["inputs"] = inputs };
    }

    private static JsonObject Tensor(string name, string datatype, long[] shape, IEnumerable<JsonNode?> data) => new()
    {
        ["name"] = name,
        ["datatype"] = datatype,
        ["shape"] = new JsonArray([.. shape.Select(dimension => (JsonNode)dimension)]),
        ["data"] = new JsonArray([.. data]),
    };
}
