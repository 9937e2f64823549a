using System.Text.Json.Serialization;
using ModelPlatform.Contracts;

namespace ModelPlatform.Training.Jobs;

[JsonConverter(typeof(JsonStringEnumConverter<JobStatus>))]
public enum JobStatus
{
    [JsonStringEnumMemberName("queued")] Queued,
    [JsonStringEnumMemberName("running")] Running,
    [JsonStringEnumMemberName("succeeded")] Succeeded,
    [JsonStringEnumMemberName("failed")] Failed,
}

public sealed record SubmitTrainingJobRequest(
    string? ModelName,
    string? Dataset,
    int? DatasetVersion,
    string? Label,
    MLTask? Task,
    string? Trainer,
    string? PositiveClass);

public sealed record TrainingJob(
    Guid Id,
    JobStatus Status,
    string ModelName,
    string Dataset,
    int DatasetVersion,
    string Label,
    MLTask Task,
    string Trainer,
    string? PositiveClass,
    IReadOnlyDictionary<string, double>? Metrics,
    int? ModelVersion,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt);
