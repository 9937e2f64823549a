using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ModelPlatform.Contracts;
using StackExchange.Redis;

namespace ModelPlatform.IntegrationTests;

/// <summary>The inference service as a product sees it: both protocols, CSV files, canaries, shadows, caching and hot swaps.</summary>
public class InferenceTests(PlatformFixture platform) : PlatformTest(platform)
{
    private static readonly string[] IrisColumns = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

    [Fact]
    public async Task OpenInferenceProtocolServesTheProductionModelAsTheSpecDescribes()
    {
        var (model, versions) = await IrisVersionsAsync("oip", 1);
        await Platform.PromoteAsync(model, new { version = versions[0] });

        // The promotion reaches the service by event, which loads and warms the version: ready (200) once it has.
        await Platform.WaitUntilAsync($"{model} to report ready after its promotion", async () =>
        {
            using var ready = await Platform.Inference.GetAsync($"/v2/models/{model}/ready");
            return $"{(int)ready.StatusCode} {await ready.Content.ReadAsStringAsync()}";
        }, ready => ready.StartsWith("200 ", StringComparison.Ordinal), PlatformSteps.EventTimeout, ["inference"]);
        OpenInferenceSpec.AssertMatches("metadata_server_response", await GetJsonAsync("/v2"));
        await Platform.Inference.GetAsync("/v2/health/live").AssertStatusAsync(HttpStatusCode.OK);
        await Platform.Inference.GetAsync("/v2/health/ready").AssertStatusAsync(HttpStatusCode.OK);

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
        var expected = Labels(await Platform.PredictAsync(model, rows.Select(row => row.Record)).AssertJsonAsync());

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
        var response = await InferAsync($"/v2/models/{model}/infer", request);

        OpenInferenceSpec.AssertMatches("inference_response", response);
        Assert.Equal(model, response["model_name"]!.GetValue<string>());
        Assert.Equal(versions[0].ToString(), response["model_version"]!.GetValue<string>());
        Assert.Equal("request-42", response["id"]!.GetValue<string>());
        var label = Output(response, "label");
        Assert.Equal("BYTES", label["datatype"]!.GetValue<string>());
        Assert.Equal(expected, label["data"]!.AsArray().Select(value => value!.GetValue<string>()));
        var scores = Output(response, "scores");
        Assert.Equal($"[{rows.Count},3]", scores["shape"]!.ToJsonString());
        Assert.Equal(rows.Count * 3, scores["data"]!.AsArray().Count);

        request["outputs"] = new JsonArray(new JsonObject { ["name"] = "label" });
        var onlyLabel = await InferAsync($"/v2/models/{model}/versions/{versions[0]}/infer", request);
        Assert.Equal(["label"], onlyLabel["outputs"]!.AsArray().Select(output => output!["name"]!.GetValue<string>()));
    }

