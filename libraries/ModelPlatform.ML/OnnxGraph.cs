using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>
/// Reads an ONNX graph's inputs and outputs into a signature and the binding that feeds it (<see cref="OnnxBinding"/>),
/// taking from <see cref="OnnxRegistration"/> what the graph cannot say: column and class names, the task, which output.
/// A tabular graph takes tensors of shape [rows] or [rows, columns]: numbers (float, double or integers), booleans or
/// strings, each tensor column a column of the signature. It answers with a float tensor of one value per row (regression,
/// or the positive class's probability) or one per class.
/// </summary>
public static class OnnxGraph
{
    private const string DefaultLabel = "label";

    /// <summary>
    /// The signature and binding of <paramref name="model"/>, or the problems found, keyed by <c>artifact</c> (the graph) or
    /// by the <c>metadata.onnx</c> field that does not fit it.
    /// </summary>
    public static (ModelSignature? Signature, OnnxBinding? Binding, Dictionary<string, string[]> Errors) Describe(
        byte[] model, OnnxRegistration? registration)
    {
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Add(string key, string error) => (errors.TryGetValue(key, out var list) ? list : errors[key] = []).Add(error);
        registration ??= new OnnxRegistration();

        InferenceSession session;
        try
        {
            session = OnnxPredictor.CreateSession(model);
        }
        catch (InvalidDataException ex)
        {
            return (null, null, new() { ["artifact"] = [ex.Message] });
        }

        using (session)
        {
            var (inputs, bindings) = ReadInputs(session, registration, Add);
            var output = ChooseOutput(session, registration, Add);
            if (errors.Count > 0 || output is null)
            {
                return (null, null, errors.ToDictionary(pair => pair.Key, pair => pair.Value.ToArray()));
            }

            var (task, classes, label) = ReadAnswer(output, registration, inputs, Add);
            if (errors.Count > 0)
            {
                return (null, null, errors.ToDictionary(pair => pair.Key, pair => pair.Value.ToArray()));
            }

            return (new ModelSignature(task, inputs, label, classes), new OnnxBinding(bindings, output.Name), []);
        }
    }

    private static (List<ColumnSchema> Inputs, List<OnnxInputBinding> Bindings) ReadInputs(
        InferenceSession session, OnnxRegistration registration, Action<string, string> error)
    {
        var inputs = new List<ColumnSchema>();
        var bindings = new List<OnnxInputBinding>();
        var names = registration.Columns ?? new Dictionary<string, IReadOnlyList<string>>();
        foreach (var tensor in session.InputNames)
        {
            var metadata = session.InputMetadata[tensor];
            TabularShape shape;
            try
            {
                shape = TabularShape.From(tensor, metadata);
            }
            catch (InvalidDataException ex)
            {
                error("artifact", ex.Message);
                continue;
            }

            IReadOnlyList<string> columns = names.TryGetValue(tensor, out var given) ? given
                : shape.Width == 1 ? [tensor]
                : [.. Enumerable.Range(0, shape.Width).Select(i => $"{tensor}_{i}")];
            if (columns.Count != shape.Width)
            {
                error($"metadata.onnx.columns.{tensor}", $"names {columns.Count} column(s), but input '{tensor}' has {shape.Width}");
                continue;
            }

            foreach (var column in columns)
            {
                var isText = registration.Text?.Contains(column) == true;
                if (isText && metadata.ElementDataType != TensorElementType.String)
                {
                    error("metadata.onnx.text", $"'{column}' is fed to '{tensor}', a tensor of {metadata.ElementDataType}, not of strings");
                }

                inputs.Add(new ColumnSchema(column, metadata.ElementDataType switch
                {
                    TensorElementType.String => isText ? ColumnType.Text : ColumnType.Categorical,
                    TensorElementType.Bool => ColumnType.Boolean,
                    _ => ColumnType.Numeric,
                }));
            }

            bindings.Add(new OnnxInputBinding(tensor, columns));
        }

        foreach (var tensor in names.Keys.Except(session.InputNames))
        {
            error($"metadata.onnx.columns.{tensor}", $"is not an input of the graph; its inputs are {string.Join(", ", session.InputNames)}");
        }

        foreach (var duplicate in inputs.GroupBy(input => input.Name).Where(group => group.Count() > 1))
        {
            error("metadata.onnx.columns", $"'{duplicate.Key}' names more than one column; each column needs its own name");
        }

        foreach (var text in (registration.Text ?? []).Except(inputs.Select(input => input.Name)))
        {
            error("metadata.onnx.text", $"'{text}' is not a column of the graph's inputs");
        }

        return (inputs, bindings);
    }

