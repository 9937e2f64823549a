using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ModelPlatform.Contracts;

namespace ModelPlatform.IntegrationTests;

/// <summary>
/// Keys, roles and the audit trail across the running platform. Which role each route needs is checked for every route
/// by the endpoint enumeration in ModelPlatform.Security.Tests; these tests follow keys and changes through real services.
/// </summary>
public class SecurityTests(PlatformFixture platform) : PlatformTest(platform)
{
    /// <summary>A route of each service that a reader may call, and that answers 200.</summary>
    private static readonly (string Service, string Path)[] ReaderRoutes =
        [("feature", "/datasets"), ("training", "/training-jobs"), ("registry", "/models"), ("inference", "/v2")];

    [Fact]
    public async Task ARevokedKeyIsRefusedByEveryServiceWithinSeconds()
    {
        // Arrange: a reader's key that every service accepts.
        var created = await CreateKeyAsync("revoked-reader", PlatformRoles.Reader);
        var id = created["info"]!["id"]!.GetValue<string>();
        foreach (var (service, path) in ReaderRoutes)
        {
            using var client = Platform.Client(service, created["key"]!.GetValue<string>());
            await client.GetAsync(path).AssertStatusAsync(HttpStatusCode.OK);
        }

        // Act
        var revoked = await Platform.Identity.DeleteAsync($"/api-keys/{id}").AssertJsonAsync();

        // Assert: within the key cache period every service refuses it, saying why; the listing shows it revoked and used.
        Assert.NotNull(revoked["revokedAt"]);
        foreach (var (service, path) in ReaderRoutes)
        {
            using var client = Platform.Client(service, created["key"]!.GetValue<string>());
            await Platform.WaitUntilAsync($"{service} to refuse the revoked key", async () =>
            {
                using var response = await client.GetAsync(path);
                return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }, answer => answer.StartsWith("401", StringComparison.Ordinal) && answer.Contains("revoked"),
                TimeSpan.FromSeconds(PlatformFixture.KeyCacheSeconds * 10), [service, "identity"]);
        }

        var listed = (await Platform.Identity.GetFromJsonAsync<JsonArray>("/api-keys"))!
            .Single(key => key!["id"]!.GetValue<string>() == id)!;
        Assert.NotNull(listed["lastUsedAt"]);
        Assert.Null(listed["key"]);
        Assert.DoesNotContain(created["key"]!.GetValue<string>(), listed.ToJsonString());
        var trail = await AuditAsync(Platform.Identity, $"resource=api-keys/{id}");
        Assert.Equal(["api-key.revoked", "api-key.created"], trail.Select(record => record!["action"]!.GetValue<string>()));
        Assert.All(trail, record => Assert.Equal("admin", record!["actorName"]!.GetValue<string>()));
    }

    [Fact]
    public async Task AnExpiredKeyIsRefused()
    {
        var created = await CreateKeyAsync("short-lived", PlatformRoles.Reader, DateTimeOffset.UtcNow.AddSeconds(3));
        using var client = Platform.Client("registry", created["key"]!.GetValue<string>());
        await client.GetAsync("/models").AssertStatusAsync(HttpStatusCode.OK);

        await Platform.WaitUntilAsync("the registry to refuse the expired key", async () =>
        {
            using var response = await client.GetAsync("/models");
            return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
        }, answer => answer.StartsWith("401", StringComparison.Ordinal) && answer.Contains("expired"), TimeSpan.FromSeconds(30), ["registry"]);
    }