    [Fact]
    public async Task OpenInferenceProtocolRejectsBadInputWithAnErrorNamingIt()
    {
        var (model, versions) = await IrisVersionsAsync("oipbad", 1);
        await Platform.PromoteAsync(model, new { version = versions[0] });
        var infer = $"/v2/models/{model}/infer";
        var tooMany = PlatformFixture.MaxRecordsPerRequest + 1;

        await AssertErrorAsync(infer, IrisRequest(("sepal_length", "BYTES", [1], [JsonValue.Create("long")])),
            HttpStatusCode.BadRequest, "'sepal_length'", "BYTES");
        await AssertErrorAsync(infer, IrisRequest(("sepal_width", "FP32", [2], [3.5, 3.0, 3.1])), HttpStatusCode.BadRequest, "'sepal_width'");
        await AssertErrorAsync(infer, IrisRequest(("sepal_width", "FP32", [2, 2], [3.5, 3.0, 3.1, 3.2])),
            HttpStatusCode.BadRequest, "'sepal_width'", "shape");
        await AssertErrorAsync(infer, IrisRequest(("petal_width", "FP32", [1], [JsonValue.Create("NaN")])),
            HttpStatusCode.BadRequest, "'petal_width'", "NaN");
        await AssertErrorAsync(infer, IrisRequest(("petal_length", null, [], [])), HttpStatusCode.BadRequest, "'petal_length'", "missing");
        await AssertErrorAsync(infer, new JsonObject
        {
            ["inputs"] = new JsonArray([.. IrisColumns.Select(column =>
                Tensor(column, "FP32", [tooMany], Enumerable.Range(0, tooMany).Select(_ => (JsonNode)1.0)))]),
        }, HttpStatusCode.BadRequest, $"at most {PlatformFixture.MaxRecordsPerRequest}");
        await AssertErrorAsync($"/v2/models/{PlatformSteps.UniqueName("nope")}/infer", IrisRequest(), HttpStatusCode.NotFound, "nope");
        await AssertErrorAsync($"/v2/models/{model}/versions/99/infer", IrisRequest(), HttpStatusCode.NotFound, "99");

        // NaN as Python's json.dumps writes it is not JSON at all.
        var bareNaN = await Platform.Inference.PostAsync(infer, new StringContent(
            IrisRequest().ToJsonString().Replace("5.1", "NaN"), Encoding.UTF8, "application/json")).AssertJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("NaN", bareNaN["error"]!.GetValue<string>());

        using var oversized = new HttpRequestMessage(HttpMethod.Post, infer)
        {
            Content = new StringContent(
                "{\"inputs\":[]" + new string(' ', PlatformFixture.MaxJsonBytes + 1) + "}", Encoding.UTF8, "application/json"),
        };
        oversized.Headers.ExpectContinue = true;
        var tooLarge = await Platform.Inference.SendAsync(oversized).AssertJsonAsync(HttpStatusCode.RequestEntityTooLarge);
        OpenInferenceSpec.AssertMatches("inference_error_response", tooLarge);
    }

