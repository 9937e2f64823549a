using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using Aspire.Hosting.Testing;
using Microsoft.Playwright;

namespace ModelPlatform.IntegrationTests;

/// <summary>
/// A user's day in the web console, in Chromium against the real platform: sign in, upload, look at a version, compare
/// two; and what a key's roles and its revocation change. Every page visited passes axe-core's serious checks.
/// </summary>
public class ConsoleTests(PlatformFixture platform, ConsoleBrowser browser) : PlatformTest(platform), IClassFixture<ConsoleBrowser>
{
    private Uri Console => Platform.App.GetEndpoint("console", "https");

    [Fact]
    public Task AScientistUploadsTwoVersionsAndComparesThem() => BrowseAsync(async page =>
    {
        var dataset = PlatformSteps.UniqueName("console");
        await page.SignInAsync(Platform.Key, "/datasets");
        await page.AssertAccessibleAsync();

        // While the file is on its way (held here until seen), the form says so and cannot be sent twice.
        var held = new TaskCompletionSource();
        await page.RouteAsync("**/datasets", async route =>
        {
            if (route.Request.Method == "POST")
            {
                await held.Task;
            }

            await route.ContinueAsync();
        });
        await UploadAsync(page, dataset, PlatformSteps.IrisCsv());
        await Expect(page.GetByRole(AriaRole.Status)).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Progressbar, new() { Name = "Upload progress" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Upload" })).ToBeDisabledAsync();
        held.SetResult();
        await page.WaitForURLAsync(new Regex($"/datasets/{dataset}/versions/1$"));
        await page.UnrouteAllAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"{dataset} v1" })).ToBeVisibleAsync();
        // The columns' statistics, with a histogram, and the first page of rows.
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "sepal_length numeric" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Table, new() { Name = "Histogram of sepal_length" })).ToBeVisibleAsync();
        await Expect(page.GetByText("1–50 of 150")).ToBeVisibleAsync();
        await page.AssertAccessibleAsync();
        await ConsoleBrowser.ShowAsync(page, "dataset-version");
        await page.GetByRole(AriaRole.Link, new() { Name = "Next" }).ClickAsync();
        await Expect(page.GetByText("51–100 of 150")).ToBeVisibleAsync();

        // A second version whose measurements all doubled drifts.
        await page.GotoAsync("/datasets");
        await UploadAsync(page, dataset, Doubled(PlatformSteps.IrisCsv()));
        await page.WaitForURLAsync(new Regex($"/datasets/{dataset}/versions/2$"));
        await page.GotoAsync($"/datasets/{dataset}");
        await page.AssertAccessibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Compare" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("baseline=1&current=2"));
        await Expect(page.GetByText(new Regex("^Drifted: 4 of 5 compared columns moved"))).ToBeVisibleAsync();
        await page.AssertAccessibleAsync();
        await ConsoleBrowser.ShowAsync(page, "drift");
    });

    [Fact]
    public Task AnUploadTheServiceRefusesIsShownByLineAndNothingIsStored() => BrowseAsync(async page =>
    {
        var dataset = PlatformSteps.UniqueName("console-bad");
        await page.SignInAsync(Platform.Key, "/datasets");

        await UploadAsync(page, dataset, "a,b\n1,2\n3\n");

        var problem = page.GetByRole(AriaRole.Alert);
        await Expect(problem).ToContainTextAsync("line 3");
        await Expect(problem).ToContainTextAsync("expected 2 fields as in the header, found 1");
        await page.AssertAccessibleAsync();
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await Platform.Feature.GetAsync($"/datasets/{dataset}")).StatusCode);
    });

    [Fact]
    public Task AReaderSeesDatasetsButNoUploadForm() => BrowseAsync(async page =>
    {
        var reader = await Platform.CreateKeyAsync(PlatformSteps.UniqueName("console-reader"), "reader");
        await page.SignInAsync(reader, "/datasets");

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Datasets", Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Upload a version" })).ToHaveCountAsync(0);
        await Expect(page.Locator("header")).ToContainTextAsync("reader");
    });

    [Fact]
    public Task AWrongKeyIsRefusedAndARevokedKeyEndsItsSession() => BrowseAsync(async page =>
    {
        await page.GotoAsync("/datasets");
        // Not signed in: the page sends you to sign in, and back after.
        await page.WaitForURLAsync(new Regex("/sign-in\\?ReturnUrl=%2Fdatasets"));
        await page.GetByLabel("API key").FillAsync("mpk_not-a-key-at-all");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("The API key is not known.");

        var name = PlatformSteps.UniqueName("console-revoked");
        var key = await Platform.CreateKeyAsync(name, "reader");
        await page.SignInAsync(key, "/datasets");
        var id = (await Platform.Identity.GetFromJsonAsync<System.Text.Json.Nodes.JsonArray>("/api-keys"))!
            .Single(info => info!["name"]!.GetValue<string>() == name)!["id"]!.GetValue<string>();
        (await Platform.Identity.DeleteAsync($"/api-keys/{id}")).EnsureSuccessStatusCode();

        // Within the key cache's period, the next page is the sign-in page.
        await Platform.WaitUntilAsync(
            "the console to end the revoked key's session",
            async () =>
            {
                await page.GotoAsync("/datasets");
                return new Uri(page.Url).AbsolutePath;
            },
            path => path == "/sign-in",
            TimeSpan.FromSeconds(30));
    });

    [Fact]
    public Task AScientistTrainsWithAutoAndWatchesTheJobToTheEnd() => BrowseAsync(async page =>
    {
        var dataset = await Platform.UploadIrisAsync("console-train");
        var model = PlatformSteps.UniqueName("console-iris");
        await page.SignInAsync(Platform.Key, "/training");
        await page.WaitForInteractiveAsync();

        // The form is built from the trainer catalog, and checked as it is typed in.
        await page.GetByLabel("Model name").FillAsync("Not A Name");
        await Expect(page.Locator("#job-model-error")).ToContainTextAsync("Lower-case letters");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Train" })).ToBeDisabledAsync();
        await page.GetByLabel("Model name").FillAsync(model);
        await page.GetByLabel("Dataset").SelectOptionAsync(dataset);
        await page.GetByLabel("Label").SelectOptionAsync("species");
        await page.GetByLabel("Task").SelectOptionAsync(new SelectOptionValue { Label = "multiclass classification" });
        await Expect(page.GetByLabel("Trainer")).ToHaveValueAsync("auto");
        await page.GetByLabel("Search budget (seconds)").FillAsync("4");
        await Expect(page.Locator("#job-budget-error")).ToContainTextAsync("From 5 to 86,400 seconds.");
        await page.GetByLabel("Search budget (seconds)").FillAsync("5");
        await page.AssertAccessibleAsync();
        await ConsoleBrowser.ShowAsync(page, "training");
        await page.GetByRole(AriaRole.Button, new() { Name = "Train" }).ClickAsync();

        // The job's page follows it without a reload: from queued or running to succeeded, with its leaderboard.
        await page.WaitForURLAsync(new Regex("/training/[0-9a-f-]{36}$"));
        await Expect(page.Locator("h2 .status")).ToHaveTextAsync("succeeded", new() { Timeout = (float)PlatformSteps.JobTimeout.TotalMilliseconds });
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "The search's leaderboard" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Img, new() { Name = "macroAccuracy per trial" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "version 1" })).ToBeVisibleAsync();
        await page.AssertAccessibleAsync();
        await ConsoleBrowser.ShowAsync(page, "job");

        // The list shows it, by model.
        await page.GotoAsync($"/training?model={model}");
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = model })).ToBeVisibleAsync();
    });

    [Fact]
    public Task AScientistCancelsAQueuedJobAfterConfirming() => BrowseAsync(async page =>
    {
        var dataset = await Platform.UploadIrisAsync("console-cancel");
        // A job with a long budget, so it is still queued or running when the page asks to cancel it.
        var job = await Platform.SubmitJobAsync(new
        {
            modelName = PlatformSteps.UniqueName("console-cancel"),
            dataset,
            label = "species",
            task = "multiclass",
            trainer = "auto",
            budgetSeconds = 600,
        });
        await page.SignInAsync(Platform.Key, $"/training/{job["id"]}");
        await page.WaitForInteractiveAsync();

        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel job…" }).ClickAsync();
        await Expect(page.GetByText("Cancel this job?")).ToBeVisibleAsync();
        await page.AssertAccessibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, cancel the job" }).ClickAsync();

        await Expect(page.Locator("h2 .status")).ToHaveTextAsync("cancelled", new() { Timeout = 60_000 });
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel job…" })).ToHaveCountAsync(0);
    });

    [Fact]
    public Task ADeployerPromotesThenSetsACanaryAfterConfirmingEach() => BrowseAsync(async page =>
    {
        var model = await Platform.UploadIrisAsync("console-promote");
        await Platform.TrainIrisAsync(model);
        await Platform.TrainIrisAsync(model);
        await page.SignInAsync(Platform.Key, $"/models/{model}");
        await page.WaitForInteractiveAsync();

        // Both versions side by side, with their metrics, and lineage one click away.
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "v1", Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Columnheader, new() { Name = "macroAccuracy" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Table, new() { Name = "macroAccuracy by version" })).ToBeVisibleAsync();
        await page.AssertAccessibleAsync();

        // Promote v2: the confirmation says what changes, and nothing moves before it is accepted.
        await page.GetByRole(AriaRole.Combobox, new() { Name = "Alias", Exact = true }).FillAsync("production");
        await page.GetByLabel("Version", new() { Exact = true }).SelectOptionAsync("2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Review…" }).ClickAsync();
        await Expect(Confirmation(page)).ToContainTextAsync("production: not set → v2");
        await page.AssertAccessibleAsync();
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await Platform.Registry.GetAsync($"/models/{model}/aliases/production")).StatusCode);
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, move production" }).ClickAsync();
        await Expect(page.Locator(".card", new() { Has = page.GetByRole(AriaRole.Heading, new() { Name = "production" }) }).First)
            .ToContainTextAsync("v2");

        // A canary: v2 keeps 90%, v1 gets 10%.
        await page.WaitForInteractiveAsync();
        await page.GetByRole(AriaRole.Combobox, new() { Name = "Alias", Exact = true }).FillAsync("production");
        await page.GetByLabel("Send a share of traffic to a canary").CheckAsync();
        await page.GetByLabel("Canary share (%)").FillAsync("10");
        await page.GetByRole(AriaRole.Button, new() { Name = "Review…" }).ClickAsync();
        await Expect(Confirmation(page)).ToContainTextAsync("production: v2 → v2, canary v1 at 10%");
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, move production" }).ClickAsync();
        await Expect(page.GetByText("v2, canary v1 at 10%").First).ToBeVisibleAsync();
        await page.GetByText("History (2 moves)").ClickAsync();
        await Expect(page.GetByText(new Regex("tests moved it from v2 to v2, canary v1 at 10%"))).ToBeVisibleAsync();
        await page.AssertAccessibleAsync();

        var alias = await Platform.Registry.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>($"/models/{model}/aliases/production");
        Assert.Equal(2, alias!["version"]!.GetValue<int>());
        Assert.Equal(10, alias["canary"]!["percent"]!.GetValue<int>());
    });

    [Fact]
    public Task AReaderSeesAModelButCannotMoveItsAliases() => BrowseAsync(async page =>
    {
        var model = await Platform.UploadIrisAsync("console-reader-model");
        await Platform.TrainIrisAsync(model);
        var reader = await Platform.CreateKeyAsync(PlatformSteps.UniqueName("console-reader"), "reader");
        await page.SignInAsync(reader, $"/models/{model}");

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Aliases" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Move an alias" })).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Review…" })).ToHaveCountAsync(0);
    });

    [Fact]
    public Task AnAdminCreatesAKeySeenOnceRevokesItAndFindsBothInTheAudit() => BrowseAsync(async page =>
    {
        var name = PlatformSteps.UniqueName("console-made");
        await page.SignInAsync(Platform.Key, "/admin");
        await page.AssertAccessibleAsync();

        await page.GetByLabel("Name", new() { Exact = true }).FillAsync(name);
        await page.GetByLabel("reader", new() { Exact = true }).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var key = await page.GetByLabel("New key").InputValueAsync();
        Assert.StartsWith("mpk_", key);
        using (var holder = Platform.Client("feature", key))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, (await holder.GetAsync("/datasets")).StatusCode);
        }

        // Shown once: the list has its name and roles, never the secret.
        await page.GotoAsync("/admin");
        await Expect(page.GetByRole(AriaRole.Row, new() { NameRegex = new Regex(name) })).ToContainTextAsync("reader");
        Assert.DoesNotContain(key, await page.ContentAsync(), StringComparison.Ordinal);

        await page.GetByRole(AriaRole.Link, new() { Name = $"Revoke {name}" }).ClickAsync();
        await Expect(page.GetByText($"Revoke {name} (reader)?")).ToBeVisibleAsync();
        await page.AssertAccessibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = $"Yes, revoke {name}" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Row, new() { NameRegex = new Regex(name) })).ToContainTextAsync("revoked");
        using (var holder = Platform.Client("feature", key))
        {
            await Platform.WaitUntilAsync(
                "the feature service to refuse the revoked key",
                async () => (await holder.GetAsync("/datasets")).StatusCode,
                status => status == System.Net.HttpStatusCode.Unauthorized,
                TimeSpan.FromSeconds(30));
        }

        // The audit names who made and revoked it.
        await page.GotoAsync("/admin/audit?service=identity&action=api-key.revoked");
        await Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = "api-key.revoked" }).First).ToContainTextAsync("tests");
        await page.AssertAccessibleAsync();
        await ConsoleBrowser.ShowAsync(page, "audit");
    });

    [Fact]
    public Task APredictorTriesARecordAndScoresACsvInTryIt() => BrowseAsync(async page =>
    {
        var model = await Platform.ProductionIrisAsync();
        await page.SignInAsync(Platform.Key, "/try");
        await page.WaitForInteractiveAsync();

        // The form comes from the production version's signature.
        var modelInput = page.GetByRole(AriaRole.Combobox, new() { Name = "Model", Exact = true });
        await modelInput.FillAsync(model);
        await modelInput.BlurAsync();
        await Expect(page.GetByLabel("Version or alias")).ToHaveValueAsync("alias=production");
        foreach (var (column, value) in new[] { ("sepal_length", "5.1"), ("sepal_width", "3.5"), ("petal_length", "1.4"), ("petal_width", "0.2") })
        {
            await page.GetByLabel(column).FillAsync(value);
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Predict" }).ClickAsync();
        await Expect(page.Locator(".prediction")).ToHaveTextAsync("setosa");
        await Expect(page.GetByRole(AriaRole.Table, new() { Name = "Probability of each class" })).ToContainTextAsync("setosa");
        await page.AssertAccessibleAsync();
        await ConsoleBrowser.ShowAsync(page, "try-it");

        // A whole CSV, scored and downloaded.
        await page.GetByLabel("CSV to score").SetInputFilesAsync(
            new FilePayload { Name = "iris.csv", MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes(PlatformSteps.IrisCsv()) });
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Score and download" }).ClickAsync());
        var lines = (await File.ReadAllLinesAsync((await download.PathAsync())!)).Where(line => line.Length > 0).ToList();
        Assert.Equal(151, lines.Count);
        Assert.Equal($"{model}-predictions.csv", download.SuggestedFilename);
    });

    [Fact]
    public Task TheFeaturesPageListsDefinitionsRunsAndLooksUpAKey() => BrowseAsync(async page =>
    {
        var (dataset, customer, service) = (PlatformSteps.UniqueName("console-spend"), PlatformSteps.UniqueName("console-customer"),
            PlatformSteps.UniqueName("console-service"));
        var at = DateTimeOffset.UtcNow.AddHours(-1).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        await Platform.UploadCsvAsync(dataset, $"customer_id,event_time,spend\n7,{at},12.5\n").AssertStatusAsync(System.Net.HttpStatusCode.Created);
        await Platform.Feature.PutAsJsonAsync($"/entities/{customer}", new { joinKeys = new[] { new { name = "customer_id", type = "numeric" } } })
            .AssertStatusAsync(System.Net.HttpStatusCode.Created);
        await Platform.Feature.PutAsJsonAsync($"/feature-views/{dataset}", new
        {
            entity = customer,
            dataset,
            timestampField = "event_time",
            ttlSeconds = 86_400,
            features = new[] { new { name = "spend", type = "numeric" } },
        }).AssertStatusAsync(System.Net.HttpStatusCode.Created);
        await Platform.Feature.PutAsJsonAsync($"/feature-services/{service}", new { features = new[] { $"{dataset}:spend" } })
            .AssertStatusAsync(System.Net.HttpStatusCode.Created);
        await Platform.Feature.PostAsJsonAsync($"/feature-views/{dataset}/materialize", new { }).AssertJsonAsync();

        await page.SignInAsync(Platform.Key, "/features");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"{dataset} v1" })).ToBeVisibleAsync();
        await Expect(page.GetByText($"{service} v1: {dataset}:spend")).ToBeVisibleAsync();
        await page.AssertAccessibleAsync();

        await page.GetByRole(AriaRole.Combobox, new() { Name = "Feature service", Exact = true }).SelectOptionAsync(service);
        await page.GetByLabel("Join key").FillAsync("customer_id");
        await page.GetByLabel("Value", new() { Exact = true }).FillAsync("7");
        await page.GetByRole(AriaRole.Button, new() { Name = "Look up" }).ClickAsync();
        var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = $"{dataset}:spend" });
        await Expect(row).ToContainTextAsync("12.5");
        await Expect(row).ToContainTextAsync("present");
        await page.AssertAccessibleAsync();
        await ConsoleBrowser.ShowAsync(page, "features");
    });

    [Fact]
    public Task ThePagesWorkAtPhoneWidth() => BrowseAsync(async page =>
    {
        await page.SignInAsync(Platform.Key, "/datasets");

        await Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Sections" })).ToBeVisibleAsync();
        // Nothing wider than the screen but the tables, which scroll in their own box.
        var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 0, $"The page is {overflow}px wider than a phone's screen.");
        await page.AssertAccessibleAsync();
    }, new ViewportSize { Width = 390, Height = 844 });

    [Fact]
    public Task TheModelPageShowsShadowAgreementAndServingDrift() => BrowseAsync(async page =>
    {
        // Two versions from one deterministic trainer on the same data: the same model, so the shadow agrees on every row.
        var model = await Platform.UploadIrisAsync("console-serving");
        await Platform.TrainIrisAsync(model, "LbfgsMaximumEntropy");
        await Platform.TrainIrisAsync(model, "LbfgsMaximumEntropy");
        await Platform.PromoteAsync(model, new { version = 1, shadow = 2 });
        var records = PlatformSteps.IrisRows().Select(row => (object)row.Record).ToList();
        // The route arrives by event and the shadow scores its copy off the request path: send the rows until one whole copy is compared.
        await Platform.WaitUntilAsync("the shadow to have compared 150 rows", async () =>
        {
            await Platform.PredictAsync(model, records).AssertStatusAsync(System.Net.HttpStatusCode.OK);
            var pairs = await Platform.Inference.GetFromJsonAsync<System.Text.Json.Nodes.JsonArray>($"/models/{model}/shadow");
            return pairs!.SingleOrDefault()?["rows"]?.GetValue<long>() ?? 0;
        }, rows => rows >= 150, PlatformSteps.EventTimeout, ["inference"]);

        await page.SignInAsync(Platform.Key, $"/models/{model}");
        var agreement = page.GetByRole(AriaRole.Table, new() { Name = "How each shadow version agreed with the version that answered" });
        var pair = agreement.GetByRole(AriaRole.Row).Nth(1).GetByRole(AriaRole.Cell);
        await Expect(pair.Nth(0)).ToHaveTextAsync("v1");
        await Expect(pair.Nth(1)).ToHaveTextAsync("v2");
        await Expect(pair.Nth(4)).ToHaveTextAsync("100.0 %");
        // Production's version is compared by default: it was sent its own training rows, so nothing drifted.
        await Expect(page.Locator("#serving-window")).ToContainTextAsync(new Regex("v1's inputs from .+ UTC:\\s+[1-9][0-9,]* rows scored"));
        var drift = page.GetByRole(AriaRole.Table, new() { Name = "Serving drift of v1 by column" });
        await Expect(drift).ToContainTextAsync("petal_width");
        await Expect(page.GetByText(new Regex("^No drift: 0 of 4 compared columns moved"))).ToBeVisibleAsync();
        await page.AssertAccessibleAsync();
        await ConsoleBrowser.ShowAsync(page, "model");

        await page.GetByLabel("Version to compare").SelectOptionAsync("2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Compare with training data" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("drift=2"));
        // The shadow answered no caller, so v2 served nothing of its own.
        await Expect(page.Locator("#serving-window")).ToContainTextAsync(new Regex("v2's inputs from .+ UTC:\\s+0 rows scored"));
    });

    [Fact]
    public Task AModelPageShowsItsPipelinesRunsAsATimeline() => BrowseAsync(async page =>
    {
        var model = await Platform.UploadIrisAsync("console-pipeline");
        var pipeline = PlatformSteps.UniqueName("console-fresh");
        await Platform.Training.PutAsJsonAsync($"/pipelines/{pipeline}", new
        {
            model,
            dataset = model,
            training = new { label = "species", task = "multiclass" },
            onNewData = new { },
            gate = new { metric = "macroAccuracy" },
        }).AssertStatusAsync(System.Net.HttpStatusCode.Created);
        var run = await Platform.Training.PostAsync($"/pipelines/{pipeline}/runs", null).AssertJsonAsync(System.Net.HttpStatusCode.Accepted);
        await Platform.WaitUntilAsync($"run {run["id"]} to promote its candidate",
            async () => (await Platform.Training.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>($"/pipelines/{pipeline}/runs/{run["id"]}"))!,
            seen => seen["status"]!.GetValue<string>() == "promoted", PlatformSteps.JobTimeout, ["training", "registry"]);

        await page.SignInAsync(Platform.Key, $"/models/{model}");

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"{pipeline} (v1)" })).ToBeVisibleAsync();
        await Expect(page.GetByText($"Trains on {model} on each new version of {model}; promotes a candidate")).ToBeVisibleAsync();
        var runs = page.GetByRole(AriaRole.List, new() { Name = $"Runs of {pipeline}, newest first" });
        await Expect(runs.GetByRole(AriaRole.Listitem).First).ToContainTextAsync("promoted · asked for by tests");
        await Expect(runs).ToContainTextAsync("Gate passed: nothing serves as production yet");
        await Expect(runs.GetByRole(AriaRole.Link, new() { Name = "v1" })).ToBeVisibleAsync();
        await page.AssertAccessibleAsync();
        await ConsoleBrowser.ShowAsync(page, "model-pipelines");
    });

    [Fact]
    public Task AVersionPageShowsItsLineageSignatureAndWhatItLeansOn() => BrowseAsync(async page =>
    {
        var dataset = PlatformSteps.UniqueName("console-version");
        await Platform.UploadCsvAsync(dataset, PlatformSteps.MessagesCsv(400)).AssertStatusAsync(System.Net.HttpStatusCode.Created);
        var job = await Platform.TrainAsync(new { modelName = dataset, dataset, label = "kind", task = "binary", trainer = "LbfgsLogisticRegression" });
        await page.SignInAsync(Platform.Key, $"/models/{dataset}/versions/1");

        await Expect(page.GetByRole(AriaRole.Link, new() { Name = $"dataset {dataset} v1" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = $"job {job["id"]!.GetValue<string>()[..8]}" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Table, new() { Name = "Input columns" })).ToContainTextAsync("message");
        var importance = page.GetByRole(AriaRole.Table, new() { Name = "Permutation importance of each input column" });
        await Expect(importance.GetByRole(AriaRole.Rowheader)).ToHaveCountAsync(3);
        await Expect(importance.GetByRole(AriaRole.Rowheader).First).ToHaveTextAsync("message");
        // Text cannot be exported to ONNX: the page says so, in the registry's words.
        await Expect(page.Locator("dl.facts").First).ToContainTextAsync("ML.NET model");
        await Expect(page.Locator("dl.facts").First).ToContainTextAsync("none: ML.NET's ONNX converter cannot export the featurization of free text");
        await Expect(page.GetByText("predicts kind (ham, spam)")).ToBeVisibleAsync();
        await page.AssertAccessibleAsync();
        await ConsoleBrowser.ShowAsync(page, "model-version");
    });

    [Fact]
    public Task AVersionOfPredictionsLinksToTheModelVersionAndTheRowsItScored() => BrowseAsync(async page =>
    {
        var model = await Platform.ProductionIrisAsync();
        var submitted = await Platform.Training.PostAsJsonAsync("/batch-predictions", new { model, version = 1, dataset = model })
            .AssertJsonAsync(System.Net.HttpStatusCode.Accepted);
        var job = await Platform.WaitForJobAsync(submitted["id"]!.GetValue<string>(), "batch-predictions");
        Platform.AssertJobStatus(job, "succeeded");
        await page.SignInAsync(Platform.Key, $"/datasets/{model}-predictions/versions/1");

        await Expect(page.GetByRole(AriaRole.Link, new() { Name = $"{model} v1" }).First).ToHaveAttributeAsync("href", $"models/{model}/versions/1");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = $"{model} v1" }).Last).ToHaveAttributeAsync("href", $"datasets/{model}/versions/1");
        await Expect(page.GetByText(job["id"]!.GetValue<string>())).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "prediction categorical" })).ToBeVisibleAsync();
        await page.AssertAccessibleAsync();
    });

    [Fact]
    public Task AFailingPageShowsAReadableErrorWithItsTraceId() => BrowseAsync(async page =>
    {
        await page.SignInAsync(Platform.Key, "/datasets");

        // A version that is not a number, typed into the address, fails the page as it renders: an error the console did not foresee.
        var response = await page.GotoAsync("/datasets/any/drift?baseline=first&current=2");

        Assert.Equal(500, response!.Status);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Something went wrong" })).ToBeVisibleAsync();
        await Expect(page.Locator("#trace-id")).ToHaveTextAsync(new Regex("^[0-9a-f]{32}$"));
        var text = await page.Locator("body").InnerTextAsync();
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
        Assert.DoesNotContain("ModelPlatform.Console.", text, StringComparison.Ordinal);
        await page.AssertAccessibleAsync();
    });

    [Fact]
    public Task TheKeyboardAloneSignsInReachesAModelAndMovesItsAlias() => BrowseAsync(async page =>
    {
        var model = await Platform.UploadIrisAsync("console-keyboard");
        await Platform.TrainIrisAsync(model);

        // Each page focuses its heading once its script has started, so a screen reader says where you are; the steps
        // wait for that, or the focus would move from under the keys.
        await page.GotoAsync("/sign-in");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in", Level = 1 })).ToBeFocusedAsync();
        await TabToAsync(page, page.GetByLabel("API key"));
        await page.Keyboard.TypeAsync(Platform.Key);
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "ModelPlatform", Level = 1 })).ToBeFocusedAsync();

        // The menu comes before the content, with a visible focus ring on each stop.
        var models = page.GetByRole(AriaRole.Navigation, new() { Name = "Sections" }).GetByRole(AriaRole.Link, new() { Name = "Models" });
        await TabToAsync(page, models, backwards: true);
        Assert.NotEqual("none", await models.EvaluateAsync<string>("link => getComputedStyle(link).outlineStyle"));
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Models", Level = 1 })).ToBeFocusedAsync();

        // The page's first stop skips the menu, shows itself when focused, and stays on the page.
        var skip = page.GetByRole(AriaRole.Link, new() { Name = "Skip to content" });
        await TabToAsync(page, skip, backwards: true);
        await Expect(skip).ToBeInViewportAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("main")).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Tab");
        Assert.True(await page.EvaluateAsync<bool>("document.querySelector('main').contains(document.activeElement)"),
            "After the skip link, the next stop is not in the content.");
        Assert.Equal("/models", new Uri(page.Url).AbsolutePath);

        await TabToAsync(page, page.GetByRole(AriaRole.Link, new() { Name = model, Exact = true }));
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = model, Level = 1 })).ToBeFocusedAsync();
        await page.WaitForInteractiveAsync();

        // The editor's defaults: production, to the newest version. The confirmation takes the focus as it appears.
        await TabToAsync(page, page.GetByRole(AriaRole.Button, new() { Name = "Review…" }));
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Yes, move production" })).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator(".card", new() { Has = page.GetByRole(AriaRole.Heading, new() { Name = "production" }) }).First)
            .ToContainTextAsync("v1");
    });

    /// <summary>
    /// Presses Tab (or Shift+Tab) until <paramref name="target"/> has the focus; fails if it is not reached in a page's worth of stops.
    /// </summary>
    private static async Task TabToAsync(IPage page, ILocator target, bool backwards = false)
    {
        const int Stops = 80;
        for (var presses = 0; presses < Stops; presses++)
        {
            await page.Keyboard.PressAsync(backwards ? "Shift+Tab" : "Tab");
            if (await target.EvaluateAsync<bool>("element => element === document.activeElement"))
            {
                return;
            }
        }

        var focused = await page.EvaluateAsync<string>("document.activeElement?.outerHTML.slice(0, 200) ?? 'nothing'");
        Assert.Fail($"{Stops} presses of Tab did not reach {target}; the focus is on {focused}.");
    }

    /// <summary>Runs a test's steps in a fresh browser context; a failure leaves a screenshot named after the test.</summary>
    private Task BrowseAsync(Func<IPage, Task> steps, ViewportSize? viewport = null, [CallerMemberName] string test = "") =>
        browser.BrowseAsync(Console, test, steps, viewport);

    private static async Task UploadAsync(IPage page, string dataset, string csv)
    {
        await page.GetByLabel("Dataset name").FillAsync(dataset);
        await page.GetByLabel("CSV file: drop it on the box, or choose one").SetInputFilesAsync(
            new FilePayload { Name = $"{dataset}.csv", MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes(csv) });
        await page.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();
    }

    /// <summary>Iris with every measurement doubled (the species column as it was).</summary>
    private static string Doubled(string csv) => string.Join('\n', csv.Split('\n').Select((line, index) => index == 0 || line.Length == 0
        ? line
        : string.Join(',', line.Split(',').Select(field => double.TryParse(field, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? (value * 2).ToString(System.Globalization.CultureInfo.InvariantCulture)
            : field))));

    /// <summary>The question the alias editor asks before it moves the alias.</summary>
    private static ILocator Confirmation(IPage page) => page.GetByRole(AriaRole.Group, new() { NameRegex = new Regex("^production:") });

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}
