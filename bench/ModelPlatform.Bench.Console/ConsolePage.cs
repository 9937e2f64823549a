namespace ModelPlatform.Bench;

/// <summary>
/// A page of the console, and the service calls it makes, made the way it makes them (in parallel where it awaits them
/// together, one after another where it awaits each): the baseline of what the page cannot be faster than.
/// </summary>
/// <param name="Api">The page's calls, or null for a page that calls no service.</param>
internal sealed record ConsolePage(string Name, string Path, string Calls, Func<ServiceClients, Task>? Api)
{
    /// <summary>
    /// Every page, opened on the seeded platform's largest things. An interactive part (the job form, a job, the alias
    /// editor, Try it) builds itself once more when its circuit connects, with the same calls: they count twice.
    /// </summary>
    public static IReadOnlyList<ConsolePage> All(SeededPlatform seeded)
    {
        var dataset = $"/datasets/{seeded.Dataset}";
        var model = $"/models/{seeded.Model}";
        var version = $"{dataset}/versions/2";
        return
        [
            new("Overview", "/", "none", null),
            new("Datasets (100)", "/datasets", "feature /datasets", api => api.GetAsync("feature", "/datasets")),
            new("Dataset (3 versions)", dataset, "feature /datasets/{name}", api => api.GetAsync("feature", dataset)),
            new("Dataset version (statistics, 50 of 300 rows)", version, "feature version ∥ statistics ∥ rows", api => Task.WhenAll(
                api.GetAsync("feature", version),
                api.GetAsync("feature", $"{version}/statistics"),
                api.GetAsync("feature", $"{version}/rows?offset=0&limit=50"))),
            new("Drift v1 → v2", $"{dataset}/drift?baseline=1&current=2", "feature /drift",
                api => api.GetAsync("feature", $"{dataset}/drift?baseline=1&current=2")),
            new($"Features ({ConsoleWorkload.FeatureViews} views)", "/features", "feature entities ∥ views ∥ services; each view's runs", FeaturesAsync),
            new("Training (200 of 1,000 jobs, job form)", "/training", "training jobs; (trainers ∥ datasets) × 2", async api =>
            {
                await api.GetAsync("training", "/training-jobs?limit=200");
                await JobFormAsync(api);
                await JobFormAsync(api);
            }),
            new("Job", $"/training/{seeded.Job}", "(training job; trainers) × 2", async api =>
            {
                await JobAsync(api, seeded.Job);
                await JobAsync(api, seeded.Job);
            }),
            new("Models (21)", "/models", "registry /models", api => api.GetAsync("registry", "/models")),
            new($"Model ({seeded.ModelVersions} versions, alias editor)", model,
                "registry model; alias ∥ history; inference shadow ∥ drift", api => ModelAsync(api, model)),
            new("Model version", $"{model}/versions/{seeded.ModelVersions}", "registry version",
                api => api.GetAsync("registry", $"{model}/versions/{seeded.ModelVersions}")),
            new("Try it", "/try", "registry /models × 2", async api =>
            {
                await api.GetAsync("registry", "/models");
                await api.GetAsync("registry", "/models");
            }),
            new("Admin (API keys)", "/admin", "identity /api-keys", api => api.GetAsync("identity", "/api-keys")),
            new("Audit log (training, 100 records)", "/admin/audit?service=training", "training /audit",
                api => api.GetAsync("training", "/audit?limit=100")),
        ];
    }

    private static async Task FeaturesAsync(ServiceClients api)
    {
        var views = api.GetJsonAsync("feature", "/feature-views");
        await Task.WhenAll(api.GetAsync("feature", "/entities"), views, api.GetAsync("feature", "/feature-services"));
        await Task.WhenAll((await views).AsArray().Select(view => view!["definition"]!["name"]!.GetValue<string>())
            .Select(name => api.GetAsync("feature", $"/feature-views/{name}/materializations?limit=20")));
    }

    private static Task JobFormAsync(ServiceClients api) =>
        Task.WhenAll(api.GetAsync("training", "/trainers"), api.GetAsync("feature", "/datasets"));

    private static async Task JobAsync(ServiceClients api, Guid job)
    {
        await api.GetAsync("training", $"/training-jobs/{job}");
        await api.GetAsync("training", "/trainers");
    }

    private static async Task ModelAsync(ServiceClients api, string model)
    {
        var details = await api.GetJsonAsync("registry", model);
        var aliases = details["model"]!["aliases"]!.AsObject().Select(alias => alias.Key).ToList();
        await Task.WhenAll(aliases.SelectMany(alias => new[]
        {
            api.GetAsync("registry", $"{model}/aliases/{alias}"),
            api.GetAsync("registry", $"{model}/aliases/{alias}/history?limit=20"),
        }));
        var production = details["model"]!["aliases"]!["production"]!.GetValue<int>();
        await Task.WhenAll(
            api.GetAsync("inference", $"{model}/shadow"),
            api.GetAsync("inference", $"{model}/versions/{production}/drift?window=current"));
    }
}
