namespace ModelPlatform.Features.Statistics;

/// <summary>
/// How the inputs a model version was sent in one window moved from the data it was trained on, column by column, by the
/// tests the feature service uses between dataset versions.
/// </summary>
/// <param name="TrainingDataset">The dataset version the model was trained on (for a feature service's model, its training set).</param>
/// <param name="ScoredRows">Rows the version scored in the window, on every replica.</param>
/// <param name="SampledRows">Of them, the uniform sample compared (at most the inference service's <c>DriftSampleSize</c>).</param>
public sealed record ServingDriftReport(
    string Model,
    int Version,
    string TrainingDataset,
    int TrainingDatasetVersion,
    DateTimeOffset WindowStart,
    DateTimeOffset WindowEnd,
    long ScoredRows,
    int SampledRows,
    DatasetDrift Drift);
