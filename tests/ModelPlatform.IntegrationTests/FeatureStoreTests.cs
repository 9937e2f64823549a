using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace ModelPlatform.IntegrationTests;

/// <summary>The feature store through the running platform: definitions, and appends checked against the views that read them.</summary>
public class FeatureStoreTests(PlatformFixture platform) : PlatformTest(platform)
{
    [Fact]
    public async Task ViewsAreDefinedOverADatasetAndAnAppendThatBreaksOneIsRefusedNamingTheColumnWithNothingStored()
    {
        // Arrange: a dataset of customer activity, an entity, a view over the dataset and a service over the view.
        var (dataset, entity, view, service) = (PlatformSteps.UniqueName("activity"), PlatformSteps.UniqueName("customer"),
            PlatformSteps.UniqueName("activity"), PlatformSteps.UniqueName("churn"));
        await Platform.UploadCsvAsync(dataset, "customer_id,event_time,spend,plan\n1,2025-01-01T00:00:00Z,10.5,basic\n")
            .AssertStatusAsync(HttpStatusCode.Created);
        await DefineCustomerEntityAsync(entity);
        var defined = await Platform.Feature.PutAsJsonAsync($"/feature-views/{view}", new
        {
            entity,
            dataset,
            timestampField = "event_time",
            ttlSeconds = 86_400,
            features = new object[] { new { name = "spend" }, new { name = "plan" } },
        }).AssertJsonAsync(HttpStatusCode.Created);
        await Platform.Feature.PutAsJsonAsync($"/feature-services/{service}", new { features = new[] { $"{view}:spend", $"{view}:plan" } })
            .AssertJsonAsync(HttpStatusCode.Created);

        // Act: an append that keeps the view's columns, then one that drops a feature and mistypes the timestamp.
        await Platform.UploadCsvAsync(dataset, "customer_id,event_time,spend,plan\n1,2025-01-02T00:00:00Z,11,pro\n").AssertStatusAsync(HttpStatusCode.Created);
        var refused = await Platform.UploadCsvAsync(dataset, "customer_id,event_time,spend\n1,yesterday,12\n").AssertJsonAsync(HttpStatusCode.BadRequest);

        // Assert: the view took its types from the dataset; the refusal names both columns; the dataset kept its two versions.
        Assert.Equal(["numeric", "categorical"], defined["definition"]!["features"]!.AsArray().Select(f => f!["type"]!.GetValue<string>()));
        Assert.Equal(["columns.event_time", "columns.plan"], refused["errors"]!.AsObject().Select(error => error.Key).Order());
        var versions = await Platform.Feature.GetFromJsonAsync<JsonArray>($"/datasets/{dataset}");
        Assert.Equal(2, versions!.Count);
    }

