using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aspire.Hosting.Publishing;
using Microsoft.Extensions.Logging.Abstractions;

/// <summary>
/// How each service deploys to Azure Container Apps with azd. In publish mode a project becomes <c>project.v1</c> with a
/// <c>deployment</c>: a Bicep module written beside the manifest, whose parameters azd fills from the manifest's
/// expressions (as for modules Aspire's own Azure publisher writes). The module adds what azd's generated container apps
/// lack: readiness and liveness probes on the health endpoints, and the service's scale rules.
/// </summary>
internal static partial class ContainerApps
{
    // The outputs of the infrastructure azd provisions for an AppHost (its main.bicep).
    private static readonly string[] EnvironmentOutputs =
    [
        "AZURE_CONTAINER_APPS_ENVIRONMENT_ID",
        "AZURE_CONTAINER_REGISTRY_ENDPOINT",
        "AZURE_CONTAINER_REGISTRY_MANAGED_IDENTITY_ID",
        "MANAGED_IDENTITY_CLIENT_ID",
    ];

    /// <summary>
    /// Deploys <paramref name="project"/> as a container app of <paramref name="minReplicas"/> to <paramref name="maxReplicas"/>
    /// replicas, scaled by <paramref name="rules"/>.
    /// </summary>
    public static IResourceBuilder<ProjectResource> PublishAsContainerApp(
        this IResourceBuilder<ProjectResource> project, int minReplicas, int maxReplicas, params ScaleRule[] rules)
    {
        if (project.ApplicationBuilder.ExecutionContext.IsPublishMode)
        {
            var module = new ContainerAppModule(project.Resource, (minReplicas, maxReplicas), rules);
            project.WithAnnotation(new DeploymentTargetAnnotation(module));
        }

        return project;
    }

    /// <summary>What the manifest's <c>deployment</c> refers to; never a resource of the model itself.</summary>
    private sealed class ContainerAppModule : Resource
    {
        private readonly ProjectResource _project;
        private readonly (int Min, int Max) _replicas;
        private readonly ScaleRule[] _rules;

        public ContainerAppModule(ProjectResource project, (int Min, int Max) replicas, ScaleRule[] rules)
            : base($"{project.Name}-containerapp")
        {
            (_project, _replicas, _rules) = (project, replicas, rules);
            Annotations.Add(new ManifestPublishingCallbackAnnotation(WriteAsync));
        }

        private async Task WriteAsync(ManifestPublishingContext context)
        {
            var environment = await EnvironmentAsync(context);
            var path = $"{_project.Name}.module.bicep";
            await File.WriteAllTextAsync(
                Path.Combine(Path.GetDirectoryName(context.ManifestPath)!, path), Bicep(environment), context.CancellationToken);

            context.Writer.WriteString("type", "azure.bicep.v0");
            context.Writer.WriteString("path", path);
            context.Writer.WriteStartObject("params");
            foreach (var output in EnvironmentOutputs)
            {
                context.Writer.WriteString(OutputParameter(output), $"{{.outputs.{output}}}");
            }

            context.Writer.WriteString($"{Identifier(_project.Name)}_containerimage", $"{{{_project.Name}.containerImage}}");
            context.Writer.WriteString($"{Identifier(_project.Name)}_containerport", $"{{{_project.Name}.containerPort}}");
            foreach (var variable in environment.Where(variable => variable.IsExpression))
            {
                context.Writer.WriteString(variable.Parameter, variable.Value);
            }

            context.Writer.WriteEndObject();
        }

        /// <summary>The service's environment in the manifest's own expressions (a URI-encoded password included), each marked secret or not.</summary>
        private async Task<List<EnvironmentVariable>> EnvironmentAsync(ManifestPublishingContext context)
        {
            using var buffer = new MemoryStream();
            await using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                await new ManifestPublishingContext(context.ExecutionContext, context.ManifestPath, writer, context.CancellationToken)
                    .WriteEnvironmentVariablesAsync(_project);
                writer.WriteEndObject();
            }

            var configuration = await ExecutionConfigurationBuilder.Create(_project)
                .WithEnvironmentVariablesConfig()
                .BuildAsync(context.ExecutionContext, NullLogger.Instance, context.CancellationToken);
            var values = configuration.EnvironmentVariablesWithUnprocessed.ToDictionary(variable => variable.Key, variable => variable.Value.Unprocessed);
            var expressions = JsonNode.Parse(buffer.ToArray())!["env"]?.AsObject() ?? [];
            return [.. expressions.Select(variable => new EnvironmentVariable(variable.Key, variable.Value!.GetValue<string>(),
                // As azd decides for its own container apps: connection strings and whatever holds a secret parameter are secrets.
                variable.Key.StartsWith("ConnectionStrings__", StringComparison.Ordinal)
                    || HoldsSecret(values[variable.Key])))];
        }

