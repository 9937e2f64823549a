using System.Numerics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>
/// An ONNX graph served on ONNX Runtime. One session per version serves every thread: ONNX Runtime's <c>Run</c> is thread
/// safe and a session holds the weights, so copies would only cost memory. Each run uses one thread (requests run side by
/// side, one per core, as ML.NET's do) and takes up to <see cref="MaxRowsPerRun"/> rows at once when the graph's first
/// dimension is free; a graph fixed to one row is run row by row.
/// </summary>
public sealed class OnnxPredictor : ModelPredictor
{
    /// <summary>Rows fed to one run: enough to amortise a run's fixed cost, few enough to bound the tensors' memory.</summary>
    public const int MaxRowsPerRun = 1024;

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly Feed[] _feeds;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly int _outputWidth;
    private readonly int _rowsPerRun;
    private readonly object[]? _labels;

    private OnnxPredictor(InferenceSession session, ModelSignature signature, OnnxBinding binding, long sizeBytes)
        : base(signature, sizeBytes)
    {
        _session = session;
        var columns = signature.Inputs.Select((input, index) => (input.Name, index)).ToDictionary(pair => pair.Name, pair => pair.index);
        var unfed = session.InputNames.Except(binding.Inputs.Select(input => input.Tensor)).ToList();
        if (unfed.Count > 0)
        {
            throw new InvalidDataException($"The graph's input(s) {string.Join(", ", unfed)} are fed by no column.");
        }

        _feeds = [.. binding.Inputs.Select(input => Feed.For(session, input, columns))];
        _inputNames = [.. _feeds.Select(feed => feed.Name)];
        _outputNames = [binding.Output];
        var output = session.OutputMetadata.TryGetValue(binding.Output, out var metadata)
            ? OnnxGraph.Answer.From(binding.Output, metadata)
            : null;
        _outputWidth = output?.Width ?? throw new InvalidDataException($"The graph has no float tensor output '{binding.Output}'.");
        var expected = signature.Task switch
        {
            MLTask.Regression => [1],
            MLTask.Binary => new[] { 1, 2 },
            _ => [signature.Classes!.Count],
        };
        if (!expected.Contains(_outputWidth))
        {
            throw new InvalidDataException(
                $"Output '{binding.Output}' has {_outputWidth} value(s) per row; a {signature.Task.ToString().ToLowerInvariant()} model "
                + $"with {signature.Classes?.Count ?? 1} class(es) needs {string.Join(" or ", expected)}.");
        }

        _rowsPerRun = _feeds.All(feed => feed.BatchIsFree) ? MaxRowsPerRun : 1;
        _labels = signature.Classes?.Select(name => ColumnValues.LabelValue(name, signature.Label.Type)).ToArray();
    }