    [Fact]
    public async Task ATrainingSetJoinsEachFeatureAsOfEachEntityRowsOwnTimeAcrossAppendedVersions()
    {
        // Arrange: activity in two appended versions (the second with a late correction of a January 1 value), a profile
        // view with no TTL, and labelled entity rows.
        var (activity, profile, labels) = (PlatformSteps.UniqueName("activity"), PlatformSteps.UniqueName("profile"), PlatformSteps.UniqueName("labels"));
        var (customer, service) = (PlatformSteps.UniqueName("customer"), PlatformSteps.UniqueName("churn"));
        await Platform.UploadCsvAsync(activity, """
            customer_id,event_time,created_at,spend
            1,2025-01-01T00:00:00Z,2025-01-01T00:00:00Z,10
            2,2025-01-01T00:00:00Z,2025-01-01T00:00:00Z,20
            """).AssertStatusAsync(HttpStatusCode.Created);
        await Platform.UploadCsvAsync(profile, "customer_id,since,plan\n1,2024-06-01T00:00:00Z,basic\n2,2024-06-01T00:00:00Z,pro\n")
            .AssertStatusAsync(HttpStatusCode.Created);
        await DefineCustomerEntityAsync(customer);
        await Platform.Feature.PutAsJsonAsync($"/feature-views/{activity}", new
        {
            entity = customer,
            dataset = activity,
            timestampField = "event_time",
            createdTimestampField = "created_at",
            ttlSeconds = 2 * 86_400,
            features = new[] { new { name = "spend" } },
        }).AssertStatusAsync(HttpStatusCode.Created);
        await Platform.Feature.PutAsJsonAsync($"/feature-views/{profile}", new
        {
            entity = customer,
            dataset = profile,
            timestampField = "since",
            features = new[] { new { name = "plan" } },
        }).AssertStatusAsync(HttpStatusCode.Created);
        await Platform.Feature.PutAsJsonAsync($"/feature-services/{service}", new { features = new[] { $"{activity}:spend", $"{profile}:plan" } })
            .AssertStatusAsync(HttpStatusCode.Created);
        await Platform.UploadCsvAsync(activity, """
            customer_id,event_time,created_at,spend
            1,2025-01-03T00:00:00Z,2025-01-03T00:00:00Z,30
            1,2025-01-01T00:00:00Z,2025-01-05T00:00:00Z,11
            """).AssertStatusAsync(HttpStatusCode.Created);
        await Platform.UploadCsvAsync(labels, """
            customer_id,event_time,churned
            1,2025-01-02T00:00:00Z,yes
            1,2025-01-03T00:00:00Z,no
            2,2025-01-04T00:00:00Z,yes
            3,2025-01-02T00:00:00Z,no
            """).AssertStatusAsync(HttpStatusCode.Created);

        // Act
        var request = new { entityDataset = labels, timestampField = "event_time" };
        var built = await Platform.Feature.PostAsJsonAsync($"/feature-services/{service}/training-sets", request).AssertJsonAsync(HttpStatusCode.Created);
        var rows = (await Platform.Feature.GetFromJsonAsync<JsonObject>($"/datasets/{service}-training/versions/1/rows?limit=10"))!["rows"]!.AsArray();

        // Assert, against the table worked by hand: customer 1 on January 2 takes the late correction (same event time,
        // later created); on January 3 the row of that very time; customer 2 on January 4 has only a value three days old,
        // past the two-day TTL; customer 3 has no features at all. The profile view has no TTL.
        object?[][] expected =
        [
            [1.0, "yes", 11.0, "basic"],
            [1.0, "no", 30.0, "basic"],
            [2.0, "yes", null, "pro"],
            [3.0, "no", null, null],
        ];
        Assert.Equal(expected, rows.Select(row => new object?[]
        {
            row!["customer_id"]!.GetValue<double>(), row["churned"]!.GetValue<string>(),
            row[$"{activity}__spend"]?.GetValue<double>(), row[$"{profile}__plan"]?.GetValue<string>(),
        }));
        var lineage = built["lineage"]!;
        Assert.Equal((service, labels), (lineage["featureService"]!.GetValue<string>(), lineage["entityDataset"]!.GetValue<string>()));
        Assert.Equal([1, 2], lineage["views"]!.AsArray().Single(view => view!["view"]!.GetValue<string>() == activity)!["datasetVersions"]!
            .AsArray().Select(version => version!.GetValue<int>()));
    }

