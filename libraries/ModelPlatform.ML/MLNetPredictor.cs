using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using Microsoft.ML.Data;
using ModelPlatform.Contracts;
using ModelPlatform.ML.Explanations;

namespace ModelPlatform.ML;

/// <summary>
/// An ML.NET model that predicts from many threads at once. ML.NET's prediction state is not thread safe,
/// so each call rents a <see cref="PredictionSession"/> from a pool instead of sharing one. An ensemble's members each
/// predict, and their answers are averaged with their weights. A single linear or tree model is explained by ML.NET's
/// feature contribution calculation, which costs about one prediction; other models as every model is (Shapley values).
/// </summary>
public sealed class MLNetPredictor : ModelPredictor
{
    private readonly ObjectPool<PredictionSession> _sessions;

    // Made at the first explanation: most versions are never asked why.
    private readonly Lazy<FeatureContributions?> _contributions;

    private MLNetPredictor(IReadOnlyList<(ITransformer Model, double Weight)> members, ModelSignature signature, long sizeBytes)
        : base(signature, sizeBytes)
    {
        var inputSchema = ModelSchema.ForInputs(signature.Inputs);
        if (members.Any(member => !member.Model.IsRowToRowMapper))
        {
            throw new InvalidDataException("The model cannot score single rows.");
        }

        _sessions = new DefaultObjectPool<PredictionSession>(
            new FactoryPolicy<PredictionSession>(() => new PredictionSession(members, signature)),
            maximumRetained: Environment.ProcessorCount * 4);

        // Fail at load, not at the first request, when the artifact does not fit its signature.
        foreach (var (model, _) in members)
        {
            model.GetOutputSchema(inputSchema);
        }

        _sessions.Return(_sessions.Get());
        _contributions = new(() => members.Count == 1 ? FeatureContributions.TryCreate(members[0].Model, signature) : null);
    }

    /// <inheritdoc/>
    public override string ExplanationMethod => _contributions.Value is null ? base.ExplanationMethod : Explanation.FeatureContribution;

    /// <inheritdoc/>
    public override Explanation Explain(ModelRecord record, ModelRecord reference) =>
        _contributions.Value?.Explain(record) ?? base.Explain(record, reference);

    /// <summary>
    /// Loads a model's artifact. Throws <see cref="InvalidDataException"/> when it is not a model ML.NET can load, or does
    /// not fit the signature, whatever ML.NET threw. Its size is its contents' (<see cref="ModelArtifact.Load"/>).
    /// </summary>
    public static MLNetPredictor Load(Stream artifact, ModelSignature signature)
    {
        IReadOnlyList<(ITransformer Model, double Weight)> members;
        long sizeBytes;
        try
        {
            (members, sizeBytes) = ModelArtifact.Load(new MLContext(), artifact);
        }
        catch (Exception ex) when (ex is not (InvalidDataException or OutOfMemoryException or OperationCanceledException))
        {
            throw new InvalidDataException($"The artifact is not a model ML.NET can load: {ex.Message}", ex);
        }

        try
        {
            return new MLNetPredictor(members, signature, sizeBytes);
        }
        catch (Exception ex) when (ex is not (InvalidDataException or OutOfMemoryException))
        {
            throw new InvalidDataException($"The model does not fit its signature: {ex.Message}", ex);
        }
    }

