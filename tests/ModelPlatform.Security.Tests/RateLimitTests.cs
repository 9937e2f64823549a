using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ModelPlatform.Contracts;

namespace ModelPlatform.Security.Tests;

public sealed class RateLimitTests
{
    [Fact]
    public async Task AKeyOverItsRolesBudgetGets429WithRetryAfterWhileOtherKeysGoOn()
    {
        // Arrange: readers may send 2 requests at once, then one every 10 s.
        using var host = new ServiceHost<Registry.RegistryOptions>("registry", new Dictionary<string, string>
        {
            ["RateLimits:Roles:reader:PermitsPerSecond"] = "0.1",
            ["RateLimits:Roles:reader:Burst"] = "2",
        });
        using var client = host.CreateClient();

        // Act: three requests from one reader, then one from another reader and one from a deployer who also reads.
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 3; i++)
        {
            var response = await SendAsync(client, RoleKeys.For(PlatformRoles.Reader));
            statuses.Add(response.StatusCode);
            refused = response;
        }

        using var otherKey = await SendAsync(client, RoleKeys.For(PlatformRoles.Reader, "other"));
        using var moreGenerous = await SendAsync(client, RoleKeys.For(PlatformRoles.Reader, PlatformRoles.Deployer));

        // Assert
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        Assert.True(refused!.Headers.RetryAfter?.Delta is { TotalSeconds: >= 1 and <= 10 }, $"Retry-After: {refused.Headers.RetryAfter}");
        var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.Contains("over its request budget", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, otherKey.StatusCode);
        Assert.Equal(HttpStatusCode.OK, moreGenerous.StatusCode);
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client.SendAsync(request);
    }
}