    /// <summary>
    /// The output that answers: the one named, else the first float output with a value per class (one named for
    /// probabilities first), else the first float output.
    /// </summary>
    private static Answer? ChooseOutput(InferenceSession session, OnnxRegistration registration, Action<string, string> error)
    {
        var candidates = session.OutputNames.Select(name => Answer.From(name, session.OutputMetadata[name])).OfType<Answer>().ToList();
        if (registration.Output is { } named)
        {
            var chosen = candidates.FirstOrDefault(candidate => candidate.Name == named);
            if (chosen is null)
            {
                error("metadata.onnx.output", session.OutputNames.Contains(named)
                    ? $"'{named}' is not a float tensor of shape [rows] or [rows, n]: {Describe(session.OutputMetadata[named])}"
                    : $"is not an output of the graph; its outputs are {string.Join(", ", session.OutputNames)}");
            }

            return chosen;
        }

        var perClass = candidates.Where(candidate => candidate.Width > 1).ToList();
        var answer = perClass.FirstOrDefault(candidate => candidate.Name.Contains("prob", StringComparison.OrdinalIgnoreCase))
            ?? perClass.FirstOrDefault() ?? candidates.FirstOrDefault();
        if (answer is null)
        {
            var outputs = string.Join("; ", session.OutputNames.Select(name => $"{name}: {Describe(session.OutputMetadata[name])}"));
            var zipMap = session.OutputMetadata.Values.Any(output => output.OnnxValueType is OnnxValueType.ONNX_TYPE_SEQUENCE or OnnxValueType.ONNX_TYPE_MAP)
                ? " A scikit-learn classifier converted with ZipMap answers with maps: convert it with options={id(model): {'zipmap': False}}."
                : string.Empty;
            error("artifact", $"has no float tensor output of shape [rows] or [rows, n] to answer with ({outputs}).{zipMap}");
        }

        return answer;
    }

    private static (MLTask Task, IReadOnlyList<string>? Classes, ColumnSchema Label) ReadAnswer(
        Answer output, OnnxRegistration registration, List<ColumnSchema> inputs, Action<string, string> error)
    {
        var task = registration.Task ?? output.Width switch
        {
            1 => MLTask.Regression,
            2 => MLTask.Binary,
            _ => MLTask.Multiclass,
        };
        var fits = task switch
        {
            MLTask.Regression => output.Width == 1,
            MLTask.Binary => output.Width is 1 or 2,
            _ => output.Width >= 2,
        };
        if (!fits)
        {
            error("metadata.onnx.task", $"is {task.ToString().ToLowerInvariant()}, but output '{output.Name}' has {output.Width} value(s) per row");
        }

        IReadOnlyList<string>? classes = null;
        if (task != MLTask.Regression)
        {
            var count = task == MLTask.Binary ? 2 : output.Width;
            classes = registration.Classes ?? [.. Enumerable.Range(0, count).Select(i => i.ToString(CultureInfo.InvariantCulture))];
            if (classes.Count != count || classes.Distinct().Count() != count)
            {
                error("metadata.onnx.classes", $"must name {count} distinct classes, in the order of output '{output.Name}'s values");
            }
        }
        else if (registration.Classes is not null)
        {
            error("metadata.onnx.classes", "a regression model has no classes");
        }

        var labelName = registration.Label ?? DefaultLabel;
        if (inputs.Any(input => input.Name == labelName))
        {
            error("metadata.onnx.label", $"'{labelName}' is also an input column; name the label otherwise");
        }

        var numericClasses = classes?.All(name => double.TryParse(name, NumberStyles.Float, CultureInfo.InvariantCulture, out _)) ?? true;
        return (task, classes, new ColumnSchema(labelName, numericClasses ? ColumnType.Numeric : ColumnType.Categorical));
    }

    /// <summary>A tensor's element type and shape as ONNX tools print them (a free dimension by its name), or what else it is.</summary>
    private static string Describe(NodeMetadata metadata)
    {
        if (!metadata.IsTensor)
        {
            return metadata.OnnxValueType.ToString();
        }

        var dims = metadata.Dimensions.Select((dim, i) =>
            dim >= 0 ? dim.ToString(CultureInfo.InvariantCulture) : metadata.SymbolicDimensions[i] is { Length: > 0 } name ? name : "?");
        return $"{metadata.ElementDataType} [{string.Join(", ", dims)}]";
    }

    /// <summary>A tabular tensor's shape: [rows] or [rows, width], the rows free (any number) or fixed to one.</summary>
    internal sealed record TabularShape(int Width, bool BatchIsFree)
    {
        private static readonly HashSet<TensorElementType> Fed =
        [
            TensorElementType.Float, TensorElementType.Double, TensorElementType.Int64, TensorElementType.Int32, TensorElementType.Int16,
            TensorElementType.Int8, TensorElementType.UInt8, TensorElementType.Bool, TensorElementType.String,
        ];

        public static TabularShape From(string tensor, NodeMetadata metadata)
        {
            if (!metadata.IsTensor || !Fed.Contains(metadata.ElementDataType))
            {
                throw new InvalidDataException($"input '{tensor}' is {Describe(metadata)}; a column is a tensor of numbers, booleans or strings");
            }

            var dims = metadata.Dimensions;
            if (dims.Length is not (1 or 2) || dims.Length == 2 && dims[1] < 1 || dims[0] > 1)
            {
                throw new InvalidDataException(
                    $"input '{tensor}' has shape {Describe(metadata)}; a tabular input has shape [rows] or [rows, columns], its columns fixed");
            }

            return new TabularShape(dims.Length == 1 ? 1 : dims[1], dims[0] < 0);
        }
    }

    /// <summary>An output a prediction can be read from: floats (or doubles), [rows] or [rows, width].</summary>
    internal sealed record Answer(string Name, int Width)
    {
        public static Answer? From(string name, NodeMetadata metadata) =>
            metadata.IsTensor
            && metadata.ElementDataType is TensorElementType.Float or TensorElementType.Double
            && metadata.Dimensions is [_] or [_, > 0]
                ? new Answer(name, metadata.Dimensions.Length == 1 ? 1 : metadata.Dimensions[1])
                : null;
    }
}