    [Fact]
    public async Task PredictRejectsNaNAndMoreRecordsThanTheLimit()
    {
        var (model, versions) = await IrisVersionsAsync("limits", 1);
        var record = PlatformSteps.IrisRows()[0].Record;
        var query = $"?version={versions[0]}";

        var nan = await Platform.PredictAsync(model, [new Dictionary<string, object>(record) { ["petal_width"] = "NaN" }], query)
            .AssertJsonAsync(HttpStatusCode.BadRequest);
        var tooMany = await Platform.PredictAsync(model, Enumerable.Repeat(record, PlatformFixture.MaxRecordsPerRequest + 1), query)
            .AssertJsonAsync(HttpStatusCode.BadRequest);

        Assert.Contains("NaN", nan["errors"]!["records[0].petal_width"]![0]!.GetValue<string>());
        Assert.Contains($"at most {PlatformFixture.MaxRecordsPerRequest}", tooMany["errors"]!["records"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task CsvFilesAreScoredAsAStreamInCsvOrJsonLines()
    {
        var (model, versions) = await IrisVersionsAsync("csv", 1);
        await Platform.PromoteAsync(model, new { version = versions[0] });
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
        var csvAnswer = await asCsv.AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal(versions[0].ToString(), asCsv.Headers.GetValues("X-Model-Version").Single());
        // RFC 4180 lines end with CRLF.
        var lines = csvAnswer.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("label,score_setosa,score_versicolor,score_virginica", lines[0]);
        Assert.Equal(rows.Count * 20, lines.Length - 1);
        var expected = Labels(await Platform.PredictAsync(model, rows.Select(row => row.Record)).AssertJsonAsync());
        Assert.Equal(expected, lines.Skip(1).Take(rows.Count).Select(line => line.Split(',')[0]));

        using var asJsonLines = await PostCsvAsync(model, csv.ToString(), "application/x-ndjson");
        var jsonLines = (await asJsonLines.AssertStatusAsync(HttpStatusCode.OK)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("application/x-ndjson", asJsonLines.Content.Headers.ContentType!.MediaType);
        Assert.Equal(rows.Count * 20, jsonLines.Length);
        Assert.Equal(expected[0], JsonNode.Parse(jsonLines[0])!["label"]!.GetValue<string>());
    }

    [Fact]
    public async Task BadCsvGetsA400NamingTheLineAndNothingIsScored()
    {
        var (model, versions) = await IrisVersionsAsync("csvbad", 1);
        await Platform.PromoteAsync(model, new { version = versions[0] });
        const string Header = "sepal_length,sepal_width,petal_length,petal_width\n";

        using var badCell = await PostCsvAsync(model, Header + "5.1,3.5,1.4,0.2\n4.9,wide,1.4,0.2\n", "text/csv");
        using var missingColumn = await PostCsvAsync(model, "sepal_length,sepal_width,petal_length\n5.1,3.5,1.4\n", "text/csv");
        using var ragged = await PostCsvAsync(model, Header + "5.1,3.5,1.4\n", "text/csv");

        var badCellErrors = (await badCell.AssertJsonAsync(HttpStatusCode.BadRequest))["errors"]!;
        Assert.Contains("expected a number", badCellErrors["line 3.sepal_width"]![0]!.GetValue<string>());
        Assert.NotNull((await missingColumn.AssertJsonAsync(HttpStatusCode.BadRequest))["errors"]!["header.petal_width"]);
        Assert.NotNull((await ragged.AssertJsonAsync(HttpStatusCode.BadRequest))["errors"]!["line 2"]);
    }

    [Fact]
    public async Task CanaryTrafficSplitsByWeightAndStaysStickyByKey()
    {
        var (model, versions) = await IrisVersionsAsync("canary", 2);
        await Platform.PromoteAsync(model, new { version = versions[0] });
        var badPercent = await Platform.Registry.PutAsJsonAsync($"/models/{model}/aliases/production",
            new { version = versions[0], canary = new { version = versions[1], percent = 0 } }).AssertJsonAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(badPercent["errors"]!["canary.percent"]);

        await Platform.PromoteAsync(model, new { version = versions[0], canary = new { version = versions[1], percent = 50 } });
        var alias = await Platform.Registry.GetAsync($"/models/{model}/aliases/production").AssertJsonAsync();
        Assert.Equal(50, alias["canary"]!["percent"]!.GetValue<int>());

        // The split arrives by event; until then every answer is the main version.
        var seen = new HashSet<int>();
        await Platform.WaitUntilAsync($"answers from both v{versions[0]} and its canary v{versions[1]}", async () =>
        {
            seen.Add(await AnsweringVersionAsync(model, key: null));
            return seen;
        }, answered => answered.Count == 2, PlatformSteps.EventTimeout, ["inference"], answered => $"versions {string.Join(", ", answered)}");

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
            var response = await InferAsync($"/v2/models/{model}/infer", request);
            Assert.Equal(first.ToString(), response["model_version"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task ShadowVersionScoresACopyOfTrafficButNeverAnswers()
    {
        // Two versions from the same deterministic trainer on the same data: they are the same model, so the shadow must
        // agree on every row. How well two different trainers agree is not what is tested.
        var (model, versions) = await IrisVersionsAsync("shadow", 2, "LbfgsMaximumEntropy");
        await Platform.PromoteAsync(model, new { version = versions[0], shadow = versions[1] });
        var records = PlatformSteps.IrisRows().Select(row => row.Record).ToList();

        // The shadow arrives by event and scores its copies off the request path: keep sending the same traffic until
        // at least two whole copies have been compared.
        var comparison = await Platform.WaitUntilAsync($"the shadow v{versions[1]} to have compared 300 rows", async () =>
        {
            Assert.Equal(versions[0], await AnsweringVersionAsync(model, key: null, records));
            var comparisons = await Platform.Inference.GetFromJsonAsync<JsonArray>($"/models/{model}/shadow");
            return comparisons!.SingleOrDefault();
        }, seen => seen?["rows"]?.GetValue<long>() >= 300, PlatformSteps.EventTimeout, ["inference"], seen => seen?.ToJsonString() ?? "(none)");

        Assert.Equal(versions[0], comparison!["answeredVersion"]!.GetValue<int>());
        Assert.Equal(versions[1], comparison["shadowVersion"]!.GetValue<int>());
        var agreement = comparison["agreement"]!.GetValue<double>();
        if (agreement != 1.0)
        {
            // Tell a shadow that miscounts from two versions that really disagree: score every row with both.
            var answered = Labels(await Platform.PredictAsync(model, records, $"?version={versions[0]}").AssertJsonAsync());
            var shadow = Labels(await Platform.PredictAsync(model, records, $"?version={versions[1]}").AssertJsonAsync());
            var differing = Enumerable.Range(0, records.Count).Where(i => answered[i] != shadow[i])
                .Select(i => $"row {i}: v{versions[0]} {answered[i]}, v{versions[1]} {shadow[i]}").ToList();
            Assert.Fail($"Expected the shadow to agree on every row, got {comparison.ToJsonString()}. Rows the two versions "
                + $"label differently, scored directly: {(differing.Count == 0 ? "none" : string.Join("; ", differing))}");
        }
    }

    [Fact]
    public async Task AMainVersionShadowsItsCanaryOnTheCanarysRequestsOnly()
    {
        // Two versions from one deterministic trainer: the same model, so every copy agrees.
        var (model, versions) = await IrisVersionsAsync("canaryshadow", 2, "LbfgsMaximumEntropy");
        var (main, canary) = (versions[0], versions[1]);
        var selfShadow = await Platform.Registry.PutAsJsonAsync($"/models/{model}/aliases/production", new { version = main, shadow = main })
            .AssertJsonAsync(HttpStatusCode.BadRequest);
        var canaryShadow = await Platform.Registry.PutAsJsonAsync($"/models/{model}/aliases/production",
            new { version = main, canary = new { version = canary, percent = 50 }, shadow = canary }).AssertJsonAsync(HttpStatusCode.BadRequest);

        await Platform.PromoteAsync(model, new { version = main, canary = new { version = canary, percent = 50 }, shadow = main });
        var records = PlatformSteps.IrisRows().Select(row => row.Record).ToList();

        // Requests split at random between the two; the canary's copies are scored off the request path. Send until both have
        // answered and the main version has compared at least one whole request of the canary's.
        var answered = new HashSet<int>();
        var comparisons = await Platform.WaitUntilAsync($"v{main} to have shadowed 150 rows of its canary v{canary}", async () =>
        {
            answered.Add(await AnsweringVersionAsync(model, key: null, records));
            return (await Platform.Inference.GetFromJsonAsync<List<ShadowComparison>>($"/models/{model}/shadow"))!;
        }, seen => answered.Count == 2 && seen.Any(pair => pair.AnsweredVersion == canary && pair.Rows >= 150), PlatformSteps.EventTimeout,
            ["inference"], seen => $"answers from {string.Join(", ", answered.Select(version => $"v{version}"))}; pairs "
                + string.Join("; ", seen.Select(pair => $"v{pair.AnsweredVersion} shadowed by v{pair.ShadowVersion}: {pair.Rows} rows")));

        Assert.Contains("only beside a canary", selfShadow["errors"]!["shadow"]![0]!.GetValue<string>());
        Assert.Contains("canary.version", canaryShadow["errors"]!["shadow"]![0]!.GetValue<string>());
        // The main version's own answers are never copied to itself: the one pair is the canary's.
        var pair = Assert.Single(comparisons);
        Assert.Equal((canary, main), (pair.AnsweredVersion, pair.ShadowVersion));
        Assert.Equal(1.0, pair.Agreement);
    }

    [Fact]
    public async Task EachVersionsLiveTrafficCountsItsRequestsRowsErrorsAndLatencyOnEveryProtocol()
    {
        // Arrange: a version of this test's own, with nothing answered yet.
        var (model, versions) = await IrisVersionsAsync("live", 1);
        var version = versions[0];
        var live = $"/models/{model}/versions/{version}/live";
        await Platform.PromoteAsync(model, new { version });
        var before = (await Platform.Inference.GetFromJsonAsync<LiveTraffic>(live))!;
        var records = PlatformSteps.IrisRows().Select(row => row.Record).ToList();
        var csv = "sepal_length,sepal_width,petal_length,petal_width\n"
            + string.Concat(records.Take(20).Select(r => $"{r["sepal_length"]},{r["sepal_width"]},{r["petal_length"]},{r["petal_width"]}\n"));
        var withoutPetalWidth = records.Take(2).Select(record => record.Where(cell => cell.Key != "petal_width").ToDictionary()).ToList();

        // Act: through the alias and by version, JSON (150 rows), CSV (20) and OIP (1); then a request of each protocol the
        // version cannot read (a column missing), and one for a version that does not exist, which is no version's.
        await Platform.PredictAsync(model, records).AssertStatusAsync(HttpStatusCode.OK);
        using (var csvAnswer = await PostCsvAsync(model, csv, "text/csv"))
        {
            await csvAnswer.AssertStatusAsync(HttpStatusCode.OK);
        }

        await InferAsync($"/v2/models/{model}/versions/{version}/infer", IrisRequest());
        await Platform.PredictAsync(model, withoutPetalWidth, $"?version={version}").AssertJsonAsync(HttpStatusCode.BadRequest);
        await InferAsync($"/v2/models/{model}/infer", IrisRequest(("petal_width", null, [], [])), HttpStatusCode.BadRequest);
        await Platform.PredictAsync(model, records.Take(1), $"?version={version + 1}").AssertJsonAsync(HttpStatusCode.NotFound);

        // Assert: each replica adds its counts to Redis about every second; the figures are those of these five requests.
        var after = await Platform.WaitUntilAsync($"the live traffic of v{version} to count 5 requests and 171 rows",
            async () => (await Platform.Inference.GetFromJsonAsync<LiveTraffic>(live))!,
            traffic => traffic.Requests >= 5 && traffic.Rows >= 171 && traffic.Latency.Sum() >= 5, PlatformSteps.EventTimeout, ["inference"],
            traffic => $"{traffic.Requests} requests, {traffic.Errors} errors, {traffic.Rows} rows, {traffic.Latency.Sum()} timed");
        Assert.Equal((0L, 0L, 0L, 0L), (before.Requests, before.Errors, before.Rows, before.Latency.Sum()));
        Assert.Null(before.P99Seconds);
        Assert.Equal((5L, 2L, 171L, 5L), (after.Requests, after.Errors, after.Rows, after.Latency.Sum()));
        Assert.Equal(0.4, after.ErrorRate, 1e-12);
        Assert.InRange(after.P99Seconds!.Value, 1e-6, LiveTraffic.LatencyBounds[^1]);
        Assert.Equal(after.Requests, after.Since(before).Requests);
    }

    [Fact]
    public async Task PredictionsAreCachedInRedisForModelsThatOptIn()
    {
        var (other, otherVersions) = await IrisVersionsAsync("uncached", 1);
        var cached = Platform.CachedModel;
        var dataset = await Platform.UploadIrisAsync("cache");
        var version = (await Platform.TrainAsync(new { modelName = cached, dataset, label = "species", task = "multiclass" }))["modelVersion"]!
            .GetValue<int>();
        var query = $"?version={version}";

        // The same record written two ways is one cache entry.
        var first = await Platform.Inference.PostAsync($"/models/{cached}/predict{query}", new StringContent(
            """{"records":[{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}]}""",
            Encoding.UTF8, "application/json")).AssertJsonAsync();
        var second = await Platform.Inference.PostAsync($"/models/{cached}/predict{query}", new StringContent(
            """{"records":[{ "petal_width": 0.20, "petal_length": 1.4, "sepal_width": 3.5, "sepal_length": 5.10 }]}""",
            Encoding.UTF8, "application/json")).AssertJsonAsync();
        await Platform.PredictAsync(other, [PlatformSteps.IrisRows()[0].Record], $"?version={otherVersions[0]}").AssertJsonAsync();

        Assert.Equal(first["predictions"]!.ToJsonString(), second["predictions"]!.ToJsonString());
        await using var redis = await ConnectionMultiplexer.ConnectAsync(await Platform.ConnectionStringAsync("redis"));
        var server = redis.GetServers().Single();
        var keys = server.Keys(pattern: $"modelplatform:inference:prediction:{cached}:{version}:*").ToList();
        Assert.Single(keys);
        Assert.True((await redis.GetDatabase().KeyTimeToLiveAsync(keys[0])) > TimeSpan.FromSeconds(500));
        Assert.Empty(server.Keys(pattern: $"modelplatform:inference:prediction:{other}:*"));
    }

    [Theory]
    [InlineData("redis")] // a cache here
    [InlineData("rabbitmq")] // only alias events here, which the alias TTL backs up
    public async Task WithADependencyDownPredictionsContinueAndHealthIsDegraded(string dependency)
    {
        var (model, versions) = await IrisVersionsAsync("no" + dependency, 1);
        await Platform.PromoteAsync(model, new { version = versions[0] });
        var record = PlatformSteps.IrisRows()[0].Record;

        await Platform.WhileStoppedAsync(dependency, async () =>
        {
            // At once, before the service may have noticed, and again once its health says it has.
            await Platform.PredictAsync(model, [record]).AssertJsonAsync();
            await Platform.WaitUntilAsync($"inference's /health to say Degraded (200) without {dependency}",
                async () => await Platform.Inference.GetAsync("/health").AssertStatusAsync(HttpStatusCode.OK),
                health => health == "Degraded", PlatformSteps.EventTimeout, ["inference"]);
            await Platform.PredictAsync(model, [record]).AssertJsonAsync();
            await Platform.PredictAsync(model, [record], $"?version={versions[0]}").AssertJsonAsync();
        });
    }

    [Fact]
    public async Task PromotionUnderSteadyLoadFailsNoRequestAndSwitchesOnce()
    {
        const int AnswersPerSide = 10;
        var (model, versions) = await IrisVersionsAsync("hotswap", 2);
        var (old, next) = (versions[0], versions[1]);
        await Platform.PromoteAsync(model, new { version = old });
        var records = PlatformSteps.IrisRows().Take(5).Select(row => row.Record).ToList();
        using var stop = new CancellationTokenSource();
        var answers = Enumerable.Range(0, 4).Select(_ => new ConcurrentQueue<Answer>()).ToArray();

        // Four callers, each sending requests back to back, through both protocols.
        var callers = answers.Select((mine, caller) => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                mine.Enqueue(caller % 2 == 0 ? await PredictAnswerAsync(model, records) : await InferAnswerAsync(model));
            }
        })).ToArray();

        // Promote once every caller is being answered by the old version, and stop once each has had a run of answers from
        // the new one: any answer from the old version after that would show up as a second switch.
        await WaitForEveryCallerAsync($"every caller to have {AnswersPerSide} answers from v{old}", old);
        await Platform.PromoteAsync(model, new { version = next });
        await WaitForEveryCallerAsync($"every caller to have {AnswersPerSide} answers from v{next} after the promotion", next);
        await stop.CancelAsync();
        await Task.WhenAll(callers);

        var failures = answers.SelectMany(mine => mine).Where(answer => answer.Status != HttpStatusCode.OK).ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} requests failed, the first: {string.Join("; ", failures.Take(3))}");
        foreach (var mine in answers.Select(queue => queue.ToList()))
        {
            // Each caller sees the old version, then the new one, and never the old one again.
            var switchedAt = mine.FindIndex(answer => answer.Version == next);
            Assert.True(switchedAt > 0 && mine.Skip(switchedAt).All(answer => answer.Version == next),
                $"Expected answers from v{old}, then only from v{next}; a caller got {Runs(mine)}");
        }

        Task WaitForEveryCallerAsync(string expected, int version) =>
            Platform.WaitUntilAsync(expected, () =>
            {
                // A caller that died would never reach the count: fail with its exception instead of waiting.
                var dead = callers.FirstOrDefault(caller => caller.IsFaulted);
                return dead is null ? Task.FromResult(answers) : Task.FromException<ConcurrentQueue<Answer>[]>(dead.Exception!);
            }, all => all.All(mine => mine.Count(answer => answer.Version == version) >= AnswersPerSide),
            PlatformSteps.EventTimeout, ["inference"], all => string.Join(" | ", all.Select(mine => Runs([.. mine]))));
    }

    [Fact]
    public async Task AfterARestartProductionModelsAreLoadedBeforeTheServiceIsReady()
    {
        var (model, versions) = await IrisVersionsAsync("ready", 1);
        await Platform.PromoteAsync(model, new { version = versions[0] });

        await Platform.WhileStoppedAsync("inference", () => Task.CompletedTask);

        // No request has asked for the model since the restart: it was loaded and warmed at start-up.
        await Platform.Inference.GetAsync($"/v2/models/{model}/ready").AssertStatusAsync(HttpStatusCode.OK);
        await Platform.Inference.GetAsync("/v2/health/ready").AssertStatusAsync(HttpStatusCode.OK);
        var notLoaded = PlatformSteps.UniqueName("never");
        await Platform.Inference.GetAsync($"/v2/models/{notLoaded}/ready").AssertStatusAsync(HttpStatusCode.NotFound);
    }

    /// <summary>One caller's answer under load: its status, the version that answered (0 if none) and what went wrong.</summary>
    private sealed record Answer(HttpStatusCode Status, int Version, string? Failure = null);

    /// <summary>A caller's answers as runs of versions ("v3×57, v4×33"), failures included.</summary>
    private static string Runs(List<Answer> answers)
    {
        var runs = new List<(string Label, int Count)>();
        foreach (var answer in answers)
        {
            var label = answer.Status == HttpStatusCode.OK ? $"v{answer.Version}" : $"{(int)answer.Status}";
            if (runs.Count > 0 && runs[^1].Label == label)
            {
                runs[^1] = (label, runs[^1].Count + 1);
            }
            else
            {
                runs.Add((label, 1));
            }
        }

        return runs.Count == 0 ? "(no answers)" : string.Join(", ", runs.Select(run => $"{run.Label}×{run.Count}"));
    }

    private async Task<Answer> PredictAnswerAsync(string model, List<Dictionary<string, object>> records)
    {
        try
        {
            using var response = await Platform.PredictAsync(model, records);
            var body = await response.Content.ReadAsStringAsync();
            return response.IsSuccessStatusCode
                ? new Answer(response.StatusCode, JsonNode.Parse(body)!["version"]!.GetValue<int>())
                : new Answer(response.StatusCode, 0, body);
        }
        catch (HttpRequestException ex)
        {
            return new Answer(0, 0, ex.Message);
        }
    }

    private async Task<Answer> InferAnswerAsync(string model)
    {
        try
        {
            using var response = await Platform.Inference.PostAsync($"/v2/models/{model}/infer",
                new StringContent(IrisRequest().ToJsonString(), Encoding.UTF8, "application/json"));
            var body = await response.Content.ReadAsStringAsync();
            return response.IsSuccessStatusCode
                ? new Answer(response.StatusCode, int.Parse(JsonNode.Parse(body)!["model_version"]!.GetValue<string>()))
                : new Answer(response.StatusCode, 0, body);
        }
        catch (HttpRequestException ex)
        {
            return new Answer(0, 0, ex.Message);
        }
    }

    /// <summary>
    /// Uploads iris once and trains <paramref name="count"/> versions of a model on it, taking turns with
    /// <paramref name="trainers"/> (by default two different ones).
    /// </summary>
    [Fact]
    public async Task AnAliasMovedWhileRabbitMQIsDownReachesInferenceByEventOnceTheBrokerIsBack()
    {
        // Arrange: production serves v1, and inference has the route cached for its alias cache period (300 s).
        var (model, versions) = await IrisVersionsAsync("outbox", 2);
        await Platform.PromoteAsync(model, new { version = versions[0] });
        await Platform.WaitUntilAsync($"{model} to answer with v{versions[0]}", () => AnsweringVersionAsync(model, key: null),
            version => version == versions[0], PlatformSteps.EventTimeout, ["inference"]);
        var cachedUntil = DateTimeOffset.UtcNow.AddSeconds(300);

        // Act: the move is stored with its event while the broker is down, so the PUT succeeds.
        await Platform.WhileStoppedAsync("rabbitmq", async () =>
        {
            using var moved = await Platform.SetAliasAsync(model, "production", versions[1]);
            var alias = await moved.AssertJsonAsync();
            Assert.Equal(2, alias["sequence"]!.GetValue<int>());
        });

        // Assert: once the broker is back the outbox sends the event and inference swaps, long before the cache expires.
        await Platform.WaitUntilAsync($"{model} to answer with v{versions[1]}", () => AnsweringVersionAsync(model, key: null),
            version => version == versions[1], TimeSpan.FromSeconds(90), ["inference", "registry"]);
        Assert.True(DateTimeOffset.UtcNow < cachedUntil, "the swap came only when the cached route expired, not by event");
    }

    [Fact]
    public async Task TheInputsAVersionServesAreSampledAndComparedWithItsTrainingData()
    {
        // Arrange: a model of this test's own, so no other test's predictions reach its sample.
        var (model, versions) = await IrisVersionsAsync("served", 1);
        var drift = $"/models/{model}/versions/{versions[0]}/drift";
        var iris = PlatformSteps.IrisRows().Select(row => row.Record).ToList();
        // Every iris row again, its petals ten centimetres longer and wider: two of the four inputs move.
        var shifted = Enumerable.Range(0, 1000).Select(i => new Dictionary<string, object>(iris[i % iris.Count])
        {
            ["petal_length"] = (double)iris[i % iris.Count]["petal_length"] + 10,
            ["petal_width"] = (double)iris[i % iris.Count]["petal_width"] + 10,
        }).ToList();
        Task<JsonObject> SampledAsync(long scored) => Platform.WaitUntilAsync($"{scored} rows scored in the sample",
            () => Platform.Inference.GetAsync(drift).AssertJsonAsync(), report => report["scoredRows"]!.GetValue<long>() == scored,
            PlatformSteps.EventTimeout, logsOf: ["inference"], show: report => report.ToJsonString());

        // Act: the training rows themselves, then the shifted rows.
        await Platform.PredictAsync(model, iris, $"?version={versions[0]}").AssertStatusAsync(HttpStatusCode.OK);
        var same = await SampledAsync(150);
        // Two requests: the platform under test takes at most 500 records in one.
        foreach (var half in shifted.Chunk(500))
        {
            await Platform.PredictAsync(model, half, $"?version={versions[0]}").AssertStatusAsync(HttpStatusCode.OK);
        }

        var moved = await SampledAsync(1150);
        var unknownWindow = await Platform.Inference.GetAsync($"{drift}?window=last").AssertJsonAsync(HttpStatusCode.BadRequest);
        var previous = await Platform.Inference.GetAsync($"{drift}?window=previous").AssertJsonAsync();

        // Assert: the sample of the training rows is the training data, by the small-sample test; the shifted rows take most
        // of the 1,000 slots, and the two inputs they moved drift, which is half: the version drifts.
        static Dictionary<string, (string Method, bool Drifted)> Columns(JsonObject report) =>
            report["drift"]!["columns"]!.AsArray().ToDictionary(
                column => column!["name"]!.GetValue<string>(), column => (column!["method"]!.GetValue<string>(), column["drifted"]!.GetValue<bool>()));
        Assert.Equal((model, 150, false),
            (same["trainingDataset"]!.GetValue<string>(), same["sampledRows"]!.GetValue<int>(), same["drift"]!["drifted"]!.GetValue<bool>()));
        Assert.All(Columns(same).Values, column => Assert.Equal(("ks", false), column));
        Assert.Equal(1000, moved["sampledRows"]!.GetValue<int>());
        Assert.Equal([false, false, true, true], IrisColumns.Select(column => Columns(moved)[column].Drifted));
        Assert.True(moved["drift"]!["drifted"]!.GetValue<bool>());
        Assert.Equal(["window"], unknownWindow["errors"]!.AsObject().Select(error => error.Key));
        Assert.Equal(0, previous["sampledRows"]!.GetValue<int>());
    }

    private async Task<(string Model, List<int> Versions)> IrisVersionsAsync(string prefix, int count, params string[] trainers)
    {
        var model = await Platform.UploadIrisAsync(prefix);
        trainers = trainers is [] ? ["LbfgsMaximumEntropy", "SdcaMaximumEntropy"] : trainers;
        var versions = new List<int>();
        for (var i = 0; i < count; i++)
        {
            versions.Add(await Platform.TrainIrisAsync(model, trainers[i % trainers.Length]));
        }

        return (model, versions);
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

        using var response = await Platform.Inference.SendAsync(request);
        var version = (await response.AssertJsonAsync())["version"]!.GetValue<int>();
        Assert.Equal(version.ToString(), response.Headers.GetValues("X-Model-Version").Single());
        return version;
    }

    private static List<string> Labels(JsonObject predictions) =>
        [.. predictions["predictions"]!.AsArray().Select(prediction => prediction!["label"]!.GetValue<string>())];

    private static JsonNode Output(JsonObject response, string name) =>
        response["outputs"]!.AsArray().Single(output => output!["name"]!.GetValue<string>() == name)!;

    private Task<JsonObject> GetJsonAsync(string path) => Platform.Inference.GetAsync(path).AssertJsonAsync();

    private Task<JsonObject> InferAsync(string path, JsonObject request, HttpStatusCode expected = HttpStatusCode.OK) =>
        Platform.Inference.PostAsync(path, new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json")).AssertJsonAsync(expected);

    private async Task AssertErrorAsync(string path, JsonObject request, HttpStatusCode status, params string[] mentions)
    {
        var body = await InferAsync(path, request, status);
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
        return Platform.Inference.SendAsync(request);
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
