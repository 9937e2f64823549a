using Microsoft.ML;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Tests;

public class EnsembleTests
{
    public static TheoryData<MLTask, string> OneTrainerPerTask => new()
    {
        { MLTask.Binary, "LbfgsLogisticRegression" },
        { MLTask.Multiclass, "LbfgsMaximumEntropy" },
        { MLTask.Regression, "FastTree" },
    };

    [Theory]
    [MemberData(nameof(OneTrainerPerTask))]
    public void PredictionsReadBackAsScoredRowsMeasureAsTheModelsOwn(MLTask task, string trainer)
    {
        var (ml, data, train, test) = Split(task);
        var scored = PipelineFactory.Create(ml, data.Signature, Trainers.Find(task, trainer)!).Fit(train).Transform(test);

        var readBack = ScoredRows.View(ml, task, ScoredRows.Classes(test, task), ScoredRows.Labels(test, task), ScoredRows.Predictions(scored, task));

        var (own, measured) = (ModelMetrics.Evaluate(ml, data.Signature, scored), ModelMetrics.Evaluate(ml, data.Signature, readBack));
        Assert.Equal(own.Keys.Order(), measured.Keys.Order());
        Assert.All(own, metric => Assert.Equal(metric.Value, measured[metric.Key], 3));
    }

    [Fact]
    public void SelectionCombinesModelsThatErrDifferently()
    {
        // Each model ranks half of every fold's rows right and the other half backwards; their average ranks all of them right.
        float[] labels = [1, 0, 1, 0, 1, 0, 1, 0];
        float[] first = [0.9f, 0.1f, 0.8f, 0.2f, 0.45f, 0.55f, 0.4f, 0.6f];
        float[] second = [0.45f, 0.55f, 0.4f, 0.6f, 0.9f, 0.1f, 0.8f, 0.2f];
        var selection = Selection([labels, labels]);

        var ensemble = selection.Select([(Trial(1, 0.75), [first, first]), (Trial(2, 0.75), [second, second])], TimeSpan.FromMinutes(1), default)!;

        Assert.Equal([1, 2], ensemble.Members.Select(member => member.Trial));
        Assert.Equal([0.5, 0.5], ensemble.Members.Select(member => member.Weight));
        Assert.Equal(1, ensemble.Mean);
        Assert.Equal(0.75, ensemble.Baseline);
    }

    [Fact]
    public void SelectionKeepsTheBestModelAloneWhenNoMixBeatsIt()
    {
        float[] labels = [1, 0, 1, 0, 1, 0, 1, 0];
        float[] perfect = [0.9f, 0.1f, 0.8f, 0.2f, 0.7f, 0.3f, 0.6f, 0.4f];
        float[] worse = [0.45f, 0.55f, 0.4f, 0.6f, 0.9f, 0.1f, 0.8f, 0.2f];

        var ensemble = Selection([labels]).Select([(Trial(1, 1), [perfect]), (Trial(2, 0.75), [worse])], TimeSpan.FromMinutes(1), default);

        Assert.Null(ensemble);
    }

    [Theory]
    [MemberData(nameof(OneTrainerPerTask))]
    public void AnEnsembleServesTheWeightedAverageOfItsMembers(MLTask task, string trainer)
    {
        var (ml, data, train, _) = Split(task);
        var first = PipelineFactory.Create(ml, data.Signature, Trainers.Find(task, trainer)!).Fit(train);
        var second = PipelineFactory.Create(ml, data.Signature, Trainers.Find(task, "LightGbm")!).Fit(train);
        var inputs = ModelSchema.ForInputs(data.Signature.Inputs);
        var signature = task == MLTask.Multiclass ? data.Signature with { Classes = ["setosa", "versicolor", "virginica"] } : data.Signature;
        ModelPredictor Load(params (ITransformer, double)[] members) =>
            ModelPredictor.Load(new MemoryStream(ModelArtifact.Save(ml, members, inputs)), signature);

        var (alone, other, ensemble) = (Load((first, 1)), Load((second, 1)), Load((first, 0.25), (second, 0.75)));

        var records = Rows(task).Take(20).Select(row => SampleData.AsRecord(row, data.Signature.Label.Name)).ToList();
        var (a, b, mixed) = (alone.Predict(records).Predictions, other.Predict(records).Predictions, ensemble.Predict(records).Predictions);
        for (var i = 0; i < records.Count; i++)
        {
            switch (task)
            {
                case MLTask.Binary:
                    Assert.Equal((0.25 * a[i].Probability!.Value) + (0.75 * b[i].Probability!.Value), mixed[i].Probability!.Value, 5);
                    Assert.Equal(signature.Classes![mixed[i].Probability > 0.5 ? 1 : 0], mixed[i].Label);
                    break;
                case MLTask.Multiclass:
                    var i1 = i;
                    Assert.All(signature.Classes!, name =>
                        Assert.Equal((0.25 * a[i1].Scores![name]) + (0.75 * b[i1].Scores![name]), mixed[i1].Scores![name], 5));
                    Assert.Equal(mixed[i].Scores!.MaxBy(score => score.Value).Key, mixed[i].Label);
                    break;
                default:
                    Assert.Equal((0.25 * a[i].Value!.Value) + (0.75 * b[i].Value!.Value), mixed[i].Value!.Value, 2);
                    break;
            }
        }

        Assert.Equal(alone.SizeBytes + other.SizeBytes, ensemble.SizeBytes);
    }

