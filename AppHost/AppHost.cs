var builder = DistributedApplication.CreateBuilder(args);

var redis = builder.AddPlatformRedis("redis");
var rabbitmq = builder.AddPlatformRabbitMQ("rabbitmq");

// The identity service owns API keys; every other service checks keys with it and calls the others under its own key.
var identity = builder.AddProject<Projects.ModelPlatform_Identity>("identity")
    .WithServiceData(builder)
    .WithEnvironment("ApiKeysOptions__AdminKey", builder.AddApiKey("admin-api-key"))
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health");

var feature = builder.AddProject<Projects.ModelPlatform_Feature>("feature")
    .WithServiceData(builder)
    .WithServiceIdentity(builder, identity)
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health");

var registry = builder.AddProject<Projects.ModelPlatform_Registry>("registry")
    .WithServiceData(builder)
    .WithServiceIdentity(builder, identity)
    .WithReference(rabbitmq).WaitFor(rabbitmq)
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health");

// Two workers compete for the training queue; a job survives either of them stopping.
builder.AddProject<Projects.ModelPlatform_Training>("training")
    .WithReplicas(2)
    .WithServiceData(builder)
    .WithServiceIdentity(builder, identity)
    .WithReference(rabbitmq).WaitFor(rabbitmq)
    .WithReference(feature).WaitFor(feature)
    .WithReference(registry).WaitFor(registry)
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health");

builder.AddProject<Projects.ModelPlatform_Inference>("inference")
    // The data plane allocates a few KB per request; a 64 MiB young generation per GC heap (the default is a few MiB on
    // small machines) cuts its pauses about ninefold under load (docs/performance.md). Only the environment sets it.
    .WithEnvironment("DOTNET_GCgen0size", "0x4000000")
    .WithServiceIdentity(builder, identity)
    .WithReference(redis).WaitFor(redis)
    .WithReference(rabbitmq).WaitFor(rabbitmq)
    .WithReference(registry).WaitFor(registry)
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health");

builder.Build().Run();

internal static class ServiceDataExtensions
{
    /// <summary>
    /// Gives a stateful service its own data folder under the platform's data directory when run locally.
    /// Deployed, each service keeps the default (<c>data</c> under its content root, for a mounted volume).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithServiceData(this IResourceBuilder<ProjectResource> service, IDistributedApplicationBuilder builder) =>
        builder.ExecutionContext.IsRunMode
            ? service.WithEnvironment("Storage__DataDirectory", Path.Combine(builder.DataDirectory(), service.Resource.Name))
            : service;
}
