using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace ModelPlatform.IntegrationTests;

/// <summary>
/// What gets deployed: the publish manifest that azd deploys (only containers and projects, data volumes, secrets as
/// generated secret inputs, one public entry point, each service's container-app module with its probes and scale rules),
/// and the Kubernetes manifests generated from it (deploy/kubernetes).
/// </summary>
public class ManifestTests : IClassFixture<ManifestTests.PublishedManifest>
{
    private static readonly string[] Servers = ["postgres", "rabbitmq", "redis"];
    private static readonly string[] StatefulServices = ["feature", "identity", "registry", "training"];
    private readonly JsonObject _resources;
    private readonly PublishedManifest _published;

    public ManifestTests(PublishedManifest published)
    {
        _published = published;
        _resources = published.Resources;
    }

    /// <summary>The manifest as <c>dotnet run --project AppHost -- --publisher manifest</c> writes it, once for the class.</summary>
    public sealed class PublishedManifest : IAsyncLifetime
    {
        public static readonly string Repository = FindRepository();
        private readonly DirectoryInfo _output = Directory.CreateTempSubdirectory("modelplatform-manifest-");

        public string Path => System.IO.Path.Combine(_output.FullName, "aspire-manifest.json");

        public JsonObject Resources { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var (exitCode, output) = await RunAsync("dotnet",
                ["run", "--project", System.IO.Path.Combine(Repository, "AppHost"), "--no-build", "--", "--publisher", "manifest", "--output-path", Path]);
            Assert.True(exitCode == 0, $"the manifest was not written: {output}");
            Resources = JsonNode.Parse(await File.ReadAllTextAsync(Path))!["resources"]!.AsObject();
        }

        public Task DisposeAsync()
        {
            _output.Delete(recursive: true);
            return Task.CompletedTask;
        }

        private static string FindRepository()
        {
            var root = new DirectoryInfo(AppContext.BaseDirectory);
            while (!File.Exists(System.IO.Path.Combine(root.FullName, "ModelPlatform.sln")))
            {
                root = root.Parent ?? throw new InvalidOperationException("The tests run outside the repository.");
            }

            return root.FullName;
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return (process.ExitCode, await output + await errors);
    }

    private IEnumerable<KeyValuePair<string, JsonNode?>> OfType(string prefix) =>
        _resources.Where(resource => resource.Value!["type"]!.GetValue<string>().StartsWith(prefix, StringComparison.Ordinal));

    [Fact]
    public void ThePublishManifestHoldsEverySecretAsAGeneratedSecretInputAndNoSecretValue()
    {
        // Every key and password is a secret input that azd generates, and services get them only by reference.
        var secrets = _resources.Where(resource => resource.Key.EndsWith("-api-key", StringComparison.Ordinal)
            || resource.Key.EndsWith("-password", StringComparison.Ordinal)).ToList();
        Assert.Contains(secrets, secret => secret.Key == "admin-api-key");
        Assert.Contains(secrets, secret => secret.Key == "postgres-password");
        foreach (var (name, secret) in secrets)
        {
            var input = secret!["inputs"]!["value"]!;
            Assert.True(input["secret"]!.GetValue<bool>(), $"{name} is not secret");
            Assert.NotNull(input["default"]!["generate"]);
            Assert.Null(input["default"]!["value"]);
        }

        foreach (var (name, resource) in _resources)
        {
            foreach (var (variable, value) in resource!["env"]?.AsObject() ?? [])
            {
                var text = value!.GetValue<string>();
                var refersToSecret = secrets.Any(secret => text.Contains($"{{{secret.Key}.", StringComparison.Ordinal));
                Assert.True(!(variable.Contains("Key", StringComparison.Ordinal) || variable.Contains("PASS", StringComparison.Ordinal))
                        || refersToSecret || text.Length == 0,
                    $"{name}'s {variable} holds a value, not a reference to a secret parameter: {text}");
            }
        }
    }

