using System.Diagnostics;
using System.Text.Json.Nodes;

namespace ModelPlatform.IntegrationTests;

/// <summary>The publish manifest that azd deploys: secrets only as generated secret inputs, never as values; TLS endpoints.</summary>
public class ManifestTests
{
    [Fact]
    public async Task ThePublishManifestHoldsEverySecretAsAGeneratedSecretInputAndNoSecretValue()
    {
        // Arrange: the manifest as `dotnet run --project AppHost -- --publisher manifest` writes it.
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "ModelPlatform.sln")))
        {
            root = root.Parent ?? throw new InvalidOperationException("The tests run outside the repository.");
        }

        var output = Directory.CreateTempSubdirectory("modelplatform-manifest-");
        try
        {
            var start = new ProcessStartInfo("dotnet",
                ["run", "--project", Path.Combine(root.FullName, "AppHost"), "--no-build", "--", "--publisher", "manifest", "--output-path",
                    Path.Combine(output.FullName, "aspire-manifest.json")])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            var log = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
            Assert.True(process.ExitCode == 0, $"the manifest was not written: {await log}{await errors}");

            // Act
            var resources = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(output.FullName, "aspire-manifest.json")))!["resources"]!.AsObject();

            // Assert: every key and password is a secret input that azd generates, and services get them only by reference.
            var secrets = resources.Where(resource => resource.Key.EndsWith("-api-key", StringComparison.Ordinal)
                || resource.Key.EndsWith("-password", StringComparison.Ordinal)).ToList();
            Assert.Contains(secrets, secret => secret.Key == "admin-api-key");
            var projects = resources.Where(resource => resource.Value!["type"]!.GetValue<string>() == "project.v0").ToList();
            Assert.Equal(["feature", "identity", "inference", "registry", "training"], projects.Select(project => project.Key).Order());
            // Every service has an https binding, so the ingress azd deploys serves it over TLS only.
            Assert.All(projects, project => Assert.Equal("https", project.Value!["bindings"]?["https"]?["scheme"]?.GetValue<string>()));
            foreach (var (name, secret) in secrets)
            {
                var input = secret!["inputs"]!["value"]!;
                Assert.True(input["secret"]!.GetValue<bool>(), $"{name} is not secret");
                Assert.NotNull(input["default"]!["generate"]);
                Assert.Null(input["default"]!["value"]);
            }

            foreach (var (name, resource) in resources)
            {
                foreach (var (variable, value) in resource!["env"]?.AsObject() ?? [])
                {
                    var text = value!.GetValue<string>();
                    var refersToSecret = secrets.Any(secret => text.Contains($"{{{secret.Key}.", StringComparison.Ordinal));
                    Assert.True(!variable.Contains("Key", StringComparison.Ordinal) || refersToSecret || text.Length == 0,
                        $"{name}'s {variable} holds a value, not a reference to a secret parameter: {text}");
                }
            }
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }
}