    /// <inheritdoc/>
    public override void WarmUp()
    {
        var sessions = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => _sessions.Get()).ToList();
        var empty = ModelRecord.Empty(Signature.Inputs.Count);
        foreach (var session in sessions)
        {
            session.Predict(empty);
            _sessions.Return(session);
        }
    }

    /// <inheritdoc/>
    public override Prediction[] Predict(IReadOnlyList<ModelRecord> records)
    {
        var session = _sessions.Get();
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

/// <summary>A model's row mappers (one per ensemble member) with their input row and output getters. Not thread safe: pooled.</summary>
internal sealed class PredictionSession
{
    private readonly ModelSignature _signature;
    private readonly InputRow _input;
    private readonly Func<Prediction>[] _reads;
    private readonly double[] _weights;

    public PredictionSession(IReadOnlyList<(ITransformer Model, double Weight)> members, ModelSignature signature)
    {
        _signature = signature;
        _input = new InputRow(signature.Inputs);
        // Every member reads the same input row.
        _reads = [.. members.Select(member => Reader(member.Model, signature, _input))];
        _weights = [.. members.Select(member => member.Weight)];
    }

    private static Func<Prediction> Reader(ITransformer model, ModelSignature signature, InputRow input)
    {
        var mapper = model.GetRowToRowMapper(input.Schema);
        var outputSchema = mapper.OutputSchema;
        var needed = signature.Task switch
        {
            MLTask.Binary => ["PredictedLabel", "Probability", "Score"],
            MLTask.Multiclass => new[] { ModelSchema.PredictedClassColumn, "Score" },
            _ => ["Score"],
        };
        var active = needed.Select(name => outputSchema.GetColumnOrNull(name)).OfType<DataViewSchema.Column>().ToArray();
        var output = mapper.GetRow(input, active);
        return signature.Task switch
        {
            MLTask.Binary => BinaryReader(output, signature),
            MLTask.Multiclass => MulticlassReader(output, signature),
            _ => RegressionReader(output),
        };
    }

    public Prediction Predict(ModelRecord record)
    {
        _input.Set(record);
        return _reads.Length == 1 ? _reads[0]() : Average([.. _reads.Select(read => read())]);
    }

    /// <summary>
    /// An ensemble's answer, as <see cref="ScoredRows"/> measured it in training: the weighted average of the members'
    /// probabilities (the positive class above 0.5), class scores (the highest wins) or values.
    /// </summary>
    private Prediction Average(Prediction[] answers)
    {
        float Weighted(Func<Prediction, float> value) => (float)answers.Select((answer, i) => _weights[i] * value(answer)).Sum();
        switch (_signature.Task)
        {
            case MLTask.Binary:
                var probability = Weighted(answer => answer.Probability!.Value);
                var label = _signature.Classes![probability > 0.5f ? 1 : 0];
                return new Prediction(Label: ColumnValues.LabelValue(label, _signature.Label.Type), Probability: probability);
            case MLTask.Multiclass:
                var scores = _signature.Classes!.ToDictionary(name => name, name => Weighted(answer => answer.Scores![name]), StringComparer.Ordinal);
                var top = scores.MaxBy(score => score.Value).Key;
                return new Prediction(Label: ColumnValues.LabelValue(top, _signature.Label.Type), Scores: scores);
            default:
                return new Prediction(Value: Weighted(answer => answer.Value!.Value));
        }
    }

    private static Func<Prediction> BinaryReader(DataViewRow output, ModelSignature signature)
    {
        // The two labels as the data wrote them, made once rather than parsed and boxed for every prediction.
        object[] labels = [.. signature.Classes!.Select(name => ColumnValues.LabelValue(name, signature.Label.Type))];
        var predicted = output.GetGetter<bool>(output.Schema["PredictedLabel"]);
        // Uncalibrated trainers have no probability column; fall back to the logistic of the score.
        var probability = output.Schema.GetColumnOrNull("Probability") is { } probabilityColumn
            ? output.GetGetter<float>(probabilityColumn)
            : Logistic(output.GetGetter<float>(output.Schema["Score"]));
        return () =>
        {
            bool label = false;
            float p = 0;
            predicted(ref label);
            probability(ref p);
            return new Prediction(Label: labels[label ? 1 : 0], Probability: p);
        };
    }

    private static ValueGetter<float> Logistic(ValueGetter<float> score) => (ref float value) =>
    {
        score(ref value);
        value = 1f / (1f + MathF.Exp(-value));
    };

    private static Func<Prediction> MulticlassReader(DataViewRow output, ModelSignature signature)
    {
        var predicted = output.GetGetter<ReadOnlyMemory<char>>(output.Schema[ModelSchema.PredictedClassColumn]);
        var scores = output.GetGetter<VBuffer<float>>(output.Schema["Score"]);
        var classes = signature.Classes!;
        // Each class's label as the data wrote it, made once; found by the predicted class's characters, not a copy of them.
        var labels = classes.ToDictionary(name => name, name => ColumnValues.LabelValue(name, signature.Label.Type), StringComparer.Ordinal)
            .GetAlternateLookup<ReadOnlySpan<char>>();
        // Reused by the getter from one prediction to the next (a session predicts on one thread at a time).
        VBuffer<float> buffer = default;
        return () =>
        {
            ReadOnlyMemory<char> label = default;
            predicted(ref label);
            scores(ref buffer);
            var byClass = new Dictionary<string, float>(classes.Count, StringComparer.Ordinal);
            var i = 0;
            foreach (var score in buffer.DenseValues())
            {
                if (i == classes.Count)
                {
                    break;
                }

                byClass[classes[i++]] = score;
            }

            var value = labels.TryGetValue(label.Span, out var known) ? known : ColumnValues.LabelValue(label.ToString(), signature.Label.Type);
            return new Prediction(Label: value, Scores: byClass);
        };
    }

    private static Func<Prediction> RegressionReader(DataViewRow output)
    {
        var score = output.GetGetter<float>(output.Schema["Score"]);
        return () =>
        {
            float value = 0;
            score(ref value);
            return new Prediction(Value: value);
        };
    }
}
