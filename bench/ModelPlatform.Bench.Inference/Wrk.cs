using System.Diagnostics;
using System.Text.Json;

namespace ModelPlatform.Bench.Inference;

/// <summary>One wrk run's summary (bench/inference/wrk.lua prints it).</summary>
internal sealed record WrkResult(long Requests, double DurationS, double Rps, long Errors, double P50Ms, double P90Ms, double P99Ms, double MaxMs);

/// <summary>Drives load with wrk, a C load generator that takes little of the CPU the servers need.</summary>
internal static class Wrk
{
    /// <param name="bodyFile">The request body; a <c>.jsonl</c> file holds several, one a line, sent in turn.</param>
    public static async Task<WrkResult> RunAsync(
        string url, string bodyFile, int connections, TimeSpan duration, string contentType = "application/json", int? delayMs = null,
        string? apiKey = null)
    {
        var start = new ProcessStartInfo("wrk", ["-t1", $"-c{connections}", $"-d{(int)duration.TotalSeconds}s", "-s", Paths.WrkScript, url])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment[bodyFile.EndsWith(".jsonl", StringComparison.Ordinal) ? "BODIES_FILE" : "BODY_FILE"] = bodyFile;
        start.Environment["CONTENT_TYPE"] = contentType;
        start.Environment["API_KEY"] = apiKey ?? "";
        if (delayMs is not null)
        {
            start.Environment["DELAY_MS"] = delayMs.Value.ToString();
        }

        using var wrk = Process.Start(start)!;
        var output = await wrk.StandardOutput.ReadToEndAsync();
        var errors = await wrk.StandardError.ReadToEndAsync();
        await wrk.WaitForExitAsync();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"wrk printed no result for {url}:\n{output}\n{errors}");
        return JsonSerializer.Deserialize<WrkResult>(line["RESULT ".Length..], new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        })!;
    }
}
