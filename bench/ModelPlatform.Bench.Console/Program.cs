using System.Diagnostics;
using System.Globalization;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using ModelPlatform.Bench;

// Usage: flock /tmp/modelplatform-heavy.lock dotnet run -c Release --project bench/ModelPlatform.Bench.Console -- [ROUNDS=5]
// with SSL_CERT_DIR="$HOME/.aspnet/dev-certs/trust:/etc/ssl/certs" (the benchmark's own calls check the services' certificate).
// The issue's target: no page of the web console takes more than 1 s to render against a platform holding 100 datasets,
// 1,000 jobs and 200 model versions. Starts the platform (SQLite, the https launch profile, as the integration tests and a
// deployment serve it), fills it through the services' APIs (ConsoleWorkload), signs in to the console in Chromium, and
// then, after one warm-up round, ROUNDS rounds open every page (ConsolePage) by a full navigation: the browser's time from
// navigation start until the page is loaded and, for a page with an interactive part, until that part is live; and beside
// it in the same round, the service calls that page makes, made directly (the baseline). Prints a Markdown table of medians
// with the ratio of page to baseline, and PASS or FAIL against 1 s. About 3 minutes; run it alone.
var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
const double TargetMilliseconds = 1000;

// The AppHost's first launch profile (http) is what the testing builder picks unless told; the console's session cookie is
// TLS-only, and a deployment serves TLS.
Environment.SetEnvironmentVariable("DOTNET_LAUNCH_PROFILE", "https");
Console.Error.WriteLine("Starting the platform...");
var (app, data, key) = await PlatformClients.StartAsync("sqlite");
await using (app)
{
    await app.ResourceNotifications.WaitForResourceHealthyAsync("console");
    var console = app.GetEndpoint("console", "https");
    Console.Error.WriteLine($"console at {console}");
    using var services = new ServiceClients(app, key);
    var seeded = await ConsoleWorkload.SeedAsync(services);
    var pages = ConsolePage.All(seeded);
    var loads = pages.ToDictionary(page => page, _ => new List<PageLoad>());
    var baselines = pages.ToDictionary(page => page, _ => new List<double>());
    var calls = pages.ToDictionary(page => page, _ => new List<(string Call, double Milliseconds)>());
    await using (var browser = await ConsoleBrowser.SignInAsync(console, key))
    {
        for (var round = 0; round <= rounds; round++)
        {
            foreach (var page in pages)
            {
                var load = await browser.OpenAsync(page.Path);
                var started = Stopwatch.GetTimestamp();
                services.StartRecording();
                if (page.Api is not null)
                {
                    await page.Api(services);
                }

                var baseline = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                var made = services.StopRecording();
                // The first round warms up the browser's cache, the console's and the services' code paths: not counted.
                if (round > 0)
                {
                    loads[page].Add(load);
                    calls[page].AddRange(made);
                    if (page.Api is not null)
                    {
                        baselines[page].Add(baseline);
                    }
                }
            }

            Console.Error.WriteLine(round == 0 ? "warm-up round done" : $"round {round} of {rounds} done");
        }
    }

    await app.StopAsync();
    data.Delete(recursive: true);

    Console.WriteLine("| page | path | page, median | page, worst | HTML arrived | loaded | baseline | page ÷ baseline | table rows | HTML | ≤ 1 s |");
    Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    var failed = new List<string>();
    foreach (var page in pages)
    {
        var measured = loads[page];
        var median = Median([.. measured.Select(load => load.Milliseconds)]);
        var baseline = baselines[page].Count > 0 ? Median(baselines[page]) : (double?)null;
        var pass = median <= TargetMilliseconds;
        if (!pass)
        {
            failed.Add($"{page.Name} ({median:F0} ms)");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {page.Name}{(measured[0].Interactive ? " ‡" : "")} | `{page.Path}` | {median:F0} ms | {measured.Max(load => load.Milliseconds):F0} ms "
            + $"| {Median([.. measured.Select(load => load.HtmlMilliseconds)]):F0} ms | {Median([.. measured.Select(load => load.LoadedMilliseconds)]):F0} ms "
            + $"| {(baseline is { } b ? $"{b:F1} ms" : "–")} | {(baseline is { } r ? $"{median / r:F1}" : "–")} "
            + $"| {measured[^1].Rows:N0} | {measured[^1].HtmlKiB:F0} KiB | {(pass ? "PASS" : "**FAIL**")} |"));
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"\n‡ interactive: until its interactive part is live. Medians of {rounds} rounds after a warm-up; {Environment.ProcessorCount} cores; "
        + $"{DateTime.UtcNow:yyyy-MM-dd}; seeded in {seeded.Took.TotalSeconds:F0} s ({ServiceClients.RateLimited} requests refused for rate and sent again)."));
    Console.WriteLine(failed.Count == 0 ? "Every page within 1 s." : $"Over 1 s: {string.Join(", ", failed)}.");

    // What the baseline is made of: each call a page makes, and its median; a slow page's cause starts here.
    Console.WriteLine("\n| page | its service calls, as it makes them (∥ at once, ; in turn) | each call, median |");
    Console.WriteLine("|---|---|---|");
    foreach (var page in pages.Where(page => page.Api is not null))
    {
        var each = calls[page].GroupBy(call => call.Call)
            .Select(call => string.Create(CultureInfo.InvariantCulture, $"`{call.Key}` {Median([.. call.Select(made => made.Milliseconds)]):F1} ms"));
        Console.WriteLine($"| {page.Name} | {page.Calls} | {string.Join(", ", each)} |");
    }
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}
