using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Explanations;

/// <summary>
/// Explains a loaded model's predictions in its input columns. A single linear or tree model is explained by ML.NET's
/// feature contribution calculation (<see cref="FeatureContributions"/>), which costs about one prediction; ensembles,
/// multiclass models and other trainers by baseline Shapley values (<see cref="ShapleyValues"/>), which score up to
/// <see cref="ShapleyValues.DefaultBudget"/> rows. Built once per loaded model; thread safe.
/// </summary>
public sealed class PredictionExplainer
{
    // The same record explains the same way every time it is asked.
    private const int Seed = 0;

    private readonly ModelSignature _signature;
    private readonly FeatureContributions? _contributions;
    private readonly ObjectPool<PredictionSession>? _sessions;
    private readonly int _budget;

    /// <param name="members">The model's members and their weights (<see cref="ModelArtifact.Load"/>); one for a single model.</param>
    /// <param name="shapleyBudget">The most rows a Shapley explanation may score.</param>
    public PredictionExplainer(
        IReadOnlyList<(ITransformer Model, double Weight)> members, ModelSignature signature, int shapleyBudget = ShapleyValues.DefaultBudget)
    {
        _signature = signature;
        _budget = shapleyBudget;
        _contributions = members.Count == 1 ? FeatureContributions.TryCreate(members[0].Model, signature) : null;
        if (_contributions is null)
        {
            _sessions = new DefaultObjectPool<PredictionSession>(
                new FactoryPolicy<PredictionSession>(() => new PredictionSession(members, signature)), maximumRetained: Environment.ProcessorCount * 4);
        }
    }

    /// <summary>
    /// How this model's predictions are explained: <see cref="Explanation.FeatureContribution"/> or <see cref="Explanation.ShapleySampling"/>.
    /// </summary>
    public string Method => _contributions is null ? Explanation.ShapleySampling : Explanation.FeatureContribution;

    /// <summary>
    /// Explains the prediction for <paramref name="record"/>. Shapley values measure from <paramref name="reference"/>,
    /// the model's reference row (<see cref="ReferenceRow.ToRecord"/>); feature contributions need none.
    /// </summary>
    public Explanation Explain(ModelRecord record, ModelRecord reference) =>
        _contributions?.Explain(record) ?? ShapleyValues.Explain(_signature, Score, record, reference, _budget, Seed);

    private Prediction[] Score(IReadOnlyList<ModelRecord> records)
    {
        var session = _sessions!.Get();
        try
        {
            var predictions = new Prediction[records.Count];
            for (var i = 0; i < records.Count; i++)
            {
                predictions[i] = session.Predict(records[i]);
            }

            return predictions;
        }
        finally
        {
            _sessions.Return(session);
        }
    }
}
