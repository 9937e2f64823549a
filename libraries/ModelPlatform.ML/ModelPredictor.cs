using System.Text.Json;
using ModelPlatform.Contracts;
using ModelPlatform.ML.Explanations;

namespace ModelPlatform.ML;

/// <summary>
/// A loaded model that predicts from many threads at once: an ML.NET model (<see cref="MLNetPredictor"/>, an ensemble's
/// members averaged) or an ONNX graph on ONNX Runtime (<see cref="OnnxPredictor"/>). Every protocol reads records against
/// the <see cref="Signature"/> and scores them here, whatever the format.
/// </summary>
public abstract class ModelPredictor : IDisposable
{
    protected ModelPredictor(ModelSignature signature, long sizeBytes)
    {
        Signature = signature;
        SizeBytes = sizeBytes;
    }

    public ModelSignature Signature { get; }

    /// <summary>What the model takes in memory, estimated from its artifact.</summary>
    public long SizeBytes { get; }

    /// <summary>
    /// Loads a version's artifact: an ONNX graph when <paramref name="onnx"/> binds it, else an ML.NET model. Throws
    /// <see cref="InvalidDataException"/> when it does not load or does not fit the signature, whatever the runtime threw:
    /// one bad version must never take down the service loading it.
    /// </summary>
    public static ModelPredictor Load(Stream artifact, ModelSignature signature, OnnxBinding? onnx = null) =>
        onnx is null ? MLNetPredictor.Load(artifact, signature) : OnnxPredictor.FromGraph(artifact, signature, onnx);

    /// <summary>
    /// Scores a record on as many threads as the machine has cores, so the first requests do not pay for compiling code or
    /// building what each thread reuses.
    /// </summary>
    public abstract void WarmUp();

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
    public abstract Prediction[] Predict(IReadOnlyList<ModelRecord> records);

    /// <summary>
    /// Frees what the runtime holds outside the managed heap: an ONNX Runtime session (an ML.NET model holds nothing). A model
    /// that requests may still be using is left to the finalizer instead (<c>LoadedModels</c> drops, never disposes).
    /// </summary>
    public virtual void Dispose() => GC.SuppressFinalize(this);

    /// <summary>How <see cref="Explain"/> explains this model: <see cref="Explanation.ShapleySampling"/> unless the model knows better.</summary>
    public virtual string ExplanationMethod => Explanation.ShapleySampling;

    /// <summary>
    /// Each input column's contribution to the prediction for <paramref name="record"/>, in the user's columns. Any model is
    /// explained by baseline Shapley values measured from <paramref name="reference"/> (the version's typical row), scoring at
    /// most <see cref="ShapleyValues.DefaultBudget"/> rows; the same record is explained the same way every time.
    /// </summary>
    public virtual Explanation Explain(ModelRecord record, ModelRecord reference) =>
        ShapleyValues.Explain(Signature, Predict, record, reference, ShapleyValues.DefaultBudget, seed: 0);
}

public sealed record PredictionOutcome(IReadOnlyList<Prediction> Predictions, IReadOnlyDictionary<string, string[]> Errors)
{
    public bool IsValid => Errors.Count == 0;
}
