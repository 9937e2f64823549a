namespace ModelPlatform.Contracts;

/// <summary>
/// What a caller may do. People and client applications hold the first five (a key may hold several); each service's
/// own identity holds <see cref="Service"/> plus its own name, which grants exactly what that service needs of the others.
/// </summary>
public static class PlatformRoles
{
    /// <summary>Every GET.</summary>
    public const string Reader = "reader";

    /// <summary>Predict and infer, for client applications.</summary>
    public const string Predictor = "predictor";

    /// <summary>Upload datasets, submit and cancel jobs, register versions.</summary>
    public const string Scientist = "scientist";

    /// <summary>Move aliases: promote, roll back, canary and shadow.</summary>
    public const string Deployer = "deployer";

    /// <summary>Manage API keys and read the audit.</summary>
    public const string Admin = "admin";

    /// <summary>Every service identity: may check API keys with the identity service.</summary>
    public const string Service = "service";

    /// <summary>
    /// The training service's identity: reads datasets and model versions, registers the versions its jobs train, stores the
    /// predictions its batch jobs score.
    /// </summary>
    public const string TrainingService = "training";

    /// <summary>The inference service's identity: reads the registry.</summary>
    public const string InferenceService = "inference";

    /// <summary>The feature service's identity: reads which model versions use which features, before a change could break them.</summary>
    public const string FeatureService = "feature";

    /// <summary>The roles an admin may give a key; service roles come only from the platform's own configuration.</summary>
    public static readonly IReadOnlyList<string> UserRoles = [Reader, Predictor, Scientist, Deployer, Admin];

    /// <summary>The roles of the services' own identities.</summary>
    public static readonly IReadOnlyList<string> ServiceRoles = [Service, TrainingService, InferenceService, FeatureService];
}

/// <summary>Asks the identity service about a presented API key (after RFC 7662, token introspection).</summary>
public sealed record ApiKeyIntrospectionRequest(string Key);

/// <summary>
/// The identity service's answer: when <see cref="Active"/>, who holds the key and with which roles; otherwise why it is
/// refused (<c>unknown</c>, <c>revoked</c> or <c>expired</c>).
/// </summary>
public sealed record ApiKeyIntrospection(
    bool Active, string? Id = null, string? Name = null, IReadOnlyList<string>? Roles = null,
    DateTimeOffset? ExpiresAt = null, string? Refusal = null);

/// <summary>Asks for a new API key: a name for people to recognise it, its roles, and optionally when it expires.</summary>
public sealed record CreateApiKeyRequest(string Name, IReadOnlyList<string> Roles, DateTimeOffset? ExpiresAt = null);

/// <summary>An API key as listed: never its secret.</summary>
public sealed record ApiKeyInfo(
    string Id, string Name, IReadOnlyList<string> Roles, string Kind, DateTimeOffset CreatedAt, string CreatedBy,
    DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, DateTimeOffset? LastUsedAt);

/// <summary>A key just created: the only answer that holds its secret, <see cref="Key"/>.</summary>
public sealed record CreatedApiKey(string Key, ApiKeyInfo Info);

/// <summary>
/// A change the training service makes for one of its pipelines (a promotion, a rollback) names the pipeline in this header,
/// and the service that makes the change audits it under the pipeline's identity. Only the training service may claim it.
/// </summary>
public static class PipelineCalls
{
    public const string Header = "X-ModelPlatform-Pipeline";

    /// <summary>The id a pipeline acts under in the audit.</summary>
    public static string ActorId(string pipeline) => $"pipeline:{pipeline}";

    /// <summary>The name a pipeline acts under in the audit.</summary>
    public static string ActorName(string pipeline) => $"pipeline {pipeline}";
}
