using ModelPlatform.Contracts;
using ModelPlatform.Feature.Offline;
using ModelPlatform.Feature.Online;
using ModelPlatform.Features;
using ModelPlatform.Features.Online;

namespace ModelPlatform.Feature.Tests;

/// <summary>What an online read resolves its references to, and how many definition lookups that costs.</summary>
public class OnlineFeatureLookupTests
{
    private static readonly EntityDefinition Customer = new("customer", [new JoinKey("customer_id", ColumnType.Numeric)]);

    private static readonly string[] ViewNames = ["profile", "spend_30d", "activity_7d"];

    private static readonly Dictionary<string, FeatureViewDefinition> Views = ViewNames.ToDictionary(name => name, name => new FeatureViewDefinition(
        name, "customer", name, "event_time", [.. Enumerable.Range(0, 10).Select(k => new FeatureField($"f{k}"))], TtlSeconds: 3600));

    private readonly List<string> _viewLookups = [];
    private readonly List<string> _entityLookups = [];

    [Fact]
    public async Task EachViewAndEntityIsLookedUpOncePerReadHoweverManyOfItsFeaturesAreNamed()
    {
        string[] references = [.. ViewNames.SelectMany(view => Enumerable.Range(0, 10).Select(k => $"{view}:f{k}"))];

        var features = await ResolveAsync(references);

        Assert.Equal(ViewNames, _viewLookups);
        Assert.Equal(["customer"], _entityLookups);
        Assert.Equal(ViewNames, features.Select(request => request.View.Name));
        Assert.All(features, request =>
        {
            Assert.Equal(["customer_id"], request.View.JoinKeys);
            Assert.Equal((TimeSpan.FromHours(1), 10), (request.View.Ttl, request.Features.Count));
        });
    }

    [Theory]
    [InlineData("profile:f0,spend", "features[1]", "'spend' is not view:feature")]
    [InlineData("profile:f0,orders:total", "features[1]", "there is no feature view 'orders'")]
    [InlineData("profile:f0,profile:f10", "features[1]", "feature view 'profile' has no feature 'f10'")]
    public async Task AReferenceToNoFeatureIsRefusedNamingItsPlace(string references, string field, string message)
    {
        var refused = await Assert.ThrowsAsync<FeatureRequestException>(() => ResolveAsync(references.Split(',')));

        Assert.Equal((field, message), (refused.Field, refused.Message));
    }

    private Task<IReadOnlyList<OnlineFeatureRequest>> ResolveAsync(IReadOnlyList<string> references) => OnlineFeatureLookup.ResolveAsync(
        references,
        view =>
        {
            _viewLookups.Add(view);
            return Task.FromResult(Views.GetValueOrDefault(view));
        },
        entity =>
        {
            _entityLookups.Add(entity);
            return Task.FromResult<EntityDefinition?>(entity == Customer.Name ? Customer : null);
        });
}
