namespace ModelPlatform.Feature.Offline;

/// <summary>
/// The inputs of a point-in-time join do not fit together (a column missing or of the wrong type, names that collide):
/// the caller's mistake, which the service answers with a 400. Files that cannot be found or read are not this.
/// </summary>
/// <param name="View">The feature view at fault, or <see langword="null"/> for the entity table or the request as a whole.</param>
/// <param name="Column">The column at fault, if one is.</param>
public sealed class PointInTimeJoinException(string message, string? view = null, string? column = null) : Exception(message)
{
    public string? View { get; } = view;

    public string? Column { get; } = column;
}
