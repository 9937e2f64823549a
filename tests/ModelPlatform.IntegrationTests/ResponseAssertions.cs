using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelPlatform.IntegrationTests;

/// <summary>
/// Status checks that show the request and the answer's body when they fail: a bare
/// <c>Assert.Equal(HttpStatusCode.OK, response.StatusCode)</c> hides the problem the service explained.
/// </summary>
internal static class ResponseAssertions
{
    private const int MaxBodyInMessage = 4000;

    /// <summary>Fails unless the answer has <paramref name="expected"/>; returns its body.</summary>
    public static async Task<string> AssertStatusAsync(this HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"Expected {Status(expected)}, got {Describe(response, body)}");
        return body;
    }

    /// <summary>Fails unless the answer is a success (2xx); returns its body.</summary>
    public static async Task<string> AssertSuccessAsync(this HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"Expected a success (2xx), got {Describe(response, body)}");
        return body;
    }

    /// <summary>Fails unless the answer has <paramref name="expected"/> and a JSON object as its body; returns the object.</summary>
    public static async Task<JsonObject> AssertJsonAsync(this HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var body = await response.AssertStatusAsync(expected);
        try
        {
            return JsonNode.Parse(body)?.AsObject() ?? throw new JsonException("the body is JSON null");
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            Assert.Fail($"Expected a JSON object ({ex.Message}), got {Describe(response, body)}");
            throw;
        }
    }

    /// <summary>Sends, checks as <see cref="AssertJsonAsync(HttpResponseMessage, HttpStatusCode)"/> and disposes the answer.</summary>
    public static async Task<JsonObject> AssertJsonAsync(this Task<HttpResponseMessage> sending, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await sending;
        return await response.AssertJsonAsync(expected);
    }

    /// <summary>Sends, checks as <see cref="AssertStatusAsync(HttpResponseMessage, HttpStatusCode)"/> and disposes the answer.</summary>
    public static async Task<string> AssertStatusAsync(this Task<HttpResponseMessage> sending, HttpStatusCode expected)
    {
        using var response = await sending;
        return await response.AssertStatusAsync(expected);
    }

    /// <summary>"400 BadRequest from POST http://…/predict: {body}", for failure messages.</summary>
    public static string Describe(HttpResponseMessage response, string body)
    {
        var request = response.RequestMessage;
        var shown = body.Length > MaxBodyInMessage ? body[..MaxBodyInMessage] + $"… ({body.Length} characters)" : body;
        return $"{Status(response.StatusCode)} from {request?.Method} {request?.RequestUri}: {(shown.Length == 0 ? "(empty body)" : shown)}";
    }

    private static string Status(HttpStatusCode status) => $"{(int)status} {status}";
}
