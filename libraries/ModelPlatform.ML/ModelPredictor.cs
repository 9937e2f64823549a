using System.IO.Compression;
using System.Text.Json;
using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using Microsoft.ML.Data;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>
/// A loaded model that predicts from many threads at once. ML.NET's prediction state is not thread safe,
/// so each call rents a <see cref="PredictionSession"/> from a pool instead of sharing one.
/// </summary>
public sealed class ModelPredictor
{
    private readonly ObjectPool<PredictionSession> _sessions;

    private ModelPredictor(ITransformer model, ModelSignature signature, long sizeBytes)
    {
        Signature = signature;
        SizeBytes = sizeBytes;
        var inputSchema = ModelSchema.ForInputs(signature.Inputs);
        if (!model.IsRowToRowMapper)
        {
            throw new InvalidDataException("The model cannot score single rows.");
        }

        _sessions = new DefaultObjectPool<PredictionSession>(
            new SessionPolicy(() => new PredictionSession(model, signature)),
            maximumRetained: Environment.ProcessorCount * 4);

        // Fail at load, not at the first request, when the artifact does not fit its signature.
        model.GetOutputSchema(inputSchema);
        _sessions.Return(_sessions.Get());
    }

    public ModelSignature Signature { get; }

    /// <summary>
    /// What the model takes in memory, estimated as the uncompressed size of its artifact's contents
    /// (its trees, weights and dictionaries), which is what ML.NET holds once loaded.
    /// </summary>
    public long SizeBytes { get; }

    /// <summary>Loads an ML.NET model zip. Throws <see cref="InvalidDataException"/> when it does not fit the signature.</summary>
    public static ModelPredictor Load(Stream artifact, ModelSignature signature)
    {
        var sizeBytes = UncompressedSize(artifact);
        var model = new MLContext().Model.Load(artifact, out _);
        try
        {
            return new ModelPredictor(model, signature, sizeBytes);
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or InvalidOperationException or ArgumentException)
        {
            throw new InvalidDataException($"The model does not fit its signature: {ex.Message}", ex);
        }
    }

    private static long UncompressedSize(Stream artifact)
    {
        var start = artifact.Position;
        using (var zip = new ZipArchive(artifact, ZipArchiveMode.Read, leaveOpen: true))
        {
            var size = zip.Entries.Sum(entry => entry.Length);
            artifact.Position = start;
            return size;
        }
    }

    /// <summary>
    /// Runs a prediction on as many sessions as the machine has cores, so the first requests do not pay for
    /// compiling the pipeline's code or building row mappers.
    /// </summary>
    public void WarmUp()
    {
        var sessions = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => _sessions.Get()).ToList();
        var empty = ModelRecord.Empty(Signature.Inputs.Count);
        foreach (var session in sessions)
        {
            session.Predict(empty);
            _sessions.Return(session);
        }
    }

    /// <summary>
    /// Checks records against the signature, collecting every problem (keyed by <c>records[i].column</c>)
    /// rather than stopping at the first.
    /// </summary>
    public (IReadOnlyList<ModelRecord> Records, IReadOnlyDictionary<string, string[]> Errors) Read(IReadOnlyList<JsonElement> records) =>
        RecordReader.Read(Signature.Inputs, records);

    /// <summary>
    /// Predicts every record, or none: when any record does not fit the signature, the problems are returned
    /// keyed by <c>records[i].column</c> and nothing is scored.
    /// </summary>
    public PredictionOutcome Predict(IReadOnlyList<JsonElement> records)
    {
        var (read, errors) = Read(records);
        return errors.Count > 0 ? new PredictionOutcome([], errors) : new PredictionOutcome(Predict(read), errors);
    }

    /// <summary>Predicts records already checked against the signature (see <see cref="Read"/>).</summary>
    public Prediction[] Predict(IReadOnlyList<ModelRecord> records)
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

    private sealed class SessionPolicy(Func<PredictionSession> create) : PooledObjectPolicy<PredictionSession>
    {
        public override PredictionSession Create() => create();

        public override bool Return(PredictionSession session) => true;
    }
}

public sealed record PredictionOutcome(IReadOnlyList<Prediction> Predictions, IReadOnlyDictionary<string, string[]> Errors)
{
    public bool IsValid => Errors.Count == 0;
}

/// <summary>One model's row mapper with its input row and output getters. Not thread safe: pooled.</summary>
internal sealed class PredictionSession
{
    private readonly ModelSignature _signature;
    private readonly InputRow _input;
    private readonly Func<Prediction> _read;

    public PredictionSession(ITransformer model, ModelSignature signature)
    {
        _signature = signature;
        _input = new InputRow(signature.Inputs);
        var mapper = model.GetRowToRowMapper(_input.Schema);
        var outputSchema = mapper.OutputSchema;
        var needed = signature.Task switch
        {
            MLTask.Binary => ["PredictedLabel", "Probability", "Score"],
            MLTask.Multiclass => new[] { ModelSchema.PredictedClassColumn, "Score" },
            _ => ["Score"],
        };
        var active = needed.Select(name => outputSchema.GetColumnOrNull(name)).OfType<DataViewSchema.Column>().ToArray();
        var output = mapper.GetRow(_input, active);
        _read = signature.Task switch
        {
            MLTask.Binary => BinaryReader(output, signature),
            MLTask.Multiclass => MulticlassReader(output, signature),
            _ => RegressionReader(output),
        };
    }

    public Prediction Predict(ModelRecord record)
    {
        for (var c = 0; c < _signature.Inputs.Count; c++)
        {
            if (ColumnValues.IsNumeric(_signature.Inputs[c].Type))
            {
                _input.SetNumber(c, record.Numbers[c]);
            }
            else
            {
                _input.SetText(c, record.Texts[c]);
            }
        }

        _input.Advance();
        return _read();
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
