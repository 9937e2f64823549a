using ModelPlatform.Contracts;

namespace ModelPlatform.Console.Platform;

// The training service's answers as the console reads them: only what its pages show, so a field the service adds later
// changes nothing here. The service's own types carry ML.NET's, which a web front end has no need of.

public sealed record JobView(
    Guid Id,
    string Status,
    string ModelName,
    string Dataset,
    int DatasetVersion,
    string Label,
    MLTask Task,
    string Trainer,
    JobProgressView? Progress,
    bool CancelRequested,
    IReadOnlyDictionary<string, double>? Metrics,
    int? ModelVersion,
    string? Error,
    JobReportView? Report,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<JobAttemptView>? Attempts = null,
    IReadOnlyList<JobStatusChangeView>? History = null,
    string Priority = "interactive")
{
    /// <summary>Still to finish: its page keeps itself up to date.</summary>
    public bool IsActive => Status is "queued" or "running";
}

public sealed record JobProgressView(string Phase, double Percent);

public sealed record JobReportView(
    string Trainer, IReadOnlyDictionary<string, double> Hyperparameters, IReadOnlyList<SearchTrialView>? Leaderboard, int TrainingRows,
    double? SearchSeconds = null, IReadOnlyList<string>? Warnings = null);

/// <summary>One trial of the automatic search: its cross-validated score (mean ± standard deviation) and when it finished.</summary>
public sealed record SearchTrialView(
    int Trial, string Trainer, IReadOnlyDictionary<string, double> Hyperparameters, string Metric, double? Mean, double? StandardDeviation,
    double Seconds, string? Error = null, int FoldsScored = 0, string? Stopped = null);

public sealed record JobAttemptView(int Attempt, string Worker, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, string? Error);

public sealed record JobStatusChangeView(string Status, DateTimeOffset At, string? Detail);