    [Fact]
    public void OnlyContainersAndProjectsAreDeployedTheServersWithDataVolumesAndOnlyTheGatewayIsPublic()
    {
        Assert.Empty(OfType("executable."));
        Assert.Equal(Servers, OfType("container.").Select(resource => resource.Key).Order());
        foreach (var (name, server) in OfType("container."))
        {
            Assert.True(server!["volumes"]?.AsArray().Count > 0, $"{name} keeps its data in no volume");
        }

        var projects = OfType("project.").ToList();
        Assert.Equal(["console", "feature", "gateway", "identity", "inference", "registry", "training"], projects.Select(project => project.Key).Order());
        // Every service has an https binding, so the ingress azd deploys serves it over TLS only; only the gateway and the
        // console are public.
        Assert.All(projects, project => Assert.Equal("https", project.Value!["bindings"]?["https"]?["scheme"]?.GetValue<string>()));
        var external = projects.Where(project => project.Value!["bindings"]!.AsObject().Any(binding => binding.Value!["external"]?.GetValue<bool>() == true));
        Assert.Equal(["console", "gateway"], external.Select(project => project.Key).Order());
    }

    [Fact]
    public void TheServicesThatServeReadsUnderLoadRunWithALargeYoungGeneration()
    {
        // Inference's predictions and the feature service's online reads allocate on every request; deployed, as locally,
        // each runs with a 64 MiB gen 0 (docs/performance.md), and the other services keep the runtime's default.
        var largeYoung = OfType("project.")
            .Where(project => project.Value!["env"]?["DOTNET_GCgen0size"]?.GetValue<string>() == "0x4000000")
            .Select(project => project.Key);

        Assert.Equal(["feature", "inference"], largeYoung.Order());
    }

