using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aspire.Hosting.Testing;
using Xunit.Abstractions;

namespace ModelPlatform.IntegrationTests;

/// <summary>
/// The README's curl commands, read from README.md at test time and run with the real curl against the platform, in
/// order: each must answer as the README says (see <see cref="Readme"/> for how it is read). Step 6 of the walkthrough,
/// promoting a second version, has no command of its own; EndToEndTests and InferenceTests cover the hot swap.
/// </summary>
public partial class ReadmeTests(PlatformFixture platform, ITestOutputHelper output) : PlatformTest(platform)
{
    /// <summary>The dataset and model the README uses; no other test may use this name.</summary>
    private const string ReadmeModel = "iris";

    [Fact]
    public async Task TheCurlCommandsOfTheReadmeWorkAsWritten()
    {
        // Arrange: the README's commands, a folder holding samples/iris.csv and samples/grunfeld as they expect, and the real address of
        // each service's fixed local port. The README counts versions from 1: the name must be new to this platform.
        var blocks = Readme.CurlBlocks();
        Assert.Contains(blocks, block => block.Heading == "A walk through the whole path with curl");
        await Platform.Feature.GetAsync($"/datasets/{ReadmeModel}").AssertStatusAsync(HttpStatusCode.NotFound);
        await Platform.Registry.GetAsync($"/models/{ReadmeModel}").AssertStatusAsync(HttpStatusCode.NotFound);
        var addresses = Readme.ServicePorts().ToDictionary(
            port => port.Key, port => (Service: port.Value, Real: Platform.App.GetEndpoint(port.Value, "http").Authority));
        Assert.Equal(PlatformFixture.Services.Order(), addresses.Values.Select(address => address.Service).Order());
        var folder = Directory.CreateTempSubdirectory("modelplatform-readme-");
        try
        {
            Directory.CreateDirectory(Path.Combine(folder.FullName, "samples"));
            File.Copy(Path.Combine(AppContext.BaseDirectory, "iris.csv"), Path.Combine(folder.FullName, "samples", "iris.csv"));
            var grunfeld = Directory.CreateDirectory(Path.Combine(folder.FullName, "samples", "grunfeld"));
            foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "grunfeld")))
            {
                File.Copy(file, Path.Combine(grunfeld.FullName, Path.GetFileName(file)));
            }
            Directory.CreateDirectory(Path.Combine(folder.FullName, "scripts"));
            File.Copy(Path.Combine(AppContext.BaseDirectory, "scripts", "admin-key.sh"), Path.Combine(folder.FullName, "scripts", "admin-key.sh"));
            var placeholders = new Dictionary<string, string>();
            // The admin key script reads the platform's data folder, as it would on a user's machine.
            var variables = new Dictionary<string, string> { ["Platform__DataDirectory"] = Platform.DataDirectory };

            // Act and assert, command by command.
            foreach (var block in blocks)
            {
                foreach (var command in block.Commands)
                {
                    output.WriteLine($"README.md line {command.Line} ({block.Heading}): {command.Shell}");
                    var shell = placeholders.Aggregate(command.Shell, (text, placeholder) => text.Replace(placeholder.Key, placeholder.Value));
                    Assert.False(shell.Contains(Readme.Elision), $"README.md line {command.Line} has a placeholder no earlier answer shows: {shell}");
                    if (ExportLine().Match(shell) is { Success: true } export)
                    {
                        variables[export.Groups["name"].Value] = export.Groups["value"].Value;
                        continue;
                    }

                    var services = addresses.Where(address => shell.Contains(address.Key)).Select(address => address.Value.Service).ToList();
                    Assert.True(shell.StartsWith("curl ", StringComparison.Ordinal) && services.Count == 1,
                        $"README.md line {command.Line}: expected a curl command to one service of the README's table, got {shell}");
                    shell = addresses.Aggregate(shell, (text, address) => text.Replace(address.Key, address.Value.Real));

                    var answer = await CurlAsync(shell, folder.FullName, variables, command.Line);

                    foreach (var (placeholder, value) in CheckAnswer(command, answer, folder.FullName))
                    {
                        placeholders[placeholder] = value;
                    }

                    // Jobs and pipeline runs go on in the background; the README's next commands look at what they did.
                    if (services[0] == "training" && answer.Status == HttpStatusCode.Accepted
                        && PipelineRuns().Match(shell) is { Success: true } runs)
                    {
                        await WaitForRunAsync(runs.Groups["pipeline"].Value, JsonNode.Parse(answer.Body)!["id"]!.GetValue<string>());
                    }
                    else if (services[0] == "training" && answer.Status == HttpStatusCode.Accepted)
                    {
                        var kind = shell.Contains("/batch-predictions", StringComparison.Ordinal) ? "batch-predictions" : "training-jobs";
                        var job = await Platform.WaitForJobAsync(JsonNode.Parse(answer.Body)!["id"]!.GetValue<string>(), kind);
                        Platform.AssertJobStatus(job, "succeeded");
                    }
                }
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>Waits until the pipeline's run has ended, and fails unless it promoted its candidate.</summary>
    private async Task WaitForRunAsync(string pipeline, string id)
    {
        var run = await Platform.WaitUntilAsync(
            $"run {id} of pipeline {pipeline} to end",
            () => Platform.Training.GetFromJsonAsync<JsonObject>($"/pipelines/{pipeline}/runs/{id}"),
            seen => seen?["status"]?.GetValue<string>() is not ("pending" or "waiting" or "training" or "gating"),
            PlatformSteps.JobTimeout,
            ["training", "registry"],
            seen => seen?.ToJsonString() ?? "(no answer)");
        Assert.True(run!["status"]!.GetValue<string>() == "promoted", $"Expected the README's pipeline run to promote its candidate: {run}");
    }

    /// <summary>What curl wrote and the status and content type it saw.</summary>
    private sealed record CurlAnswer(string Shell, HttpStatusCode Status, string ContentType, string Body)
    {
        public override string ToString() =>
            $"`{Shell}` answered {(int)Status} {Status} ({ContentType}): {(Body.Length > 4000 ? Body[..4000] + "…" : Body)}";
    }

    /// <summary>
    /// Runs the command with bash and the real curl, told to write the status and content type after the body. The
    /// machine's proxy settings are left out: the platform is on this machine.
    /// </summary>
    private static async Task<CurlAnswer> CurlAsync(string shell, string folder, IReadOnlyDictionary<string, string> variables, int line)
    {
        const string Curl = "curl() { command curl -S --noproxy '*' --max-time 120 -w '\\n%{http_code} %{content_type}' \"$@\"; }\n";
        var start = new ProcessStartInfo("bash")
        {
            ArgumentList = { "-c", Curl + shell },
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var proxy in new[] { "http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY" })
        {
            start.Environment.Remove(proxy);
        }

        foreach (var (name, value) in variables)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"README.md line {line}: `{shell}` did not finish within 3 minutes.");
        }

        var (written, errors) = (await stdout, await stderr);
        Assert.True(process.ExitCode == 0, $"README.md line {line}: `{shell}` exited with {process.ExitCode}: {errors}{written}");
        var cut = written.LastIndexOf('\n');
        var writeOut = written[(cut + 1)..].Split(' ', 2);
        return new CurlAnswer(shell, (HttpStatusCode)int.Parse(writeOut[0]), writeOut.ElementAtOrDefault(1) ?? "", written[..cut]);
    }

    /// <summary>
    /// Checks the answer's status (the one a README problem shows, else a success) and its shape against the README's;
    /// returns the placeholders the README's answer defines, with their real values.
    /// </summary>
    private static List<(string Placeholder, string Value)> CheckAnswer(ReadmeCommand command, CurlAnswer answer, string folder)
    {
        var where = $"README.md line {command.Line}";
        var documented = command.Answer is { } text && text.TrimStart() is ['{' or '[', ..] ? Readme.ParseAnswer(text) : null;
        if (documented?["status"] is JsonValue status && status.TryGetValue<int>(out var expected))
        {
            Assert.True((int)answer.Status == expected, $"{where}: expected {expected} as the README shows, got {answer}");
        }
        else
        {
            Assert.True((int)answer.Status is >= 200 and < 300, $"{where}: expected a success, got {answer}");
        }

        // A download goes to its file, not to the output.
        if (OutputFile().Match(answer.Shell) is { Success: true } file)
        {
            var path = Path.Combine(folder, file.Groups["file"].Value);
            Assert.True(File.Exists(path) && new FileInfo(path).Length > 0, $"{where}: expected {path} to be written, got {answer}");
        }

        if (command.Answer is null)
        {
            // Nothing to compare, but a JSON answer must still be JSON.
            if (answer.ContentType.Contains("json", StringComparison.Ordinal))
            {
                AssertParses(answer, where);
            }

            return [];
        }

        if (documented is null)
        {
            AssertCsvShape(command.Answer, answer, where);
            return [];
        }

        var real = AssertParses(answer, where);
        // A problem (RFC 9457) may carry members the README leaves out, such as type and traceId.
        var differences = Readme.ShapeDifferences(documented, real, openTop: answer.ContentType.StartsWith("application/problem+json"));
        Assert.True(differences.Count == 0, $"{where}: the answer does not have the shape the README shows:\n"
            + $"{string.Join("\n", differences)}\nREADME: {command.Answer}\nanswer: {answer}");
        return [.. Readme.Placeholders(documented, real)];
    }

    /// <summary>A CSV answer: the header the README shows, and rows like its rows (the same text, numbers where it has numbers).</summary>
    private static void AssertCsvShape(string documented, CurlAnswer answer, string where)
    {
        Assert.True(answer.ContentType.StartsWith("text/csv"), $"{where}: the README shows CSV, got {answer}");
        var expected = documented.Split('\n');
        var real = answer.Body.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.True(real.Length >= expected.Length, $"{where}: expected at least {expected.Length} lines, got {answer}");
        for (var i = 0; i < expected.Length; i++)
        {
            var (expectedCells, realCells) = (expected[i].Split(','), real[i].Split(','));
            var same = expectedCells.Length == realCells.Length && expectedCells.Zip(realCells).All(cells =>
                double.TryParse(cells.First, System.Globalization.CultureInfo.InvariantCulture, out _)
                    ? double.TryParse(cells.Second, System.Globalization.CultureInfo.InvariantCulture, out _)
                    : cells.First == cells.Second);
            Assert.True(same, $"{where}: line {i + 1} of the answer is {real[i]}, the README shows {expected[i]}");
        }
    }

    private static JsonNode? AssertParses(CurlAnswer answer, string where)
    {
        try
        {
            return JsonNode.Parse(answer.Body);
        }
        catch (JsonException ex)
        {
            Assert.Fail($"{where}: expected JSON ({ex.Message}), got {answer}");
            throw;
        }
    }

    [GeneratedRegex(@"\s-o\s+(?<file>[^\s]+)")]
    private static partial Regex OutputFile();

    [GeneratedRegex(@"^export (?<name>[A-Za-z_][A-Za-z0-9_]*)=(?<value>\S+)$")]
    private static partial Regex ExportLine();

    [GeneratedRegex(@"/pipelines/(?<pipeline>[^/\s]+)/runs\b")]
    private static partial Regex PipelineRuns();
}