    [Fact]
    public async Task OnlyAnAdminManagesKeysAndOnlyUserRolesCanBeGiven()
    {
        using var scientist = Platform.Client("identity", (await CreateKeyAsync("not-an-admin", PlatformRoles.Scientist))["key"]!.GetValue<string>());

        using var byScientist = await scientist.PostAsJsonAsync("/api-keys", new { name = "mine", roles = new[] { "admin" } });
        using var serviceRole = await Platform.Identity.PostAsJsonAsync("/api-keys", new { name = "fake-training", roles = new[] { "training" } });

        await byScientist.AssertStatusAsync(HttpStatusCode.Forbidden);
        var problem = await serviceRole.AssertJsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("'training' is not a role", problem["errors"]!["roles"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task ALeakedServiceCredentialCannotMoveAnAliasOrChangeData()
    {
        // Arrange: the services' own keys, where the AppHost keeps them, and a model with a version.
        var dataset = await Platform.UploadIrisAsync("leaked");
        await Platform.TrainIrisAsync(dataset);
        using var training = Platform.Client("registry", ServiceKey("training"));
        using var inference = Platform.Client("registry", ServiceKey("inference"));
        using var trainingAtFeature = Platform.Client("feature", ServiceKey("training"));

        // Act and assert: each identity does only what its service needs.
        await training.PutAsJsonAsync($"/models/{dataset}/aliases/production", new { version = 1 }).AssertStatusAsync(HttpStatusCode.Forbidden);
        await inference.PutAsJsonAsync($"/models/{dataset}/aliases/production", new { version = 1 }).AssertStatusAsync(HttpStatusCode.Forbidden);
        await inference.GetAsync($"/models/{dataset}").AssertStatusAsync(HttpStatusCode.OK);
        await trainingAtFeature.GetAsync($"/datasets/{dataset}/versions/1").AssertStatusAsync(HttpStatusCode.OK);
        await trainingAtFeature.PostAsync($"/datasets/{dataset}/versions", new StringContent(PlatformSteps.IrisCsv(), Encoding.UTF8, "text/csv"))
            .AssertStatusAsync(HttpStatusCode.Forbidden);
        await Platform.Registry.GetAsync($"/models/{dataset}/aliases/production").AssertStatusAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task OnlyTheTrainingServiceRegistersTheVersionOfATrainingJob()
    {
        var model = PlatformSteps.UniqueName("impostor");
        using var response = await Platform.RegisterArtifactAsync(model, [1, 2, 3], trainingJobId: Guid.NewGuid());

        var problem = await response.AssertJsonAsync(HttpStatusCode.Forbidden);
        Assert.Contains("Only the training service", problem["detail"]!.GetValue<string>());
        await Platform.Registry.GetAsync($"/models/{model}").AssertStatusAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task EveryChangeLeavesAnAuditRecordWithItsAuthorAddressAndTrace()
    {
        // Arrange: one person's key, and a trace the changes continue.
        var created = await CreateKeyAsync("audited", PlatformRoles.Reader, PlatformRoles.Scientist, PlatformRoles.Deployer);
        var (key, keyId) = (created["key"]!.GetValue<string>(), created["info"]!["id"]!.GetValue<string>());
        const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        var traceParent = $"00-{TraceId}-00f067aa0ba902b7-01";
        var dataset = PlatformSteps.UniqueName("audited");
        using var feature = Platform.Client("feature", key);
        using var training = Platform.Client("training", key);
        using var registry = Platform.Client("registry", key);

        // Act: upload, train (the training service registers the version), promote twice, and cancel a finished job.
        using (var upload = new HttpRequestMessage(HttpMethod.Post, $"/datasets/{dataset}/versions"))
        {
            upload.Content = new StringContent(PlatformSteps.IrisCsv(), Encoding.UTF8, "text/csv");
            upload.Headers.Add("traceparent", traceParent);
            await feature.SendAsync(upload).AssertStatusAsync(HttpStatusCode.Created);
        }

        var job = await training.PostAsJsonAsync("/training-jobs", new { modelName = dataset, dataset, label = "species", task = "multiclass" })
            .AssertJsonAsync(HttpStatusCode.Accepted);
        var jobId = job["id"]!.GetValue<string>();
        Platform.AssertJobStatus(await Platform.WaitForJobAsync(jobId), "succeeded");
        await registry.PutAsJsonAsync($"/models/{dataset}/aliases/production", new { version = 1 }).AssertStatusAsync(HttpStatusCode.OK);
        await registry.PutAsJsonAsync($"/models/{dataset}/aliases/production", new { version = 1, shadow = (int?)null })
            .AssertStatusAsync(HttpStatusCode.OK);

        // Assert: each service's trail names who did what, from where, under which trace.
        var uploaded = Assert.Single(await AuditAsync(Platform.Feature, $"resource=datasets/{dataset}"))!;
        Assert.Equal(("dataset-version.created", keyId, "audited", TraceId), (Text(uploaded, "action"), Text(uploaded, "actorId"),
            Text(uploaded, "actorName"), Text(uploaded, "traceId")));
        Assert.False(string.IsNullOrEmpty(Text(uploaded, "clientAddress")));
        Assert.Equal(150, uploaded["after"]!["rows"]!.GetValue<int>());

        var submitted = Assert.Single(await AuditAsync(Platform.Training, $"resource=training-jobs/{jobId}"))!;
        Assert.Equal(("training-job.submitted", keyId), (Text(submitted, "action"), Text(submitted, "actorId")));

        var modelTrail = await AuditAsync(Platform.Registry, $"resource=models/{dataset}");
        Assert.Equal(["alias.moved", "alias.moved", "model-version.registered"], modelTrail.Select(record => Text(record!, "action")));
        Assert.Equal("training", Text(modelTrail[^1]!, "actorName"));
        Assert.Equal(keyId, Text(modelTrail[0]!, "actorId"));

        var history = (await registry.GetFromJsonAsync<JsonObject>($"/models/{dataset}/aliases/production/history"))!["records"]!.AsArray();
        Assert.Equal(2, history.Count);
        Assert.Null(history[1]!["before"]);
        Assert.Equal(1, history[1]!["after"]!["version"]!.GetValue<int>());
        Assert.Equal(1, history[0]!["before"]!["version"]!.GetValue<int>());

        // Only an admin reads a service's trail.
        await registry.GetAsync("/audit").AssertStatusAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task UnderTheHttpsProfileEveryServiceServesOverTlsAndFindsTheOthersTlsEndpoints()
    {
        foreach (var service in PlatformFixture.Services)
        {
            // A keyed call over TLS, with a certificate this machine trusts (no validation is turned off).
            using var client = Platform.Client(service, Platform.Key);
            Assert.Equal(Uri.UriSchemeHttps, client.BaseAddress!.Scheme);
            await client.GetAsync("/health").AssertStatusAsync(HttpStatusCode.OK);

            // Each service calls the others by https+http://name, which takes their TLS endpoint when they have one.
            var environment = Platform.LatestStates().Values.First(update => update.Resource.Name == service).Snapshot.EnvironmentVariables;
            var others = environment.Where(variable => variable.Name.StartsWith("services__", StringComparison.Ordinal)).ToList();
            Assert.True(service == "identity" || others.Count > 0, $"{service} was told of no other service");
            Assert.All(others.Where(variable => variable.Name.EndsWith("__http__0", StringComparison.Ordinal)), http =>
                Assert.Contains(others, https => https.Name == http.Name.Replace("__http__", "__https__") && https.Value!.StartsWith("https://")));
        }
    }

    [Fact]
    public async Task NoGeneratedSecretAppearsInAnyServiceLog()
    {
        // Arrange: every secret the platform generated, and logs with refusals in them.
        var secrets = Directory.GetFiles(Path.Combine(Platform.DataDirectory, "secrets"))
            .Select(file => File.ReadAllText(file).Trim()).Append(Platform.Key).ToList();
        Assert.True(secrets.Count >= 6, $"expected the admin key, four service keys and the passwords, found {secrets.Count} secrets");
        using var wrongKey = Platform.Client("registry", "mpk_" + new string('x', 32));
        await wrongKey.GetAsync("/models").AssertStatusAsync(HttpStatusCode.Unauthorized);

        // Act: read what every replica of every resource has written so far.
        var logs = Directory.GetFiles(Platform.LogDirectory).ToDictionary(file => Path.GetFileName(file), ReadShared);

        // Assert
        Assert.NotEmpty(logs);
        foreach (var (file, text) in logs)
        {
            Assert.DoesNotContain(secrets, secret => text.Contains(secret, StringComparison.Ordinal));
            Assert.False(text.Contains("mpk_xxxx", StringComparison.Ordinal), $"{file} logged a presented key");
        }
    }

    private async Task<JsonObject> CreateKeyAsync(string name, params object[] rolesThenExpiry)
    {
        var roles = rolesThenExpiry.OfType<string>().ToArray();
        var expiresAt = rolesThenExpiry.OfType<DateTimeOffset>().Cast<DateTimeOffset?>().FirstOrDefault();
        return await Platform.Identity.PostAsJsonAsync("/api-keys", new { name, roles, expiresAt }).AssertJsonAsync(HttpStatusCode.Created);
    }

    /// <summary>Reads a log the fixture is still writing.</summary>
    private static string ReadShared(string path)
    {
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        return reader.ReadToEnd();
    }

    private string ServiceKey(string service) =>
        File.ReadAllText(Path.Combine(Platform.DataDirectory, "secrets", $"{service}-api-key")).Trim();

    /// <summary>A service's audit records matching <paramref name="query"/>, newest first, read with the admin key.</summary>
    private async Task<JsonArray> AuditAsync(HttpClient service, string query)
    {
        using var admin = new HttpClient { BaseAddress = service.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", Platform.AdminKey);
        return (await admin.GetFromJsonAsync<JsonObject>($"/audit?{query}"))!["records"]!.AsArray();
    }

    private static string? Text(JsonNode record, string property) => record[property]?.GetValue<string>();
}
