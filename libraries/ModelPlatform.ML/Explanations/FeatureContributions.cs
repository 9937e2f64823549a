using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Explanations;

/// <summary>
/// ML.NET's feature contribution calculation for one model of this platform's pipeline (<see cref="PipelineFactory"/>),
/// whose trainer can tell each feature slot's share of its score: linear models (weight times scaled value) and tree
/// ensembles (FastTree, FastForest, LightGBM). Each slot's contribution is added to the input column it came from. A
/// calibrated binary model is explained before calibration, so in its score (the margin), not its probability. One row
/// costs about one prediction. Thread safe: each call rents its own row mapper.
/// </summary>
internal sealed class FeatureContributions
{
    private readonly ModelSignature _signature;
    private readonly int[] _slotColumns;
    private readonly float? _bias;
    private readonly ObjectPool<Session> _sessions;

    private FeatureContributions(ModelSignature signature, int[] slotColumns, float? bias, ITransformer explaining)
    {
        _signature = signature;
        _slotColumns = slotColumns;
        _bias = bias;
        _sessions = new DefaultObjectPool<Session>(
            new FactoryPolicy<Session>(() => new Session(explaining, signature)), maximumRetained: Environment.ProcessorCount * 4);
    }

    /// <summary>
    /// The calculation for <paramref name="model"/>, or null when it cannot have one: a multiclass model (ML.NET calculates
    /// contributions to one score only), a trainer that cannot tell them, or a feature vector not built by this platform.
    /// </summary>
    public static FeatureContributions? TryCreate(ITransformer model, ModelSignature signature)
    {
        var transformers = Flatten(model).ToList();
        if (signature.Task == MLTask.Multiclass || transformers.LastOrDefault() is not ISingleFeaturePredictionTransformer<object> predictor)
        {
            return null;
        }

        var parameters = predictor.Model is CalibratedModelParametersBase calibrated ? calibrated.SubModel : predictor.Model;
        var featurizing = new TransformerChain<ITransformer>([.. transformers.SkipLast(1)]);
        var inputSchema = ModelSchema.ForInputs(signature.Inputs);
        if (parameters is not ICalculateFeatureContribution contributing
            || predictor.FeatureColumnName != ModelSchema.FeaturesColumn
            || PipelineFactory.FeatureSlotColumns(signature, featurizing.GetOutputSchema(inputSchema)) is not { } slotColumns)
        {
            return null;
        }

        // Every slot, unscaled: the contributions stay in the score's units, and the columns' sums are complete.
        var calculating = new MLContext().Transforms.CalculateFeatureContribution(
            new ContributingPredictor(predictor, contributing), slotColumns.Length, slotColumns.Length, normalize: false)
            // Fitted to a schema: no rows are read.
            .Fit(featurizing.Transform(TabularDataView.Of(signature.Inputs, [])));
        var explaining = new TransformerChain<ITransformer>([.. transformers.SkipLast(1), calculating, predictor]);
        return new FeatureContributions(signature, slotColumns, (parameters as LinearModelParameters)?.Bias, explaining);
    }

    public Explanation Explain(ModelRecord record)
    {
        var session = _sessions.Get();
        try
        {
            var (slots, score) = session.Calculate(record);
            var byColumn = new double[_signature.Inputs.Count];
            foreach (var (slot, contribution) in slots.Items())
            {
                byColumn[_slotColumns[slot]] += contribution;
            }

            // A linear model's score is its bias plus the contributions; a tree ensemble's contributions do not add up to its score.
            var baseValue = _bias ?? score - byColumn.Sum();
            return new Explanation(
                Explanation.FeatureContribution,
                _signature.Task == MLTask.Binary ? Explanation.Score : Explanation.Value,
                baseValue,
                _signature.Inputs.Select((input, c) => (input.Name, byColumn[c])).ToDictionary(StringComparer.Ordinal));
        }
        finally
        {
            _sessions.Return(session);
        }
    }

    // A fitted pipeline nests chains within chains; a loaded one may too.
    private static IEnumerable<ITransformer> Flatten(ITransformer model) =>
        model is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [model];

    /// <summary>An input row mapped to the slots' contributions and the score. Not thread safe: pooled.</summary>
    private sealed class Session
    {
        private readonly InputRow _input;
        private readonly ValueGetter<VBuffer<float>> _contributions;
        private readonly ValueGetter<float> _score;
        private VBuffer<float> _buffer;

        public Session(ITransformer explaining, ModelSignature signature)
        {
            _input = new InputRow(signature.Inputs);
            var mapper = explaining.GetRowToRowMapper(_input.Schema);
            var contributions = mapper.OutputSchema["FeatureContributions"];
            var score = mapper.OutputSchema["Score"];
            var output = mapper.GetRow(_input, [contributions, score]);
            _contributions = output.GetGetter<VBuffer<float>>(contributions);
            _score = output.GetGetter<float>(score);
        }

        public (VBuffer<float> Slots, float Score) Calculate(ModelRecord record)
        {
            _input.Set(record);
            float score = 0;
            _contributions(ref _buffer);
            _score(ref score);
            return (_buffer, score);
        }
    }

    /// <summary>
    /// The model as ML.NET's catalog takes it. A loaded calibrated model's transformer is typed by the calibrated model, which
    /// does not declare the calculation its sub-model has, so the sub-model is handed over here.
    /// </summary>
    private sealed class ContributingPredictor(ISingleFeaturePredictionTransformer<object> predictor, ICalculateFeatureContribution model)
        : ISingleFeaturePredictionTransformer<ICalculateFeatureContribution>
    {
        public ICalculateFeatureContribution Model => model;

        public string FeatureColumnName => predictor.FeatureColumnName;

        public DataViewType FeatureColumnType => predictor.FeatureColumnType;

        public bool IsRowToRowMapper => predictor.IsRowToRowMapper;

        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => predictor.GetOutputSchema(inputSchema);

        public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => predictor.GetRowToRowMapper(inputSchema);

        public IDataView Transform(IDataView input) => predictor.Transform(input);

        public void Save(ModelSaveContext ctx) => predictor.Save(ctx);
    }
}