    [Fact]
    public async Task AModelTrainedFromAFeatureServiceCarriesItsTrainingSetAndIsServedByEntityKeyWithStaleValuesMissing()
    {
        // Arrange: each customer's spend and visits as of January 1 and 10, and entity rows on January 5 and 15 whose label
        // follows the spend of that time, with a request-time amount beside it.
        var (activity, labels, customer, service, model) = (PlatformSteps.UniqueName("activity"), PlatformSteps.UniqueName("labels"),
            PlatformSteps.UniqueName("customer"), PlatformSteps.UniqueName("churn"), PlatformSteps.UniqueName("churn"));
        var customers = Enumerable.Range(1, 60).ToList();
        await Platform.UploadCsvAsync(activity, "customer_id,event_time,spend,visits\n" + string.Concat(customers.Select(c =>
            $"{c},2025-01-01T00:00:00Z,{c},{c % 5}\n{c},2025-01-10T00:00:00Z,{2 * c},{c % 3}\n"))).AssertStatusAsync(HttpStatusCode.Created);
        await Platform.UploadCsvAsync(labels, "customer_id,event_time,amount,churned\n" + string.Concat(customers.Select(c =>
            $"{c},2025-01-05T00:00:00Z,{c % 7},{(c < 40 ? "yes" : "no")}\n{c},2025-01-15T00:00:00Z,{c % 4},{(2 * c < 40 ? "yes" : "no")}\n")))
            .AssertStatusAsync(HttpStatusCode.Created);
        await DefineCustomerEntityAsync(customer);
        await Platform.Feature.PutAsJsonAsync($"/feature-views/{activity}", new
        {
            entity = customer,
            dataset = activity,
            timestampField = "event_time",
            ttlSeconds = 30 * 86_400,
            features = new[] { new { name = "spend" }, new { name = "visits" } },
        }).AssertStatusAsync(HttpStatusCode.Created);
        await Platform.Feature.PutAsJsonAsync($"/feature-services/{service}", new { features = new[] { $"{activity}:spend", $"{activity}:visits" } })
            .AssertStatusAsync(HttpStatusCode.Created);

        // Act: train from the service and the entity rows; ask for an unknown service; then try to take a feature out.
        var job = await Platform.TrainAsync(new
        {
            modelName = model,
            featureService = service,
            dataset = labels,
            timestampField = "event_time",
            label = "churned",
            task = "binary",
            trainer = "LbfgsLogisticRegression",
        });
        var unknown = await Platform.Training.PostAsJsonAsync("/training-jobs", new
        {
            modelName = model,
            featureService = "nothing-here",
            dataset = labels,
            timestampField = "event_time",
            label = "churned",
            task = "binary",
        }).AssertJsonAsync(HttpStatusCode.BadRequest);
        var version = await Platform.Registry.GetFromJsonAsync<JsonObject>($"/models/{model}/versions/{job["modelVersion"]}");
        var refused = await Platform.Feature.PutAsJsonAsync($"/feature-services/{service}", new { features = new[] { $"{activity}:visits" } })
            .AssertJsonAsync(HttpStatusCode.Conflict);
        var users = await Platform.Registry.GetFromJsonAsync<JsonArray>($"/model-versions?featureView={activity}");

        // Assert: the model trained on the joined set, without the entity key or the timestamp, and says where it came from.
        var lineage = version!["lineage"]!;
        Assert.Equal($"{service}-training", lineage["dataset"]!.GetValue<string>());
        var trainingSet = lineage["trainingSet"]!;
        Assert.Equal((service, labels, "event_time"), (trainingSet["featureService"]!.GetValue<string>(),
            trainingSet["entityDataset"]!.GetValue<string>(), trainingSet["timestampField"]!.GetValue<string>()));
        var view = trainingSet["views"]!.AsArray().Single()!;
        Assert.Equal(["customer_id"], view["joinKeys"]!.AsArray().Select(key => key!.GetValue<string>()));
        Assert.Equal([$"{activity}__spend", $"{activity}__visits"], view["features"]!.AsArray().Select(f => f!["column"]!.GetValue<string>()));
        Assert.Equal(
            [$"{activity}__spend", $"{activity}__visits", "amount"],
            version["signature"]!["inputs"]!.AsArray().Select(input => input!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.Contains(job["report"]!["droppedColumns"]!.AsArray(), dropped => dropped!["name"]!.GetValue<string>() == "customer_id");
        Assert.Equal(service, job["trainingSet"]!["featureService"]!.GetValue<string>());
        Assert.Contains("featureService", unknown["errors"]!.AsObject().Select(error => error.Key));
        Assert.Contains($"Model '{model}' v{job["modelVersion"]} was trained on {activity}:spend", refused["detail"]!.GetValue<string>());
        Assert.Equal([model], users!.Select(user => user!["modelName"]!.GetValue<string>()));

        // Act: fresh activity for customer 5, activity past the 30-day TTL for customer 6 (customer 7's is from 2025),
        // materialized; then predict by key, with the request-time amount, for them and for a customer never seen.
        string At(TimeSpan ago) => (DateTimeOffset.UtcNow - ago).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        var recent = $"5,{At(TimeSpan.FromHours(1))},100,2\n6,{At(TimeSpan.FromDays(40))},1,1\n";
        await Platform.UploadCsvAsync(activity, "customer_id,event_time,spend,visits\n" + recent).AssertStatusAsync(HttpStatusCode.Created);
        await Platform.Feature.PostAsJsonAsync($"/feature-views/{activity}/materialize", new { }).AssertJsonAsync();
        var versionQuery = $"?version={job["modelVersion"]}";
        var byKey = await Platform.Inference.PostAsJsonAsync($"/models/{model}/predict{versionQuery}&include=features", new
        {
            entities = new Dictionary<string, object[]> { ["customer_id"] = [5, 6, 7, 999], ["amount"] = [1, 2, 3, 4] },
        }).AssertJsonAsync();
        var inline = await Platform.PredictAsync(model, [
            new Dictionary<string, object?> { [$"{activity}__spend"] = 100, [$"{activity}__visits"] = 2, ["amount"] = 1 },
            new Dictionary<string, object?> { [$"{activity}__spend"] = null, [$"{activity}__visits"] = null, ["amount"] = 4 },
        ], versionQuery).AssertJsonAsync();
        var noAmount = await Platform.Inference.PostAsJsonAsync($"/models/{model}/predict{versionQuery}", new
        {
            entities = new Dictionary<string, object[]> { ["customer_id"] = [5] },
        }).AssertJsonAsync(HttpStatusCode.BadRequest);

        // Assert: the fresh values are used as if sent inline; a value past its TTL and an unknown customer are missing
        // values the model imputes, and the answer says which and why. Customer 7's 2025 row is past twice its TTL, so
        // Redis no longer holds it at all.
        var missing = byKey["missingFeatures"]!.AsArray().Select(row => row!.AsObject().Select(m => $"{m.Key}={m.Value}").Order().ToList()).ToList();
        Assert.Empty(missing[0]);
        Assert.Equal([$"{activity}:spend=outside_max_age", $"{activity}:visits=outside_max_age"], missing[1]);
        Assert.Equal([$"{activity}:spend=not_found", $"{activity}:visits=not_found"], missing[2]);
        Assert.Equal([$"{activity}:spend=not_found", $"{activity}:visits=not_found"], missing[3]);
        var predictions = byKey["predictions"]!.AsArray();
        Assert.Equal(inline["predictions"]![0]!.ToJsonString(), predictions[0]!.ToJsonString());
        Assert.Equal(inline["predictions"]![1]!.ToJsonString(), predictions[3]!.ToJsonString());
        var spend = byKey["features"]!["results"]![0]!;
        Assert.Equal(100, spend["values"]![0]!.GetValue<double>());
        Assert.Null(spend["values"]![1]);
        Assert.Contains("entities.amount", noAmount["errors"]!.AsObject().Select(error => error.Key));
    }

    [Fact]
    public async Task MaterializedFeaturesAreServedByKeyAndAValuePastItsTtlIsNeverPresent()
    {
        // Arrange: a view with a two-day TTL over fresh, stale and missing values, and its entity.
        var (dataset, customer) = (PlatformSteps.UniqueName("spend"), PlatformSteps.UniqueName("customer"));
        var now = DateTimeOffset.UtcNow;
        string At(TimeSpan ago) => (now - ago).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        await Platform.UploadCsvAsync(dataset, $"""
            customer_id,event_time,spend
            1,{At(TimeSpan.FromHours(3))},5
            1,{At(TimeSpan.FromHours(1))},7
            2,{At(TimeSpan.FromDays(3))},9
            4,{At(TimeSpan.FromHours(1))},
            """).AssertStatusAsync(HttpStatusCode.Created);
        await DefineCustomerEntityAsync(customer);
        await Platform.Feature.PutAsJsonAsync($"/feature-views/{dataset}", new
        {
            entity = customer,
            dataset,
            timestampField = "event_time",
            ttlSeconds = 2 * 86_400,
            features = new[] { new { name = "spend", type = "numeric" } },
        }).AssertStatusAsync(HttpStatusCode.Created);

        // Act: materialize everything so far; again (nothing new since); and the whole window once more (nothing newer).
        var first = await Platform.Feature.PostAsJsonAsync($"/feature-views/{dataset}/materialize", new { }).AssertJsonAsync();
        var incremental = await Platform.Feature.PostAsJsonAsync($"/feature-views/{dataset}/materialize", new { }).AssertJsonAsync();
        var replay = await Platform.Feature.PostAsJsonAsync($"/feature-views/{dataset}/materialize", new { start = "2000-01-01T00:00:00Z" })
            .AssertJsonAsync();
        var read = await Platform.Feature.PostAsJsonAsync("/online-features", new
        {
            features = new[] { $"{dataset}:spend" },
            entities = new Dictionary<string, object[]> { ["customer_id"] = [1, 2, 3, 4] },
        }).AssertJsonAsync();

        // Assert: one row per entity written; the rest skipped as no newer; the latest value served, the stale one never.
        Assert.Equal((3, 0), (first["written"]!.GetValue<int>(), first["skipped"]!.GetValue<int>()));
        Assert.Equal((0, 0), (incremental["written"]!.GetValue<int>(), incremental["skipped"]!.GetValue<int>()));
        Assert.Equal((0, 3), (replay["written"]!.GetValue<int>(), replay["skipped"]!.GetValue<int>()));
        var result = read["results"]!.AsArray().Single()!;
        Assert.Equal(["present", "outside_max_age", "not_found", "null"], result["statuses"]!.AsArray().Select(status => status!.GetValue<string>()));
        Assert.Equal(7.0, result["values"]![0]!.GetValue<double>());
        Assert.Null(result["values"]![1]);
    }

    [Fact]
    public async Task AScheduledViewIsServedOnlineWithoutAnyoneMaterializingIt()
    {
        // Arrange: an hour-old value and its entity.
        var (dataset, customer) = (PlatformSteps.UniqueName("spend"), PlatformSteps.UniqueName("customer"));
        var hourAgo = DateTimeOffset.UtcNow.AddHours(-1).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        await Platform.UploadCsvAsync(dataset, $"customer_id,event_time,spend\n1,{hourAgo},5\n").AssertStatusAsync(HttpStatusCode.Created);
        await DefineCustomerEntityAsync(customer);
        object View(bool online) => new
        {
            entity = customer,
            dataset,
            timestampField = "event_time",
            features = new[] { new { name = "spend" } },
            online,
            materializeEverySeconds = 3600,
        };

        // Act: an offline view with a schedule, then an online one; then only reads.
        var refused = await Platform.Feature.PutAsJsonAsync($"/feature-views/{dataset}", View(online: false)).AssertJsonAsync(HttpStatusCode.BadRequest);
        await Platform.Feature.PutAsJsonAsync($"/feature-views/{dataset}", View(online: true)).AssertStatusAsync(HttpStatusCode.Created);
        var read = await Platform.WaitUntilAsync($"{dataset}:spend to be served without a materialize call", async () =>
            await Platform.Feature.PostAsJsonAsync("/online-features", new
            {
                features = new[] { $"{dataset}:spend" },
                entities = new Dictionary<string, object[]> { ["customer_id"] = [1] },
            }).AssertJsonAsync(),
            read => read["results"]![0]!["statuses"]![0]!.GetValue<string>() == "present", TimeSpan.FromSeconds(30), logsOf: ["feature"]);
        var runs = await Platform.Feature.GetFromJsonAsync<JsonArray>($"/feature-views/{dataset}/materializations");

        // Assert: the schedule is refused on the offline view, naming the field; the online one ran on its own, once.
        Assert.Equal(["materializeEverySeconds"], refused["errors"]!.AsObject().Select(error => error.Key));
        Assert.Equal(5.0, read["results"]![0]!["values"]![0]!.GetValue<double>());
        var run = Assert.Single(runs!)!;
        Assert.Equal((true, 1), (run["scheduled"]!.GetValue<bool>(), run["written"]!.GetValue<int>()));
    }

    [Fact]
    public async Task EveryVersionHasItsStatisticsAndAShiftedVersionDriftsFromItsBaseline()
    {
        var dataset = PlatformSteps.UniqueName("drift");
        static string Csv(double shift) => "amount,channel\n" + string.Concat(Enumerable.Range(0, 300).Select(i =>
            FormattableString.Invariant($"{i % 100 + shift},{(i % 3 == 0 ? "web" : "store")}\n")));
        await Platform.UploadCsvAsync(dataset, Csv(0)).AssertStatusAsync(HttpStatusCode.Created);
        await Platform.UploadCsvAsync(dataset, Csv(40)).AssertStatusAsync(HttpStatusCode.Created);

        var statistics = await Platform.Feature.GetFromJsonAsync<JsonArray>($"/datasets/{dataset}/versions/1/statistics");
        var drift = await Platform.Feature.GetAsync($"/datasets/{dataset}/drift?baseline=1&current=latest").AssertJsonAsync();
        var refused = await Platform.Feature.GetAsync($"/datasets/{dataset}/drift?baseline=first&current=2").AssertJsonAsync(HttpStatusCode.BadRequest);

        Assert.Equal(49.5, statistics!.Single(column => column!["name"]!.GetValue<string>() == "amount")!["mean"]!.GetValue<double>());
        var columns = drift["columns"]!.AsArray().ToDictionary(column => column!["name"]!.GetValue<string>());
        Assert.Equal(("ks", true), (columns["amount"]!["method"]!.GetValue<string>(), columns["amount"]!["drifted"]!.GetValue<bool>()));
        Assert.Equal(("chisquare", false), (columns["channel"]!["method"]!.GetValue<string>(), columns["channel"]!["drifted"]!.GetValue<bool>()));
        Assert.True(columns["amount"]!["psi"]!.GetValue<double>() > 0.1);
        Assert.True(drift["drifted"]!.GetValue<bool>());
        Assert.Contains("baseline", refused["errors"]!.AsObject().Select(error => error.Key));
    }

    [Fact]
    public async Task AChangeThatBreaksAFeatureServiceIsRefusedWithTheServiceNamedAndAuditedWhenAllowed()
    {
        var (dataset, entity, view, service) = (PlatformSteps.UniqueName("orders"), PlatformSteps.UniqueName("buyer"),
            PlatformSteps.UniqueName("orders"), PlatformSteps.UniqueName("fraud"));
        await Platform.UploadCsvAsync(dataset, "buyer_id,at,amount,items\n7,2025-01-01T00:00:00Z,3.5,2\n").AssertStatusAsync(HttpStatusCode.Created);
        await Platform.Feature.PutAsJsonAsync($"/entities/{entity}", new { joinKeys = new[] { new { name = "buyer_id", type = "numeric" } } })
            .AssertStatusAsync(HttpStatusCode.Created);
        object View(params string[] features) => new { entity, dataset, timestampField = "at", features = features.Select(name => new { name }) };
        await Platform.Feature.PutAsJsonAsync($"/feature-views/{view}", View("amount", "items")).AssertStatusAsync(HttpStatusCode.Created);
        await Platform.Feature.PutAsJsonAsync($"/feature-services/{service}", new { features = new[] { $"{view}:amount" } })
            .AssertStatusAsync(HttpStatusCode.Created);

        var refused = await Platform.Feature.PutAsJsonAsync($"/feature-views/{view}", View("items")).AssertJsonAsync(HttpStatusCode.Conflict);
        var same = await Platform.Feature.PutAsJsonAsync($"/feature-views/{view}", View("amount", "items")).AssertJsonAsync(HttpStatusCode.OK);
        var narrowed = await Platform.Feature.PutAsJsonAsync($"/feature-views/{view}", View("amount")).AssertJsonAsync(HttpStatusCode.Created);

        Assert.Contains($"Feature service '{service}' uses {view}:amount", refused["detail"]!.GetValue<string>());
        Assert.Equal(1, same["version"]!.GetValue<int>());
        Assert.Equal(2, narrowed["version"]!.GetValue<int>());
        using var admin = Platform.Client("feature", Platform.AdminKey);
        var trail = await admin.GetFromJsonAsync<JsonObject>($"/audit?resource=feature-views/{view}");
        Assert.Equal(2, trail!["records"]!.AsArray().Count);
    }

    [Fact]
    public async Task EachUploadedVersionIsAnnouncedOnTheBusWithItsRowsAndTheUploadsTrace()
    {
        // Arrange: listen for new dataset versions on the platform's event exchange, as a training pipeline would.
        var factory = new ConnectionFactory { Uri = new(await Platform.ConnectionStringAsync("rabbitmq")) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = (await channel.QueueDeclareAsync(exclusive: true, autoDelete: true)).QueueName;
        await channel.QueueBindAsync(queue, "modelplatform.events", "DatasetVersionCreated");
        var received = new ConcurrentQueue<(JsonNode Event, string? TraceParent)>();
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            var traceParent = delivery.BasicProperties.Headers?.TryGetValue("traceparent", out var value) == true
                ? Encoding.UTF8.GetString((byte[])value!)
                : null;
            received.Enqueue((JsonNode.Parse(delivery.Body.Span)!, traceParent));
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(queue, autoAck: true, consumer);
        var dataset = PlatformSteps.UniqueName("announced");
        var trace = ActivityTraceId.CreateRandom().ToString();

        // Act: two versions, the second uploaded in a trace of the caller's.
        await Platform.UploadCsvAsync(dataset, "x\n1\n2\n").AssertStatusAsync(HttpStatusCode.Created);
        using var upload = new HttpRequestMessage(HttpMethod.Post, $"/datasets/{dataset}/versions")
        {
            Content = new StringContent("x\n1\n2\n3\n", Encoding.UTF8, "text/csv"),
        };
        upload.Headers.Add("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");
        await Platform.Feature.SendAsync(upload).AssertStatusAsync(HttpStatusCode.Created);

        // Assert: each version's event arrives with its rows and a trace, the second's the caller's.
        var events = await Platform.WaitUntilAsync($"DatasetVersionCreated for versions 1 and 2 of {dataset}",
            () => Task.FromResult(received.Where(message => message.Event["dataset"]!.GetValue<string>() == dataset).ToList()),
            messages => messages.Count >= 2, PlatformSteps.EventTimeout, ["feature"],
            messages => string.Join(", ", messages.Select(message => message.Event.ToJsonString())));
        Assert.Equal(
            [(1, 2L), (2, 3L)],
            events.Select(message => (message.Event["version"]!.GetValue<int>(), message.Event["rows"]!.GetValue<long>())).Order());
        Assert.All(events, message => Assert.NotNull(message.TraceParent));
        var second = events.Single(message => message.Event["version"]!.GetValue<int>() == 2);
        Assert.Equal(trace, second.TraceParent!.Split('-')[1]);
    }

    /// <summary>Defines an entity found by a numeric <c>customer_id</c>.</summary>
    private async Task DefineCustomerEntityAsync(string name) =>
        await Platform.Feature.PutAsJsonAsync($"/entities/{name}", new { joinKeys = new[] { new { name = "customer_id", type = "numeric" } } })
            .AssertStatusAsync(HttpStatusCode.Created);
}
