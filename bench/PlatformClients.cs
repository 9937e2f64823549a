using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.Testing;

namespace ModelPlatform.Bench;

/// <summary>Clients of a platform the benchmarks started, and the key they send (shared by the benchmark projects).</summary>
internal static class PlatformClients
{
    /// <summary>Makes a key with every user role, with the first admin key the AppHost generated in <paramref name="dataDirectory"/>.</summary>
    public static async Task<string> CreateKeyAsync(DistributedApplication app, string dataDirectory)
    {
        var admin = (await File.ReadAllTextAsync(Path.Combine(dataDirectory, "secrets", "admin-api-key"))).Trim();
        using var identity = Client(app, "identity", admin);
        using var response = await identity.PostAsJsonAsync("/api-keys",
            new { name = "bench", roles = new[] { "reader", "predictor", "scientist", "deployer", "admin" } });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["key"]!.GetValue<string>();
    }

    public static HttpClient Client(DistributedApplication app, string service, string key)
    {
        var client = app.CreateHttpClient(service);
        client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return client;
    }
}
