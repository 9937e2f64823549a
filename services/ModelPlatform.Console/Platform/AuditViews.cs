using System.Text.Json;

namespace ModelPlatform.Console.Platform;

/// <summary>One record of a service's audit trail, as its API answers it: who changed what, when, from where, and how.</summary>
public sealed record AuditRecordView(
    long Id, DateTimeOffset At, string ActorId, string ActorName, string Action, string Resource,
    JsonElement? Before, JsonElement? After, string? ClientAddress, string? TraceId);

/// <summary>A page of audit records, newest first; <paramref name="Next"/> asks for the page after it.</summary>
public sealed record AuditPageView(IReadOnlyList<AuditRecordView> Records, long? Next);
