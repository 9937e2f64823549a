namespace ModelPlatform.Feature.Offline;

/// <summary>A request the feature store cannot serve as it stands (a 400); <see cref="Field"/> names what is at fault.</summary>
public sealed class FeatureRequestException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}