    /// <summary>
    /// Loads an ONNX artifact bound to <paramref name="signature"/>. Throws <see cref="InvalidDataException"/> when ONNX Runtime
    /// cannot load it or the binding does not fit its graph.
    /// </summary>
    public static OnnxPredictor FromGraph(Stream artifact, ModelSignature signature, OnnxBinding binding)
    {
        using var buffer = new MemoryStream();
        artifact.CopyTo(buffer);
        var session = CreateSession(buffer.ToArray());
        try
        {
            return new OnnxPredictor(session, signature, binding, buffer.Length);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            session.Dispose();
            throw ex as InvalidDataException ?? new InvalidDataException($"The graph does not fit its signature: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// A session on one thread per run (the service runs requests side by side instead), with every graph optimisation, logging
    /// only errors.
    /// Throws <see cref="InvalidDataException"/> when the bytes are not a graph ONNX Runtime can load.
    /// </summary>
    internal static InferenceSession CreateSession(byte[] model)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            // ONNX Runtime writes to standard error, where Aspire shows every line as a failure: ML.NET's exports alone give a
            // warning per one-hot column (a shape merged leniently). What fails reaches the caller as an exception instead.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
        };
        try
        {
            return new InferenceSession(model, options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new InvalidDataException($"The artifact is not an ONNX model ONNX Runtime can load: {Shortened(ex.Message)}", ex);
        }
    }

    /// <summary>
    /// ONNX Runtime's message without the middle of a long one: a failed check names the C++ function it failed in, with
    /// every template argument (a kilobyte or more), before the sentence that says what was wrong.
    /// </summary>
    internal static string Shortened(string message, int keep = 400) =>
        message.Length <= keep ? message : $"{message[..(keep / 3)]} … {message[^(keep * 2 / 3)..]}";

    /// <inheritdoc/>
    public override void WarmUp()
    {
        var empty = ModelRecord.Empty(Signature.Inputs.Count);
        Parallel.For(0, Environment.ProcessorCount, _ => Predict([empty]));
    }

    /// <inheritdoc/>
    public override Prediction[] Predict(IReadOnlyList<ModelRecord> records)
    {
        var predictions = new Prediction[records.Count];
        for (var start = 0; start < records.Count; start += _rowsPerRun)
        {
            Run(records, start, Math.Min(_rowsPerRun, records.Count - start), predictions);
        }

        return predictions;
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
        base.Dispose();
    }

    private void Run(IReadOnlyList<ModelRecord> records, int start, int rows, Prediction[] predictions)
    {
        var inputs = new OrtValue[_feeds.Length];
        try
        {
            for (var i = 0; i < _feeds.Length; i++)
            {
                inputs[i] = _feeds[i].Create(records, start, rows);
            }

            using var outputs = _session.Run(_runOptions, _inputNames, inputs, _outputNames);
            var output = outputs[0];
            ReadOnlySpan<float> values = output.GetTensorTypeAndShape().ElementDataType == TensorElementType.Double
                ? Array.ConvertAll(output.GetTensorDataAsSpan<double>().ToArray(), value => (float)value)
                : output.GetTensorDataAsSpan<float>();
            if (values.Length != rows * _outputWidth)
            {
                throw new InvalidOperationException($"The graph answered {values.Length} values for {rows} rows of {_outputWidth}.");
            }

            for (var r = 0; r < rows; r++)
            {
                predictions[start + r] = Answer(values.Slice(r * _outputWidth, _outputWidth));
            }
        }
        finally
        {
            foreach (var input in inputs)
            {
                input?.Dispose();
            }
        }
    }

    /// <summary>A row's output as a prediction: the value; the positive class's probability; or each class's score.</summary>
    private Prediction Answer(ReadOnlySpan<float> row)
    {
        switch (Signature.Task)
        {
            case MLTask.Binary:
                var probability = row[^1];
                return new Prediction(Label: _labels![probability > 0.5f ? 1 : 0], Probability: probability);
            case MLTask.Multiclass:
                var scores = new Dictionary<string, float>(row.Length, StringComparer.Ordinal);
                var top = 0;
                for (var c = 0; c < row.Length; c++)
                {
                    scores[Signature.Classes![c]] = row[c];
                    top = row[c] > row[top] ? c : top;
                }

                return new Prediction(Label: _labels![top], Scores: scores);
            default:
                return new Prediction(Value: row[0]);
        }
    }

    /// <summary>One input tensor: the signature's columns it takes, its element type and shape.</summary>
    private sealed class Feed(string tensor, TensorElementType type, int[] columns, int rank, bool batchIsFree)
    {
        public string Name => tensor;

        public bool BatchIsFree => batchIsFree;

        public static Feed For(InferenceSession session, OnnxInputBinding input, Dictionary<string, int> columns)
        {
            if (!session.InputMetadata.TryGetValue(input.Tensor, out var metadata))
            {
                throw new InvalidDataException($"The graph has no input '{input.Tensor}'.");
            }

            var shape = OnnxGraph.TabularShape.From(input.Tensor, metadata);
            if (shape.Width != input.Columns.Count)
            {
                throw new InvalidDataException($"Input '{input.Tensor}' takes {shape.Width} column(s), but {input.Columns.Count} are bound to it.");
            }

            int[] indexes = [.. input.Columns.Select(column => columns.TryGetValue(column, out var index)
                ? index
                : throw new InvalidDataException($"Input '{input.Tensor}' is bound to '{column}', which is not in the signature."))];
            return new Feed(input.Tensor, metadata.ElementDataType, indexes, metadata.Dimensions.Length, shape.BatchIsFree);
        }

        /// <summary>The tensor of <paramref name="rows"/> records from <paramref name="start"/>, row-major.</summary>
        public OrtValue Create(IReadOnlyList<ModelRecord> records, int start, int rows)
        {
            long[] shape = rank == 1 ? [rows] : [rows, columns.Length];
            return type switch
            {
                TensorElementType.Float => Numbers<float>(records, start, rows, shape),
                TensorElementType.Double => Numbers<double>(records, start, rows, shape),
                TensorElementType.Int64 => Numbers<long>(records, start, rows, shape),
                TensorElementType.Int32 => Numbers<int>(records, start, rows, shape),
                TensorElementType.Int16 => Numbers<short>(records, start, rows, shape),
                TensorElementType.Int8 => Numbers<sbyte>(records, start, rows, shape),
                TensorElementType.UInt8 => Numbers<byte>(records, start, rows, shape),
                TensorElementType.Bool => Flags(records, start, rows, shape),
                TensorElementType.String => Strings(records, start, rows, shape),
                _ => throw new InvalidDataException($"Input '{tensor}' has elements of type {type}, which ModelPlatform cannot feed."),
            };
        }

        private OrtValue Numbers<T>(IReadOnlyList<ModelRecord> records, int start, int rows, long[] shape)
            where T : unmanaged, INumberBase<T>
        {
            var data = new T[rows * columns.Length];
            for (var r = 0; r < rows; r++)
            {
                var numbers = records[start + r].Numbers;
                for (var c = 0; c < columns.Length; c++)
                {
                    // A missing number is NaN for float inputs (the graph's own imputer, if any, sees it) and 0 for integers.
                    data[r * columns.Length + c] = T.CreateSaturating(numbers[columns[c]]);
                }
            }

            return OrtValue.CreateTensorValueFromMemory(data, shape);
        }

        private OrtValue Flags(IReadOnlyList<ModelRecord> records, int start, int rows, long[] shape)
        {
            var data = new bool[rows * columns.Length];
            for (var r = 0; r < rows; r++)
            {
                for (var c = 0; c < columns.Length; c++)
                {
                    data[r * columns.Length + c] = records[start + r].Numbers[columns[c]] is var value && value != 0 && !float.IsNaN(value);
                }
            }

            return OrtValue.CreateTensorValueFromMemory(data, shape);
        }

        private OrtValue Strings(IReadOnlyList<ModelRecord> records, int start, int rows, long[] shape)
        {
            var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape);
            for (var r = 0; r < rows; r++)
            {
                for (var c = 0; c < columns.Length; c++)
                {
                    value.StringTensorSetElementAt(records[start + r].Texts[columns[c]].AsSpan(), r * columns.Length + c);
                }
            }

            return value;
        }
    }
}
