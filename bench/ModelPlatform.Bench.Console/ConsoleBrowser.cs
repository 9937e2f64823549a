using System.Text.Json;
using Microsoft.Playwright;

namespace ModelPlatform.Bench;

/// <summary>One page load as the browser timed it, from navigation start.</summary>
/// <param name="Milliseconds">Until the load event or, for a page with an interactive part, until that part is live, whichever is later.</param>
/// <param name="HtmlMilliseconds">Until the server's HTML had arrived: its render, the service calls in it, and the transfer.</param>
/// <param name="LoadedMilliseconds">Until the load event had run (the styles and Blazor's script loaded), before any circuit.</param>
/// <param name="Rows">Table rows on the page (<c>tr</c>), what the server rendered.</param>
internal sealed record PageLoad(double Milliseconds, double HtmlMilliseconds, double LoadedMilliseconds, bool Interactive, int Rows, double HtmlKiB);

/// <summary>
/// Debian's Chromium driven by Playwright, as the console's browser tests drive it (Playwright's own browser download is
/// not reachable here; CHROMIUM_PATH names another): signed in once, then each page opened by a full navigation.
/// </summary>
internal sealed class ConsoleBrowser : IAsyncDisposable
{
    // When a live interactive part first shows (the attribute turns "true" once its circuit renders it), by the page's clock.
    private const string InteractiveObserver = """
        window.__interactiveAt = null;
        new MutationObserver(() => {
            if (window.__interactiveAt === null && document.querySelector('[data-interactive="true"]')) {
                window.__interactiveAt = performance.now();
            }
        }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-interactive'] });
        """;

    private const string Timings = """
        () => {
            const navigation = performance.getEntriesByType('navigation')[0];
            const problem = document.querySelector('.problem');
            return {
                html: navigation.responseEnd,
                load: navigation.loadEventEnd,
                interactive: window.__interactiveAt,
                rows: document.querySelectorAll('tr').length,
                bytes: navigation.decodedBodySize,
                problem: problem ? problem.innerText : null,
            };
        }
        """;

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly IPage _page;

    private ConsoleBrowser(IPlaywright playwright, IBrowser browser, IPage page) => (_playwright, _browser, _page) = (playwright, browser, page);

    public static async Task<ConsoleBrowser> SignInAsync(Uri console, string key)
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium",
            Headless = true,
            // Runs as root here, where Chromium's sandbox cannot start.
            Args = ["--no-sandbox"],
        });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = console.ToString(),
            // The services' development certificate, which this machine's browser does not trust.
            IgnoreHTTPSErrors = true,
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
        });
        context.SetDefaultTimeout(60_000);
        await context.AddInitScriptAsync(InteractiveObserver);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/sign-in?ReturnUrl=%2F");
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/");
        return new ConsoleBrowser(playwright, browser, page);
    }

    /// <summary>Opens <paramref name="path"/> afresh and waits until it is loaded and, if it has an interactive part, live.</summary>
    public async Task<PageLoad> OpenAsync(string path)
    {
        var response = await _page.GotoAsync(path, new PageGotoOptions { WaitUntil = WaitUntilState.Load });
        if (response is not { Status: 200 } || new Uri(_page.Url).PathAndQuery != path)
        {
            throw new InvalidOperationException($"{path}: answered {response?.Status} at {_page.Url}");
        }

        var interactive = await _page.Locator("[data-interactive]").CountAsync() > 0;
        if (interactive)
        {
            await _page.Locator("[data-interactive=\"true\"]").First.WaitForAsync();
        }

        // The load event's end is written just after Playwright hears of the load.
        await _page.WaitForFunctionAsync("() => performance.getEntriesByType('navigation')[0].loadEventEnd > 0");
        var timings = await _page.EvaluateAsync<JsonElement>(Timings);
        if (timings.GetProperty("problem").GetString() is { } problem)
        {
            throw new InvalidOperationException($"{path} shows a problem: {problem}");
        }

        var load = timings.GetProperty("load").GetDouble();
        var live = timings.GetProperty("interactive") is { ValueKind: JsonValueKind.Number } at ? at.GetDouble()
            : interactive ? throw new InvalidOperationException($"{path}: live, but the page did not see when") : 0;
        return new PageLoad(Math.Max(load, live), timings.GetProperty("html").GetDouble(), load, interactive,
            timings.GetProperty("rows").GetInt32(), timings.GetProperty("bytes").GetDouble() / 1024);
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