    [Fact]
    public void EachStatefulServiceOwnsItsOwnPostgreSqlDatabase()
    {
        foreach (var (name, project) in OfType("project."))
        {
            var databases = project!["env"]!.AsObject().Where(variable => variable.Key.StartsWith("ConnectionStrings__", StringComparison.Ordinal)
                    && variable.Key.EndsWith("db", StringComparison.Ordinal))
                .Select(variable => variable.Key["ConnectionStrings__".Length..]).ToList();
            Assert.Equal(StatefulServices.Contains(name) ? [$"{name}db"] : [], databases);
        }

        foreach (var service in StatefulServices)
        {
            Assert.Equal($"{{postgres.connectionString}};Database={service}db", _resources[$"{service}db"]!["connectionString"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task EveryServiceDeploysToContainerAppsWithProbesOnItsHealthEndpointsAndItsScaleRules()
    {
        var compiler = typeof(ManifestTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(metadata => metadata.Key == "BicepCompiler").Value!;
        var secretParameters = _resources.Where(resource => resource.Value!["inputs"]?["value"]?["secret"]?.GetValue<bool>() == true)
            .Select(resource => resource.Key).ToList();
        // A URI-encoded password is a value of its own that refers to the secret.
        secretParameters.AddRange(OfType("annotated.string")
            .Where(value => secretParameters.Any(secret => value.Value!["value"]!.GetValue<string>() == $"{{{secret}.value}}"))
            .Select(value => value.Key).ToList());
        foreach (var (name, project) in OfType("project."))
        {
            // azd deploys a project.v1's own module, filling its parameters from the manifest's expressions.
            Assert.Equal("project.v1", project!["type"]!.GetValue<string>());
            var deployment = project["deployment"]!;
            Assert.Equal("azure.bicep.v0", deployment["type"]!.GetValue<string>());
            var module = Path.Combine(Path.GetDirectoryName(_published.Path)!, deployment["path"]!.GetValue<string>());
            var compiled = Path.ChangeExtension(module, ".json");
            var (exitCode, diagnostics) = await RunAsync(compiler, ["build", module, "--outfile", compiled]);
            // Bicep checks the module against Azure's own schema for container apps: a misspelt property is a warning.
            Assert.True(exitCode == 0 && diagnostics.Length == 0, $"{name}'s module does not compile cleanly: {diagnostics}");
            var template = JsonNode.Parse(await File.ReadAllTextAsync(compiled))!;

            var parameters = template["parameters"]!.AsObject();
            var supplied = deployment["params"]!.AsObject();
            Assert.Equal(supplied.Select(parameter => parameter.Key).Append("location").Order(), parameters.Select(parameter => parameter.Key).Order());
            foreach (var (parameter, expression) in supplied)
            {
                var holdsSecret = secretParameters.Any(secret => expression!.GetValue<string>().Contains($"{{{secret}.", StringComparison.Ordinal))
                    || parameter.StartsWith("env_connectionstrings__", StringComparison.Ordinal);
                Assert.True(holdsSecret == (parameters[parameter]!["type"]!.GetValue<string>() == "securestring"),
                    $"{name}'s {parameter} ({expression}) is {parameters[parameter]!["type"]}");
            }

            var app = Resources(template).Single(resource => resource["type"]!.GetValue<string>() == "Microsoft.App/containerApps");
            var container = app["properties"]!["template"]!["containers"]!.AsArray().Single()!;
            var probes = container["probes"]!.AsArray()
                .ToDictionary(probe => probe!["type"]!.GetValue<string>(), probe => probe!["httpGet"]!["path"]!.GetValue<string>());
            Assert.Equal(new Dictionary<string, string> { ["Readiness"] = "/health", ["Liveness"] = "/alive" }, probes);
            Assert.Equal(name is "gateway" or "console", app["properties"]!["configuration"]!["ingress"]!["external"]!.GetValue<bool>());
            var env = container["env"]!.AsArray().Select(variable => variable!["name"]!.GetValue<string>()).ToHashSet();
            Assert.All(project["env"]!.AsObject(), variable => Assert.True(env.Contains(variable.Key), $"{name}'s container app lacks {variable.Key}"));

            var scale = app["properties"]!["template"]!["scale"]!;
            var rules = scale["rules"]!.AsArray()
                .Select(rule => rule!["custom"]?["type"]?.GetValue<string>() ?? (rule!["http"] is null ? "?" : "http")).ToList();
            switch (name)
            {
                case "training":
                    // One worker per waiting job of either priority, reading each lane's queue length with the service's own RabbitMQ address.
                    var queues = scale["rules"]!.AsArray().Select(rule => rule!["custom"]!).ToList();
                    Assert.Equal(["training", "training.background"], queues.Select(queue => queue["metadata"]!["queueName"]!.GetValue<string>()));
                    Assert.All(queues, queue =>
                    {
                        Assert.Equal("rabbitmq", queue["type"]!.GetValue<string>());
                        var secret = queue["auth"]!.AsArray().Single()!["secretRef"]!.GetValue<string>();
                        Assert.Contains(container["env"]!.AsArray(), variable => variable!["name"]!.GetValue<string>() == "ConnectionStrings__rabbitmq"
                            && variable["secretRef"]?.GetValue<string>() == secret);
                    });
                    Assert.Equal(2, scale["minReplicas"]!.GetValue<int>());
                    break;
                case "inference":
                    Assert.Equal(["cpu", "http"], rules.Order());
                    break;
                default:
                    Assert.Equal(["http"], rules);
                    break;
            }
        }
    }

    private static IEnumerable<JsonNode> Resources(JsonNode template) => template["resources"] switch
    {
        JsonArray resources => resources!.Select(resource => resource!),
        JsonObject resources => resources.Select(resource => resource.Value!),
        _ => [],
    };

    [Fact]
    public async Task TheKubernetesManifestsAreGeneratedFromThisManifestAndMatchIt()
    {
        var folder = Path.Combine(PublishedManifest.Repository, "deploy", "kubernetes");
        var (exitCode, generated) = await RunAsync("python3", [Path.Combine(folder, "generate.py"), _published.Path]);
        Assert.True(exitCode == 0, generated);
        // Regenerate with: python3 deploy/kubernetes/generate.py aspire-manifest.json > deploy/kubernetes/modelplatform.yaml
        Assert.True(generated == await File.ReadAllTextAsync(Path.Combine(folder, "modelplatform.yaml")),
            "deploy/kubernetes/modelplatform.yaml is not what generate.py makes of the AppHost's manifest: regenerate it (docs/deploy.md).");

        var documents = Directory.GetFiles(folder, "*.yaml").SelectMany(ReadYaml).ToList();
        YamlMappingNode Find(string kind, string name) => documents.SingleOrDefault(document =>
            Text(document, "kind") == kind && Text((YamlMappingNode)document["metadata"], "name") == name)
            ?? throw new Xunit.Sdk.XunitException($"deploy/kubernetes has no {kind} {name}");

        foreach (var (name, server) in OfType("container."))
        {
            var statefulSet = Find("StatefulSet", name);
            var container = Containers(statefulSet).Single();
            Assert.Equal(server!["image"]!.GetValue<string>(), Text(container, "image"));
            var mounts = ((YamlSequenceNode)container["volumeMounts"]).Cast<YamlMappingNode>().Select(mount => Text(mount, "mountPath"));
            Assert.Equal(server["volumes"]!.AsArray().Select(volume => volume!["target"]!.GetValue<string>()), mounts);
            Assert.Equal("ClusterIP", Text((YamlMappingNode)Find("Service", name)["spec"], "type"));
        }

        foreach (var (name, project) in OfType("project."))
        {
            var container = Containers(Find("Deployment", name)).Single();
            var env = ((YamlSequenceNode)container["env"]).Cast<YamlMappingNode>().Select(variable => Text(variable, "name")).ToHashSet();
            var expected = project!["env"]!.AsObject().Select(variable => variable.Key)
                .Where(variable => !variable.EndsWith("__https__0", StringComparison.Ordinal) && !variable.EndsWith("_HTTPS", StringComparison.Ordinal));
            Assert.All(expected, variable => Assert.True(env.Contains(variable), $"{name}'s Deployment lacks {variable}"));
            Assert.Equal("/health", Text((YamlMappingNode)((YamlMappingNode)container["readinessProbe"])["httpGet"], "path"));
            Assert.Equal("/alive", Text((YamlMappingNode)((YamlMappingNode)container["livenessProbe"])["httpGet"], "path"));
            Assert.Equal(name is "gateway" or "console" ? "LoadBalancer" : "ClusterIP", Text((YamlMappingNode)Find("Service", name)["spec"], "type"));
        }

        // Training scales on its queue and its background lane's, inference on requests and CPU, and each rule targets a Deployment that exists.
        var training = (YamlMappingNode)Find("ScaledObject", "training")["spec"];
        Assert.Equal("training", Text((YamlMappingNode)training["scaleTargetRef"], "name"));
        var triggers = ((YamlSequenceNode)training["triggers"]).Cast<YamlMappingNode>().ToList();
        Assert.Equal([("rabbitmq", "training"), ("rabbitmq", "training.background")],
            triggers.Select(trigger => (Text(trigger, "type"), Text((YamlMappingNode)trigger["metadata"], "queueName"))));
        var inference = (YamlMappingNode)Find("HorizontalPodAutoscaler", "inference")["spec"];
        Assert.Equal("inference", Text((YamlMappingNode)inference["scaleTargetRef"], "name"));
        Assert.Equal(["Resource", "Pods"], ((YamlSequenceNode)inference["metrics"]).Cast<YamlMappingNode>().Select(metric => Text(metric, "type")));
    }

    private static IEnumerable<YamlMappingNode> ReadYaml(string path)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(path)));
        return stream.Documents.Select(document => document.RootNode).OfType<YamlMappingNode>().Where(node => node.Children.ContainsKey("kind"));
    }

    private static IEnumerable<YamlMappingNode> Containers(YamlMappingNode workload) =>
        ((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)workload["spec"])["template"])["spec"])["containers"])
            .Cast<YamlMappingNode>();

    private static string Text(YamlMappingNode node, string key) => ((YamlScalarNode)node[key]).Value!;
}
