using System.Diagnostics;
using System.Text;

namespace ModelPlatform.Template.Tests;

/// <summary>
/// <c>dotnet new modelplatform</c>, as a team would use it: the template is installed from the repository into a hive of the
/// test's own (so the machine's templates are untouched), instantiated under a new name in a temporary folder, and the
/// solution it gives must build and pass its unit tests.
/// </summary>
public sealed class TemplateTests : IDisposable
{
    private static readonly string Repository = FindRepository();
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("modelplatform-template-");

    private string Hive => Path.Combine(_work.FullName, "hive");

    /// <summary>The unit test projects of a generated solution: all but the integration tests (which start the whole
    /// platform), this one, and the ML tests (the slowest, the same code as this solution's own).</summary>
    private static readonly string[] UnitTests = ["Feature", "Inference", "Messaging", "Security", "Storage", "Training"];

    [Fact]
    public async Task ANewSolutionIsRenamedThroughoutBuildsAndPassesItsUnitTests()
    {
        var output = await InstantiateAsync("Contoso.ML");

        Assert.True(File.Exists(Path.Combine(output, "Contoso.ML.sln")), "the solution is not renamed");
        Assert.True(File.Exists(Path.Combine(output, "services", "Contoso.ML.Feature", "Contoso.ML.Feature.csproj")), "the projects are not renamed");
        var leftovers = Directory.EnumerateFiles(output, "*.cs", SearchOption.AllDirectories)
            .Where(file => File.ReadAllText(file) is var text && (text.Contains("namespace ModelPlatform", StringComparison.Ordinal)
                || text.Contains("Projects.ModelPlatform_", StringComparison.Ordinal)))
            .ToList();
        Assert.True(leftovers.Count == 0, $"still named ModelPlatform: {string.Join(", ", leftovers)}");
        Assert.Contains("\"Store\": \"sqlite\"", File.ReadAllText(Path.Combine(output, "AppHost", "appsettings.json")));
        Assert.Contains("Platform__DataDirectory", File.ReadAllText(Path.Combine(output, "scripts", "admin-key.sh")));

        await RunAsync("dotnet", ["build", Path.Combine(output, "Contoso.ML.sln")], output);
        foreach (var project in UnitTests)
        {
            await RunAsync("dotnet", ["test", Path.Combine(output, "tests", $"Contoso.ML.{project}.Tests"), "--no-build"], output);
        }
    }

    [Fact]
    public async Task StorePostgresMakesPostgreSqlTheLocalDefault()
    {
        var output = await InstantiateAsync("Acme-Models", "--store", "postgres", "--skipRestore");

        Assert.Contains("\"Store\": \"postgres\"", File.ReadAllText(Path.Combine(output, "AppHost", "appsettings.json")));
        Assert.True(File.Exists(Path.Combine(output, "Acme-Models.sln")));
        // A name that is no C# identifier still gives valid names for Aspire's generated project types.
        Assert.Contains("Projects.Acme_Models_Feature", File.ReadAllText(Path.Combine(output, "AppHost", "AppHost.cs")));
    }

    private async Task<string> InstantiateAsync(string name, params string[] options)
    {
        await RunAsync("dotnet", ["new", "install", Repository, "--force", "--debug:custom-hive", Hive], _work.FullName);
        var output = Path.Combine(_work.FullName, name);
        await RunAsync("dotnet", ["new", "modelplatform", "-n", name, "-o", output, "--debug:custom-hive", Hive, .. options], _work.FullName);
        return output;
    }

    private static async Task RunAsync(string program, string[] arguments, string directory)
    {
        var start = new ProcessStartInfo(program, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // The generated solution's tests are run as a user would run them, not inside this test host's settings.
        start.Environment.Remove("VSTEST_HOST_DEBUG");
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, line) => output.AppendLine(line.Data);
        process.ErrorDataReceived += (_, line) => output.AppendLine(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(10));
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}):\n{output}");
    }

    private static string FindRepository()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, ".template.config", "template.json")))
        {
            root = root.Parent ?? throw new InvalidOperationException("The tests run outside the repository.");
        }

        return root.FullName;
    }

    public void Dispose() => _work.Delete(recursive: true);
}
