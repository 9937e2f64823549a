using ModelPlatform.Console.Platform;

namespace ModelPlatform.Security.Tests;

/// <summary>Signing in sends the browser back where it came from, but only to a page of the console: never to another site.</summary>
public sealed class ConsoleReturnUrlTests
{
    [Theory]
    [InlineData("/datasets", "/datasets")]
    [InlineData("/models/churn?drift=2", "/models/churn?drift=2")]
    [InlineData(null, "/")]
    [InlineData("", "/")]
    [InlineData("https://elsewhere.example/", "/")]
    [InlineData("//elsewhere.example/", "/")]
    [InlineData("/\\elsewhere.example/", "/")]
    [InlineData("datasets", "/")]
    [InlineData("javascript:alert(1)", "/")]
    public void OnlyAPathOfTheConsoleIsFollowed(string? returnUrl, string expected) =>
        Assert.Equal(expected, ConsoleSignIn.LocalReturnUrl(returnUrl));
}
