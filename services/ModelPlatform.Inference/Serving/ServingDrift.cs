using ModelPlatform.Contracts;
using ModelPlatform.Features.Statistics;

namespace ModelPlatform.Inference.Serving;

/// <summary>Why a drift report could not be made; each becomes its own problem answer.</summary>
public enum ServingDriftFailure
{
    /// <summary>The sample is kept in Redis, which is unreachable.</summary>
    SampleUnavailable,

    /// <summary>The feature service, which holds the training data, did not answer.</summary>
    FeatureServiceUnavailable,

    /// <summary>The feature service no longer has the version's training data.</summary>
    TrainingDataMissing,

    /// <summary>The version's inputs are not columns of its training data as the feature service holds it.</summary>
    TrainingDataMismatch,
}

public sealed class ServingDrift(InputSample sample, FeatureClient features, InferenceMetrics metrics)
{
    /// <summary>The report of the current window (or the previous one), recorded in the drift metrics; else why there is none.</summary>
    public async Task<(ServingDriftReport? Report, ServingDriftFailure? Failure, string? Detail)> CompareAsync(
        ModelVersionInfo version, bool previousWindow, CancellationToken cancellationToken)
    {
        var (model, number, lineage) = (version.ModelName, version.Version, version.Lineage);
        if (await sample.ReadAsync(version, previousWindow) is not { } window)
        {
            return (null, ServingDriftFailure.SampleUnavailable, "The samples of served inputs are kept in Redis, which is unreachable.");
        }

        DatasetDrift? drift;
        IDictionary<string, string[]>? problems;
        try
        {
            (drift, problems) = await features.CompareSampleAsync(
                lineage.Dataset, lineage.DatasetVersion, new SampleDriftRequest(window.Columns), cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            return (null, ServingDriftFailure.FeatureServiceUnavailable,
                $"The feature service, which holds the training data, did not answer ({(int?)ex.StatusCode ?? 0}).");
        }

        if (drift is null)
        {
            return problems is null
                ? (null, ServingDriftFailure.TrainingDataMissing,
                    $"{model} v{number} was trained on {lineage.Dataset} v{lineage.DatasetVersion}, which the feature service does not have.")
                : (null, ServingDriftFailure.TrainingDataMismatch,
                    $"The inputs of {model} v{number} do not fit {lineage.Dataset} v{lineage.DatasetVersion}: "
                    + string.Join(" ", problems.Select(problem => $"{problem.Key} {string.Join(", ", problem.Value)}")));
        }

        metrics.DriftMeasured(model, number, drift);
        return (new ServingDriftReport(model, number, lineage.Dataset, lineage.DatasetVersion, window.Start, window.End, window.ScoredRows,
            window.SampledRows, drift), null, null);
    }
}