        private static bool HoldsSecret(object? value) => value switch
        {
            ParameterResource parameter => parameter.Secret,
            // An address names a server, whose connection string holds its password: the address itself is no secret.
            EndpointReference or EndpointReferenceExpression => false,
            IValueWithReferences values => values.References.Any(HoldsSecret),
            _ => false,
        };

        private string Bicep(IReadOnlyList<EnvironmentVariable> environment)
        {
            var name = _project.Name;
            var image = $"{Identifier(name)}_containerimage";
            var port = $"{Identifier(name)}_containerport";
            var external = _project.Annotations.OfType<EndpointAnnotation>().Any(endpoint => endpoint.IsExternal);
            var secrets = environment.Where(variable => variable.IsSecret).ToList();
            foreach (var rule in _rules.Where(rule => rule.AuthenticatesWith is not null))
            {
                if (!secrets.Any(secret => secret.Name == rule.AuthenticatesWith))
                {
                    throw new InvalidOperationException(
                        $"{name}'s scale rule {rule.Name} authenticates with {rule.AuthenticatesWith}, which {name} is not given.");
                }
            }

            var bicep = new StringBuilder();
            bicep.AppendLine($"// Written by the AppHost (AppHost/ContainerApps.cs) with the manifest; azd fills the parameters and deploys it.");
            bicep.AppendLine("@description('The location for the resource(s) to be deployed.')");
            bicep.AppendLine("param location string = resourceGroup().location");
            bicep.AppendLine();
            foreach (var parameter in EnvironmentOutputs.Select(OutputParameter).Append(image).Append(port))
            {
                bicep.AppendLine($"param {parameter} string");
            }

            foreach (var variable in environment.Where(variable => variable.IsExpression))
            {
                bicep.AppendLine();
                if (variable.IsSecret)
                {
                    bicep.AppendLine("@secure()");
                }

                bicep.AppendLine($"param {variable.Parameter} string");
            }

            bicep.AppendLine(CultureInfo.InvariantCulture, $$"""

                resource {{Identifier(name)}} 'Microsoft.App/containerApps@2025-02-02-preview' = {
                  name: '{{name}}'
                  location: location
                  identity: {
                    type: 'UserAssigned'
                    userAssignedIdentities: {
                      '${{{OutputParameter("AZURE_CONTAINER_REGISTRY_MANAGED_IDENTITY_ID")}}}': {}
                    }
                  }
                  properties: {
                    environmentId: {{OutputParameter("AZURE_CONTAINER_APPS_ENVIRONMENT_ID")}}
                    configuration: {
                      activeRevisionsMode: 'Single'
                      ingress: {
                        // {{(external ? "Public: the gateway or the console." : "Reached by the other services over HTTP inside the environment.")}}
                        external: {{(external ? "true" : "false")}}
                        targetPort: int({{port}})
                        transport: 'http'
                        allowInsecure: {{(external ? "false" : "true")}}
                      }
                      registries: [
                        {
                          server: {{OutputParameter("AZURE_CONTAINER_REGISTRY_ENDPOINT")}}
                          identity: {{OutputParameter("AZURE_CONTAINER_REGISTRY_MANAGED_IDENTITY_ID")}}
                        }
                      ]
                      runtime: {
                        dotnet: {
                          autoConfigureDataProtection: true
                        }
                      }
                      secrets: [
                """);
            foreach (var secret in secrets)
            {
                bicep.AppendLine(CultureInfo.InvariantCulture, $$"""
                            {
                              name: '{{secret.SecretName}}'
                              value: {{secret.Parameter}}
                            }
                    """);
            }

            bicep.AppendLine(CultureInfo.InvariantCulture, $$"""
                      ]
                    }
                    template: {
                      containers: [
                        {
                          name: '{{name}}'
                          image: {{image}}
                          env: [
                            {
                              name: 'AZURE_CLIENT_ID'
                              value: {{OutputParameter("MANAGED_IDENTITY_CLIENT_ID")}}
                            }
                """);
            foreach (var variable in environment)
            {
                var value = variable.IsSecret ? $"secretRef: '{variable.SecretName}'"
                    : variable.IsExpression ? $"value: {variable.Parameter}"
                    : $"value: {Literal(variable.Value)}";
                bicep.AppendLine(CultureInfo.InvariantCulture, $$"""
                                {
                                  name: {{Literal(variable.Name)}}
                                  {{value}}
                                }
                    """);
            }

            bicep.AppendLine(CultureInfo.InvariantCulture, $$"""
                          ]
                          // Readiness checks the service's dependencies too; liveness only that the process answers.
                          probes: [
                            {
                              type: 'Readiness'
                              httpGet: {
                                path: '/health'
                                port: int({{port}})
                              }
                              periodSeconds: 5
                            }
                            {
                              type: 'Liveness'
                              httpGet: {
                                path: '/alive'
                                port: int({{port}})
                              }
                              initialDelaySeconds: 10
                              periodSeconds: 10
                            }
                          ]
                        }
                      ]
                      scale: {
                        minReplicas: {{_replicas.Min}}
                        maxReplicas: {{_replicas.Max}}
                        rules: [
                """);
            foreach (var rule in _rules)
            {
                bicep.Append(rule.ToBicep(secrets.FirstOrDefault(secret => secret.Name == rule.AuthenticatesWith)?.SecretName));
            }

            bicep.AppendLine(CultureInfo.InvariantCulture, $$"""
                        ]
                      }
                    }
                  }
                  tags: {
                    'azd-service-name': '{{name}}'
                    'aspire-resource-name': '{{name}}'
                  }
                }
                """);
            return bicep.ToString();
        }
    }

    /// <summary>One environment variable of the service: a literal, or an expression azd evaluates into a parameter.</summary>
    private sealed record EnvironmentVariable(string Name, string Value, bool IsSecret)
    {
        public bool IsExpression => References().IsMatch(Value);

        public string Parameter => "env_" + Identifier(Name);

        // Container Apps secret names: lower-case letters, digits and dashes.
        public string SecretName => SecretNameCharacters().Replace(Name.ToLowerInvariant(), "-");
    }

    private static string OutputParameter(string output) => "outputs_" + output.ToLowerInvariant();

    private static string Identifier(string name) => IdentifierCharacters().Replace(name, "_").ToLowerInvariant();

    /// <summary>A Bicep string literal.</summary>
    public static string Literal(string value) =>
        "'" + value.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("'", @"\'", StringComparison.Ordinal)
            .Replace("${", @"\${", StringComparison.Ordinal).Replace("\n", @"\n", StringComparison.Ordinal) + "'";

    [GeneratedRegex(@"\{([A-Za-z0-9-]*)\.[A-Za-z0-9.]+\}")]
    private static partial Regex References();

    [GeneratedRegex("[^A-Za-z0-9]")]
    private static partial Regex IdentifierCharacters();

    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex SecretNameCharacters();
}

