using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ModelPlatform.IntegrationTests;

/// <summary>
/// The platform scaled out: PostgreSQL for every service's state, and two replicas each of feature, registry, training and
/// inference. Replicas share nothing but the database, Redis and RabbitMQ: on PostgreSQL no service keeps a data folder,
/// and each process's scratch files go to a folder of its own.
/// </summary>
public sealed class ScaleOutFixture : PlatformFixture
{
    public static readonly string[] ScaledServices = ["feature", "registry", "training", "inference"];

    protected override string Name => "postgres";

    protected override string[] AppHostArguments => ["Platform:Store=postgres"];

    protected override void Configure(IDistributedApplicationTestingBuilder builder, Func<string, IResourceBuilder<ProjectResource>> project)
    {
        foreach (var service in ScaledServices)
        {
            project(service).WithReplicas(2);
        }
    }

    /// <summary>
    /// Also deletes the PostgreSQL cluster, which the AppHost keeps outside the data folder when it runs as root (PostgreSQL
    /// then runs as the <c>postgres</c> user, who cannot reach a root's temporary folder).
    /// </summary>
    public override async Task DisposeAsync()
    {
        var cluster = App.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<ExecutableResource>()
            .SingleOrDefault(resource => resource.Name == "postgres")?.WorkingDirectory;
        await base.DisposeAsync();
        if (cluster is not null && Directory.Exists(cluster))
        {
            Directory.Delete(cluster, recursive: true);
        }
    }

    /// <summary>
    /// A client for each replica of <paramref name="service"/>, straight to the replica (its own https address, not the
    /// orchestrator's proxy, which spreads calls over the replicas), sending the test key.
    /// </summary>
    public IReadOnlyList<(string ReplicaId, HttpClient Client)> ReplicaClients(string service) =>
        LatestStates().Values.Where(update => update.Resource.Name == service).OrderBy(update => update.ResourceId, StringComparer.Ordinal)
            .Select(update =>
            {
                var urls = update.Snapshot.EnvironmentVariables.Single(variable => variable.Name == "ASPNETCORE_URLS").Value!;
                var https = urls.Split(';').Single(url => url.StartsWith("https://", StringComparison.Ordinal));
                var client = new HttpClient { BaseAddress = new Uri(https) };
                client.DefaultRequestHeaders.Authorization = new("Bearer", Key);
                return (update.ResourceId, client);
            })
            .ToList();
}

[CollectionDefinition(Name)]
public sealed class ScaleOutCollection : ICollectionFixture<ScaleOutFixture>
{
    public const string Name = "ScaleOut";
}