    [Fact]
    public void TheSearchServesTheEnsembleItChoseAndMeasuresItOnTheHoldOut()
    {
        // A budget no trial's share of can run out, so the trials, and so the ensemble, are the seed's.
        var rows = SampleData.Churn(600);
        var data = TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, rows);

        var model = ModelTrainer.Train(
            data, new TrainingSettings(Trainers.Auto, BudgetSeconds: SearchBudget.NeverRunsOut, MaxTrials: 10, Folds: 3, HoldOutFromRow: 450));

        var ensemble = model.Ensemble!;
        Assert.Equal(Trainers.Ensemble, model.Trainer);
        Assert.True(ensemble.Members.Count >= 2);
        Assert.Equal(model.Leaderboard![0].Trial, ensemble.Members[0].Trial);
        Assert.Equal(1, ensemble.Members.Sum(member => member.Weight), 6);
        Assert.True(ensemble.Mean > ensemble.Baseline, $"ensemble {ensemble.Mean:F4}, best alone {ensemble.Baseline:F4}");

        // The hold-out accuracy is the served ensemble's: its answers to the hold-out rows, counted.
        var predictor = ModelPredictor.Load(new MemoryStream(model.Artifact), model.Signature);
        var holdOut = rows.Skip(450).ToList();
        var answers = predictor.Predict([.. holdOut.Select(row => SampleData.AsRecord(row, "churned"))]).Predictions;
        var right = holdOut.Where((row, i) => row["churned"].GetString() == (string)answers[i].Label!).Count();
        Assert.Equal((double)right / holdOut.Count, model.Metrics["accuracy"], 6);
    }

    private static SearchTrial Trial(int number, double mean) =>
        new(number, "LbfgsLogisticRegression", new Dictionary<string, double>(), "auc", mean, 0, 1, FoldsScored: 2);

    private static EnsembleSelection Selection(IReadOnlyList<float[]> foldLabels)
    {
        var signature = new ModelSignature(MLTask.Binary, [new("x", ColumnType.Numeric)], new("y", ColumnType.Categorical), ["no", "yes"]);
        return new EnsembleSelection(new MLContext(seed: 1), signature, "auc", 1, foldLabels);
    }

    private static List<IReadOnlyDictionary<string, System.Text.Json.JsonElement>> Rows(MLTask task) => task switch
    {
        MLTask.Binary => SampleData.Churn(400),
        MLTask.Multiclass => SampleData.Iris(),
        _ => SampleData.Prices(400),
    };

    private static (MLContext Ml, TrainingData Data, IDataView Train, IDataView Test) Split(MLTask task)
    {
        var ml = new MLContext(seed: 1);
        var data = task switch
        {
            MLTask.Binary => TrainingData.Create(SampleData.ChurnColumns, "churned", task, Rows(task)),
            MLTask.Multiclass => TrainingData.Create(SampleData.IrisColumns, "species", task, Rows(task)),
            _ => TrainingData.Create(SampleData.PriceColumns, "price", task, Rows(task)),
        };
        var split = ml.Data.TrainTestSplit(PipelineFactory.PrepareLabel(ml, data.View, task), 0.3, seed: 1);
        return (ml, data, ml.Data.Cache(split.TrainSet), ml.Data.Cache(split.TestSet));
    }
}
