var builder = DistributedApplication.CreateBuilder(args);

var redis = builder.AddPlatformRedis("redis");
var rabbitmq = builder.AddPlatformRabbitMQ("rabbitmq");
var store = PlatformStore.Add(builder, "postgres");

// The identity service owns API keys; every other service checks keys with it and calls the others under its own key.
var identity = store.For(builder.AddProject<Projects.ModelPlatform_Identity>("identity"))
    .WithEnvironment("ApiKeysOptions__AdminKey", builder.AddApiKey("admin-api-key"))
    .WithHttpHealthCheck("/health")
    .PublishAsContainerApp(minReplicas: 1, maxReplicas: 3, ScaleRule.Http(concurrentRequests: 100));

var registry = store.For(builder.AddProject<Projects.ModelPlatform_Registry>("registry"))
    .WithServiceIdentity(builder, identity)
    .WithReference(rabbitmq).WaitFor(rabbitmq)
    .WithHttpHealthCheck("/health")
    .PublishAsContainerApp(minReplicas: 1, maxReplicas: 3, ScaleRule.Http(concurrentRequests: 100));

var feature = store.For(builder.AddProject<Projects.ModelPlatform_Feature>("feature"))
    // Online reads allocate hundreds of KB each (192 KiB in the online store alone for 100 entities × 30 features): the
    // 64 MiB young generation that cut the inference service's GC pauses about ninefold under load (docs/performance.md).
    .WithEnvironment("DOTNET_GCgen0size", "0x4000000")
    .WithServiceIdentity(builder, identity)
    // Its online store: the latest feature values per entity, for serving.
    .WithReference(redis).WaitFor(redis)
    // Announces each new dataset version (DatasetVersionCreated); not waited for, as uploads are stored while it is down.
    .WithReference(rabbitmq)
    // Asked which models use a feature before a definition change could break them.
    .WithReference(registry)
    .WithHttpHealthCheck("/health")
    .PublishAsContainerApp(minReplicas: 1, maxReplicas: 3, ScaleRule.Http(concurrentRequests: 50));

// Two workers compete for the training queue and its background lane; a job survives either of them stopping.
var training = store.For(builder.AddProject<Projects.ModelPlatform_Training>("training"))
    .WithReplicas(2)
    .WithServiceIdentity(builder, identity)
    .WithReference(rabbitmq).WaitFor(rabbitmq)
    .WithReference(feature).WaitFor(feature)
    .WithReference(registry).WaitFor(registry)
    .WithHttpHealthCheck("/health")
    // Deployed, a worker is added per waiting job (each takes one at a time of each priority) from the queues training consumes:
    // interactive jobs' and the background lane's (EventBus:Lanes in its appsettings.json).
    .PublishAsContainerApp(minReplicas: 2, maxReplicas: 8,
        ScaleRule.QueueLength(rabbitmq, "training", messagesPerReplica: 1),
        ScaleRule.QueueLength(rabbitmq, "training.background", messagesPerReplica: 1));

var inference = builder.AddProject<Projects.ModelPlatform_Inference>("inference")
    // The data plane allocates a few KB per request; a 64 MiB young generation per GC heap (the default is a few MiB on
    // small machines) cuts its pauses about ninefold under load (docs/performance.md). Only the environment sets it.
    .WithEnvironment("DOTNET_GCgen0size", "0x4000000")
    .WithServiceIdentity(builder, identity)
    .WithReference(redis).WaitFor(redis)
    .WithReference(rabbitmq).WaitFor(rabbitmq)
    .WithReference(registry).WaitFor(registry)
    // Asked how served inputs drifted from the training data it holds; not waited for, as serving does not need it.
    .WithReference(feature)
    .WithHttpHealthCheck("/health")
    .PublishAsContainerApp(minReplicas: 2, maxReplicas: 10, ScaleRule.Http(concurrentRequests: 100), ScaleRule.Cpu(percent: 70));

// Pipelines read what a canary served (live traffic, shadow agreement, serving drift); not waited for, as training does not
// need serving to start.
training.WithReference(inference);

// The one public entry point when deployed: the services' APIs under /identity, /feature, /training, /registry and
// /inference. Locally every service also answers on its own ports.
var gateway = builder.AddProject<Projects.ModelPlatform_Gateway>("gateway")
    .WithServiceIdentity(builder, identity)
    .WithReference(feature).WaitFor(feature)
    .WithReference(training).WaitFor(training)
    .WithReference(registry).WaitFor(registry)
    .WithReference(inference).WaitFor(inference)
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .PublishAsContainerApp(minReplicas: 2, maxReplicas: 5, ScaleRule.Http(concurrentRequests: 200));

// The web console: people sign in with an API key and work through the services' APIs as themselves (the key's roles, and
// its name in the audit). Its own identity only checks keys; Redis holds the keys that encrypt its session cookies.
builder.AddProject<Projects.ModelPlatform_Console>("console")
    .WithServiceIdentity(builder, identity)
    .WithReference(redis).WaitFor(redis)
    .WithReference(feature).WaitFor(feature)
    .WithReference(training).WaitFor(training)
    .WithReference(registry).WaitFor(registry)
    .WithReference(inference).WaitFor(inference)
    // Links to each service's API reference go through the public entry point.
    .WithEnvironment("ConsoleOptions__GatewayUrl", PublicEndpoint(gateway))
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .PublishAsContainerApp(minReplicas: 1, maxReplicas: 3, ScaleRule.Http(concurrentRequests: 100));

builder.Build().Run();

// TLS where the launch profile serves it (https, the default), else plain HTTP.
static EndpointReference PublicEndpoint(IResourceBuilder<ProjectResource> project) =>
    project.GetEndpoint(project.Resource.Annotations.OfType<EndpointAnnotation>().Any(endpoint => endpoint.Name == "https") ? "https" : "http");
