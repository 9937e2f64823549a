using System.Text.Json.Serialization;

namespace ModelPlatform.Contracts;

/// <summary>
/// How soon a job is wanted: a person waiting on it (interactive), or a scheduled or bulk run (background). Each has a lane
/// of its own, a queue with its own consumers, so an interactive job never waits behind a background one.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<JobPriority>))]
public enum JobPriority
{
    [JsonStringEnumMemberName("interactive")] Interactive,
    [JsonStringEnumMemberName("background")] Background,
}

/// <summary>Job priorities as the API writes them, <c>interactive</c> and <c>background</c>, and the lane each goes to.</summary>
public static class JobPriorities
{
    public static IReadOnlyList<string> Names => ApiNames<JobPriority>.All;

    public static string Name(JobPriority priority) => ApiNames<JobPriority>.Name(priority);

    /// <summary>Reads a priority as the API writes it, in any letter case.</summary>
    public static bool TryParse(string text, out JobPriority priority) => ApiNames<JobPriority>.TryParse(text, out priority);

    /// <summary>
    /// The lane a job's message goes to: <c>background</c> for background jobs; none for interactive ones, which keep the
    /// service's main queue (where every job went before there were priorities).
    /// </summary>
    public static string? Lane(JobPriority priority) => priority == JobPriority.Background ? Name(priority) : null;
}
