using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace ModelPlatform.IntegrationTests;

/// <summary>The one public entry point: each service's API under its name, behind a key, within each service's own limits.</summary>
public class GatewayTests(PlatformFixture platform) : PlatformTest(platform)
{
    [Theory]
    [InlineData("/identity/api-keys")]
    [InlineData("/feature/datasets")]
    [InlineData("/training/training-jobs")]
    [InlineData("/registry/models")]
    [InlineData("/inference/v2/health/ready")]
    public async Task EachServiceAnswersUnderItsNameThroughTheGateway(string path)
    {
        using var response = await Platform.Gateway.GetAsync(path);

        await response.AssertStatusAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task TheGatewayRefusesACallerWithoutAKeyBeforeAnyServiceSeesIt()
    {
        using var anonymous = Platform.Client("gateway", "");
        anonymous.DefaultRequestHeaders.Authorization = null;

        using var refused = await anonymous.GetAsync("/registry/models");
        using var document = await anonymous.GetAsync("/registry/openapi/v1.json");

        await refused.AssertStatusAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        // The services' API descriptions stay open, as on the services themselves.
        await document.AssertStatusAsync(HttpStatusCode.OK);
        Assert.Contains("/models/{name}/aliases/{alias}", await document.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/registry")]
    [InlineData("/inference")]
    public async Task EachServicesApiReferenceIsOpenThroughTheGatewayAndDescribesTheKey(string prefix)
    {
        using var anonymous = Platform.Client("gateway", "");
        anonymous.DefaultRequestHeaders.Authorization = null;

        var page = await anonymous.GetAsync($"{prefix}/scalar/").AssertStatusAsync(HttpStatusCode.OK);
        using var script = await anonymous.GetAsync($"{prefix}/scalar/scalar.js");
        var document = JsonNode.Parse(await anonymous.GetAsync($"{prefix}/openapi/v1.json").AssertStatusAsync(HttpStatusCode.OK))!;

        // The page loads its scripts from the service and the document from beside it, under the gateway's prefix.
        Assert.Contains("scalar.js", page);
        Assert.Contains("openapi/v1.json", page);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.True((await script.Content.ReadAsByteArrayAsync()).Length > 100_000, "Scalar's script is served by the service itself.");
        var scheme = document["components"]!["securitySchemes"]!["ApiKey"]!;
        Assert.Equal("http", scheme["type"]!.GetValue<string>());
        Assert.Equal("bearer", scheme["scheme"]!.GetValue<string>());
        Assert.Contains(document["security"]!.AsArray(), requirement => requirement!["ApiKey"] is not null);
    }

    [Fact]
    public async Task AnUnknownServiceIsNotFound()
    {
        using var response = await Platform.Gateway.GetAsync("/nothing/here");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task EachRouteTakesNoMoreThanItsServiceAccepts()
    {
        // Training accepts 4 MiB: the gateway refuses more itself. The body waits for the gateway's go-ahead (100-continue), as
        // a careful client's does: the refusal then comes before any of it is sent, rather than racing a half-sent body.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/training/training-jobs")
        {
            Content = new StringContent("{\"modelName\":\"" + new string('x', 5 << 20) + "\"}", Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;
        using var tooLarge = await Platform.Gateway.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
    }

    [Fact]
    public async Task AChangeMadeThroughTheGatewayIsAuditedUnderTheCallersKey()
    {
        var dataset = PlatformSteps.UniqueName("gateway");
        using var upload = await Platform.Gateway.PostAsync(
            $"/feature/datasets/{dataset}/versions", new StringContent(PlatformSteps.IrisCsv(), Encoding.UTF8, "text/csv"));
        await upload.AssertStatusAsync(HttpStatusCode.Created);

        using var admin = Platform.Client("gateway", Platform.AdminKey);
        var trail = await admin.GetFromJsonAsync<JsonObject>($"/feature/audit?resource=datasets/{dataset}");

        var record = Assert.Single(trail!["records"]!.AsArray())!;
        Assert.Equal("tests", record["actorName"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(record["clientAddress"]?.GetValue<string>()), $"no client address: {record}");
    }
}
