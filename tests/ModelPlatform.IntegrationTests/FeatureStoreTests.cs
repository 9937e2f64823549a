using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

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
        await Platform.Feature.PutAsJsonAsync($"/entities/{entity}", new { joinKeys = new[] { new { name = "customer_id", type = "numeric" } } })
            .AssertJsonAsync(HttpStatusCode.Created);
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
}
