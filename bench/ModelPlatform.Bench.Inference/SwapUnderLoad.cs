using System.Diagnostics;
using System.Net;

namespace ModelPlatform.Bench.Inference;

/// <summary>
/// One request of the promotion measurement: when it started (seconds into the run), how long it took, its status and
/// the version that answered.
/// </summary>
internal sealed record Answer(double StartedS, double LatencyMs, HttpStatusCode Status, int Version);

/// <summary>
/// Hot swap measured: a steady, paced load on /predict while the production alias moves from one version to another
/// and back. Every request is recorded, so latency can be compared in the windows before and after each move.
/// </summary>
internal static class SwapUnderLoad
{
    public static async Task<List<Answer>> RunAsync(
        Uri url, byte[] body, int ratePerSecond, TimeSpan duration, IReadOnlyList<(TimeSpan At, Func<Task> Move)> moves)
    {
        const int Workers = 8;
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Workers }) { BaseAddress = url };
        var interval = TimeSpan.FromSeconds(Workers / (double)ratePerSecond);
        var clock = Stopwatch.StartNew();
        var answers = new List<Answer>[Workers];
        var workers = Enumerable.Range(0, Workers).Select(worker => Task.Run(async () =>
        {
            var mine = answers[worker] = [];
            // Requests are due on a fixed schedule, so a slow one delays the next as little as possible.
            var due = clock.Elapsed + interval * worker / Workers;
            while (clock.Elapsed < duration)
            {
                var wait = due - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }

                var started = clock.Elapsed;
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new("application/json");
                try
                {
                    using var response = await http.PostAsync("/models/fair/predict", content);
                    await response.Content.LoadIntoBufferAsync();
                    var version = response.Headers.TryGetValues("X-Model-Version", out var values) ? int.Parse(values.First()) : 0;
                    mine.Add(new Answer(started.TotalSeconds, (clock.Elapsed - started).TotalMilliseconds, response.StatusCode, version));
                }
                catch (HttpRequestException)
                {
                    mine.Add(new Answer(started.TotalSeconds, (clock.Elapsed - started).TotalMilliseconds, 0, 0));
                }

                due += interval;
            }
        })).ToList();

        foreach (var (at, move) in moves)
        {
            var wait = at - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            await move();
        }

        await Task.WhenAll(workers);
        return [.. answers.SelectMany(list => list).OrderBy(answer => answer.StartedS)];
    }
}
