namespace ModelPlatform.IntegrationTests;

/// <summary>
/// The base of every integration test class: all of them share the collection's one running platform, and each test
/// starts with every server and service running, whatever the test before it stopped.
/// </summary>
[Collection(PlatformCollection.Name)]
public abstract class PlatformTest(PlatformFixture platform) : IAsyncLifetime
{
    protected PlatformFixture Platform { get; } = platform;

    public Task InitializeAsync() => Platform.EnsureEverythingRunsAsync();

    public Task DisposeAsync() => Task.CompletedTask;
}