/// <summary>A Container Apps scale rule (KEDA underneath).</summary>
/// <param name="Name">The rule's name.</param>
/// <param name="Type"><c>http</c>, or a KEDA scaler's type for a custom rule.</param>
/// <param name="Metadata">The scaler's settings.</param>
/// <param name="AuthenticatesWith">The environment variable whose secret the scaler reads its <c>host</c> from.</param>
internal sealed record ScaleRule(string Name, string Type, IReadOnlyDictionary<string, string> Metadata, string? AuthenticatesWith = null)
{
    /// <summary>A replica per <paramref name="concurrentRequests"/> requests in flight.</summary>
    public static ScaleRule Http(int concurrentRequests) =>
        new("http-requests", "http", new Dictionary<string, string> { ["concurrentRequests"] = $"{concurrentRequests}" });

    /// <summary>Replicas added while the average CPU use stays above <paramref name="percent"/>.</summary>
    public static ScaleRule Cpu(int percent) =>
        new("cpu", "cpu", new Dictionary<string, string> { ["type"] = "Utilization", ["value"] = $"{percent}" });

    /// <summary>A replica per <paramref name="messagesPerReplica"/> messages waiting in <paramref name="queue"/>.</summary>
    public static ScaleRule QueueLength(IResourceBuilder<IResourceWithConnectionString> server, string queue, int messagesPerReplica) =>
        // A rule's name takes lower-case letters, digits and dashes: training.background's rule is training-background-queue.
        new($"{queue.Replace('.', '-')}-queue", "rabbitmq",
            new Dictionary<string, string> { ["queueName"] = queue, ["mode"] = "QueueLength", ["value"] = $"{messagesPerReplica}" },
            $"ConnectionStrings__{server.Resource.Name}");

    public string ToBicep(string? secretName)
    {
        var metadata = string.Concat(Metadata.Select(setting => $"\n                {setting.Key}: {ContainerApps.Literal(setting.Value)}"));
        var auth = secretName is null ? "" : $$"""

                            auth: [
                              {
                                secretRef: '{{secretName}}'
                                triggerParameter: 'host'
                              }
                            ]
              """;
        return Type == "http"
            ? $$"""
                        {
                          name: '{{Name}}'
                          http: {
                            metadata: {{{metadata}}
                            }
                          }
                        }

              """
            : $$"""
                        {
                          name: '{{Name}}'
                          custom: {
                            type: '{{Type}}'
                            metadata: {{{metadata}}
                            }{{auth}}
                          }
                        }

              """;
    }
}
