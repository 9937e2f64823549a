using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace ModelPlatform.Inference.Tests;

/// <summary>Clients that move artifacts get their own timeouts, and never send a POST twice unless told it is idempotent.</summary>
public class LargeTransferResilienceTests
{
    private sealed class Unavailable : HttpMessageHandler
    {
        public int Calls;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Calls);
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable));
        }
    }

    [Fact]
    public void ATransferGetsTheSmallRequestTimeoutPlusTimeForItsBytes()
    {
        using var small = new HttpRequestMessage(HttpMethod.Get, "/models/iris/versions/1");
        using var upload = new HttpRequestMessage(HttpMethod.Post, "/models/iris/versions") { Content = new ByteArrayContent(new byte[50_000_000]) };
        using var download = new HttpRequestMessage(HttpMethod.Get, "/models/iris/versions/1/artifact");
        download.Options.Set(LargeTransfers.ExpectedBytes, 200_000_000L);

        Assert.Equal(TimeSpan.FromSeconds(10), LargeTransfers.AttemptTimeout(small));
        Assert.Equal(TimeSpan.FromSeconds(60), LargeTransfers.AttemptTimeout(upload));
        Assert.Equal(TimeSpan.FromSeconds(210), LargeTransfers.AttemptTimeout(download));
    }

    [Fact]
    public async Task ALargeTransferClientTimesEachRequestByItsSizeAndDoesNotRepeatAPost()
    {
        // Arrange: every client gets the standard handler, as the service defaults do; this one asks for large transfers.
        var unavailable = new Unavailable();
        var services = new ServiceCollection();
        services.ConfigureHttpClientDefaults(http => http.AddStandardResilienceHandler());
        services.AddHttpClient("artifacts", http => http.BaseAddress = new("http://registry"))
            .ConfigurePrimaryHttpMessageHandler(() => unavailable)
            .AddLargeTransferResilience();
        using var provider = services.BuildServiceProvider();

        // Act
        var options = provider.GetRequiredService<IOptionsMonitor<HttpStandardResilienceOptions>>().Get("artifacts-standard");
        using var response = await provider.GetRequiredService<IHttpClientFactory>().CreateClient("artifacts")
            .PostAsync("/models/iris/versions", new StringContent("{}"));

        // Assert
        Assert.NotNull(options.AttemptTimeout.TimeoutGenerator);
        Assert.NotNull(options.TotalRequestTimeout.TimeoutGenerator);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, unavailable.Calls);
    }
}
