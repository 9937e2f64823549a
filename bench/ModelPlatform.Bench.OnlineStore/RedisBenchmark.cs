using System.Diagnostics;
using System.Globalization;
using ModelPlatform.Features.Online;

namespace ModelPlatform.Bench.OnlineStore;

/// <summary>
/// The floor: Redis's own <c>redis-benchmark</c> (a C client) doing a read's Redis work and nothing else. A read of 100
/// customers in 3 views is one batch of 3 pipelined MGETs (<c>-P 3</c>) of 100 rows each, on the keys the store wrote
/// (<see cref="OnlineKeys"/>); here, random customers of one view per run (the three views have the same shape).
/// </summary>
/// <remarks>
/// redis-benchmark times a batch from its first byte written to the first bytes of the reply read, and records that for
/// each command of the batch; so its percentiles leave out reading the rest of the reply. Its throughput counts whole
/// batches: with one connection, its inverse is a batch's full round trip.
/// </remarks>
internal sealed class RedisBenchmark(string host, int port, string? password)
{
    /// <summary>Reads a StackExchange.Redis configuration such as the AppHost gives: <c>host:port,password=…</c>.</summary>
    public static RedisBenchmark FromConnectionString(string connectionString)
    {
        var parts = connectionString.Split(',', StringSplitOptions.TrimEntries);
        var endpoint = parts[0].Split(':');
        var password = parts.Skip(1).FirstOrDefault(part => part.StartsWith("password=", StringComparison.Ordinal))?["password=".Length..];
        return new RedisBenchmark(endpoint[0], int.Parse(endpoint[1], CultureInfo.InvariantCulture), password);
    }

    public async Task<LatencySummary> RunAsync(OnlineView view, int keysPerCommand, int commandsPerBatch, int batches, int connections)
    {
        string[] arguments =
        [
            "-h", host, "-p", port.ToString(CultureInfo.InvariantCulture), .. password is null ? Array.Empty<string>() : ["-a", password],
            "-c", connections.ToString(CultureInfo.InvariantCulture), "-n", (batches * commandsPerBatch).ToString(CultureInfo.InvariantCulture),
            "-P", commandsPerBatch.ToString(CultureInfo.InvariantCulture), "-r", OnlineWorkload.Customers.ToString(CultureInfo.InvariantCulture),
            "--precision", "3",
            // Each __rand_int__ is drawn on its own: a command reads keysPerCommand random customers.
            "MGET", .. Enumerable.Repeat($"{OnlineKeys.Prefix}:{view.Name}:c__rand_int__", keysPerCommand),
        ];
        var start = new ProcessStartInfo("redis-benchmark", arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-benchmark failed: {await errors}");
        }

        return Parse((await output).Split(['\n', '\r'], StringSplitOptions.TrimEntries), commandsPerBatch);
    }

    // Its summary gives p50, p99 and max exactly; p90 and p99.9 are read from its percentile distribution, which lists
    // HdrHistogram's steps (87.5 %, 93.75 %, … 99.902 %): the first step at or above each is an upper bound.
    private static LatencySummary Parse(string[] lines, int commandsPerBatch)
    {
        double Number(string text) => double.Parse(text, CultureInfo.InvariantCulture);
        var steps = lines.SkipWhile(line => line != "Latency by percentile distribution:").Skip(1)
            .TakeWhile(line => line.Length > 0)
            .Select(line => line.Split(' ')) // "99.902% <= 0.455 milliseconds (cumulative count 2997)"
            .Select(words => (Percent: Number(words[0].TrimEnd('%')), Milliseconds: Number(words[2])))
            .ToList();
        double AtOrAbove(double percent) => steps.First(step => step.Percent >= percent).Milliseconds;

        var throughput = lines.Single(line => line.StartsWith("throughput summary:", StringComparison.Ordinal)).Split(' ')[2];
        var summary = lines[Array.FindIndex(lines, line => line.StartsWith("avg", StringComparison.Ordinal)) + 1]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Number).ToArray(); // avg min p50 p95 p99 max
        return new LatencySummary(summary[2], AtOrAbove(90), summary[4], AtOrAbove(99.9), summary[5], Number(throughput) / commandsPerBatch);
    }
}
