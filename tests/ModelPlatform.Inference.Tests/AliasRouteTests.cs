using ModelPlatform.Contracts;

namespace ModelPlatform.Inference.Tests;

/// <summary>The routes the registry accepts for an alias (<see cref="SetAliasRequest.Errors"/>), and the versions each needs loaded.</summary>
public class AliasRouteTests
{
    [Fact]
    public void BesideACanaryTheMainVersionMayShadowIt()
    {
        var request = new SetAliasRequest(1, new CanaryRoute(2, 10), Shadow: 1);

        Assert.Empty(request.Errors());
        Assert.Equal([1, 2], new AliasRoute(request.Version, request.Canary, request.Shadow).Versions());
    }

    [Fact]
    public void AVersionWithoutACanaryCannotShadowItself()
    {
        var errors = new SetAliasRequest(1, Shadow: 1).Errors();

        var shadow = Assert.Single(errors, error => error.Key == "shadow").Value.Single();
        Assert.Contains("only beside a canary", shadow);
        Assert.Single(errors);
    }

    [Fact]
    public void TheCanaryCannotShadowItself()
    {
        var errors = new SetAliasRequest(1, new CanaryRoute(2, 10), Shadow: 2).Errors();

        Assert.Equal(["shadow"], errors.Keys);
        Assert.Contains("canary.version", errors["shadow"].Single());
    }

    [Fact]
    public void AThirdVersionMayShadowACanaryRoute()
    {
        var request = new SetAliasRequest(1, new CanaryRoute(2, 10), Shadow: 3);

        Assert.Empty(request.Errors());
        Assert.Equal([1, 2, 3], new AliasRoute(request.Version, request.Canary, request.Shadow).Versions());
        Assert.Empty(new SetAliasRequest(1, Shadow: 3).Errors());
        Assert.Empty(new SetAliasRequest(1).Errors());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    public void ACanaryGetsFrom1To99Percent(int percent)
    {
        var errors = new SetAliasRequest(1, new CanaryRoute(2, percent)).Errors();

        Assert.Equal(["canary.percent"], errors.Keys);
        Assert.Contains($"got {percent}", errors["canary.percent"].Single());
    }

    [Fact]
    public void TheCanaryMustBeAnotherVersion()
    {
        var errors = new SetAliasRequest(1, new CanaryRoute(1, 10)).Errors();

        Assert.Equal(["canary.version"], errors.Keys);
    }
}
