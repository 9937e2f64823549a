using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace ModelPlatform.IntegrationTests;

/// <summary>
/// The console in a real browser: Debian's Chromium (<c>apt-get install chromium</c>), driven by Playwright, since
/// Playwright's own browser download is not reachable here. Each test gets a fresh browser context (its own cookies),
/// saves a screenshot when it fails, and checks every page it visits with axe-core.
/// </summary>
public sealed class ConsoleBrowser : IAsyncLifetime
{
    /// <summary>Where Chromium is; CHROMIUM_PATH names another.</summary>
    public static string ExecutablePath => Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium";

    private IPlaywright _playwright = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where failed tests leave their screenshots.</summary>
    public static string ScreenshotDirectory => Path.Combine(AppContext.BaseDirectory, "screenshots");

    /// <summary>
    /// Where the README's pictures of the console are taken, when MODELPLATFORM_CONSOLE_SCREENSHOTS names a folder
    /// (<c>scripts/console-screenshots.sh</c> sets it to docs/console); otherwise none are.
    /// </summary>
    public static string? PictureDirectory => Environment.GetEnvironmentVariable("MODELPLATFORM_CONSOLE_SCREENSHOTS");

    /// <summary>Saves what the page shows now as <paramref name="name"/>.png for the README, when pictures are asked for.</summary>
    public static async Task ShowAsync(IPage page, string name)
    {
        if (PictureDirectory is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, $"{name}.png") });
        }
    }

    public async Task InitializeAsync()
    {
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            // Tests run as root in CI, where Chromium's sandbox cannot start.
            Args = ["--no-sandbox"],
        });
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }

    /// <summary>
    /// Runs <paramref name="steps"/> in a new context at <paramref name="viewport"/> (1280×800 unless told), against the
    /// console at <paramref name="baseUrl"/>; on failure saves a full-page screenshot named after <paramref name="test"/>.
    /// </summary>
    public async Task BrowseAsync(Uri baseUrl, string test, Func<IPage, Task> steps, ViewportSize? viewport = null)
    {
        await using var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl.ToString(),
            // The services' development certificate, which this machine's browser does not trust.
            IgnoreHTTPSErrors = true,
            ViewportSize = viewport ?? new ViewportSize { Width = 1280, Height = 800 },
        });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        // What the page's scripts said (Blazor reports a broken circuit here), kept beside the screenshot.
        var console = new List<string>();
        page.Console += (_, message) => console.Add($"{message.Type}: {message.Text}");
        page.PageError += (_, error) => console.Add($"page error: {error}");
        try
        {
            await steps(page);
        }
        catch
        {
            Directory.CreateDirectory(ScreenshotDirectory);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, $"{test}.png"), FullPage = true });
            await File.WriteAllLinesAsync(Path.Combine(ScreenshotDirectory, $"{test}.console.log"), console);
            throw;
        }
    }
}

public static class ConsolePages
{
    /// <summary>Signs in at the sign-in page with <paramref name="key"/> and waits for the overview.</summary>
    public static async Task SignInAsync(this IPage page, string key, string returnPath = "/")
    {
        await page.GotoAsync($"/sign-in?ReturnUrl={Uri.EscapeDataString(returnPath)}");
        await page.AssertAccessibleAsync();
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync(url => new Uri(url).AbsolutePath == returnPath);
    }

    /// <summary>Waits until the page's interactive part is connected to the server (before that, its buttons wait too).</summary>
    public static Task WaitForInteractiveAsync(this IPage page) =>
        page.Locator("[data-interactive=true]").First.WaitForAsync();

    /// <summary>No serious or critical axe-core violation on the page as it is now.</summary>
    public static async Task AssertAccessibleAsync(this IPage page)
    {
        var results = await page.RunAxe();
        var serious = results.Violations.Where(violation => violation.Impact is "serious" or "critical").ToList();
        Assert.True(serious.Count == 0, $"{page.Url}: " + string.Join("; ", serious.Select(Describe)));
    }

    private static string Describe(AxeResultItem violation) =>
        $"{violation.Id} ({violation.Impact}): {violation.Help} at {string.Join(", ", violation.Nodes.Select(node => node.Target?.ToString()))}";
}
