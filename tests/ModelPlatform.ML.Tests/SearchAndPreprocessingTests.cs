using Microsoft.ML;
using Microsoft.ML.Data;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Tests;

public class SearchAndPreprocessingTests
{
    [Fact]
    public void DropsIdentifierAndConstantColumnsAndSaysWhy()
    {
        var rows = SampleData.Churn(300).Select(row => SampleData.Row(
            [.. row.Select(pair => (pair.Key, (object?)pair.Value)), ("region", "emea"), ("notes", null)])).ToList();
        var columns = SampleData.ChurnColumns.Concat([new ColumnSchema("region", ColumnType.Categorical), new ColumnSchema("notes", ColumnType.Text)]).ToList();

        var data = TrainingData.Create(columns, "churned", MLTask.Binary, rows);

        Assert.Equal(
            ["customer_id: identifier: every value is different", "notes: every value is missing", "region: constant: every value is emea"],
            data.DroppedColumns.Select(column => $"{column.Name}: {column.Reason}").Order(StringComparer.Ordinal));
        Assert.DoesNotContain(data.Signature.Inputs, input => input.Name is "customer_id" or "region" or "notes");
    }

    [Fact]
    public void HashesCategoricalsWithVeryManyValues()
    {
        var random = new Random(3);
        var rows = Enumerable.Range(0, 2000).Select(i =>
        {
            var zip = random.Next(150);
            return SampleData.Row(("zip", $"z{zip}"), ("x", random.NextDouble()), ("y", zip % 2 == 0 ? "even" : "odd"));
        }).ToList();
        ColumnSchema[] columns = [new("zip", ColumnType.Categorical), new("x", ColumnType.Numeric), new("y", ColumnType.Categorical)];

        var data = TrainingData.Create(columns, "y", MLTask.Binary, rows);
        // Trees see the zip codes hashed into 1,024 slots; a linear model one-hot encodes all 150 and learns a weight for each.
        var model = ModelTrainer.Train(data, new TrainingSettings("LbfgsLogisticRegression"));

        Assert.Equal(["zip"], data.HashedColumns);
        Assert.Equal(1 + 1024, FeatureCount(data, "FastTree"));
        Assert.Equal(1 + 150, FeatureCount(data, "LbfgsLogisticRegression"));
        Assert.True(model.Metrics["accuracy"] > 0.85, $"accuracy {model.Metrics["accuracy"]:F3}");
    }

    [Fact]
    public void TreeTrainersSeeOnlyTheMostInformativeTextSlots()
    {
        // Passages over a 3,000-word vocabulary: tens of thousands of n-grams, far more than a tree can weigh at every split.
        var random = new Random(4);
        var rows = Enumerable.Range(0, 600).Select(i => SampleData.Row(
            ("text", string.Join(' ', Enumerable.Range(0, 30).Select(_ => $"w{random.Next(3000)}"))),
            ("x", random.NextDouble()),
            ("y", i % 2 == 0 ? "a" : "b"))).ToList();
        ColumnSchema[] columns = [new("text", ColumnType.Text), new("x", ColumnType.Numeric), new("y", ColumnType.Categorical)];

        var data = TrainingData.Create(columns, "y", MLTask.Binary, rows);

        Assert.Equal(1 + 1000, FeatureCount(data, "FastTree"));
        Assert.True(FeatureCount(data, "LbfgsLogisticRegression") > 20_000, $"{FeatureCount(data, "LbfgsLogisticRegression")} slots");
    }

    private static int FeatureCount(TrainingData data, string trainer)
    {
        var ml = new MLContext(seed: 1);
        var rows = PipelineFactory.PrepareLabel(ml, data.View, data.Signature.Task);
        var model = PipelineFactory.Create(ml, data.Signature, Trainers.Find(data.Signature.Task, trainer)!, hashedColumns: data.HashedColumns).Fit(rows);
        return model.GetOutputSchema(rows.Schema)[ModelSchema.FeaturesColumn].Type is VectorDataViewType vector ? vector.Size : 1;
    }

    [Fact]
    public void ValidatesHyperparametersNamingTheAllowedOnes()
    {
        var fastTree = Trainers.Find(MLTask.Binary, "FastTree")!;

        var errors = Trainers.Validate(fastTree, new Dictionary<string, double> { ["numberOfTrees"] = 0, ["depth"] = 3, ["learningRate"] = 0.1 });

        Assert.Equal(["hyperparameters.depth", "hyperparameters.numberOfTrees"], errors.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("numberOfLeaves, numberOfTrees, minimumExampleCountPerLeaf, learningRate", errors["hyperparameters.depth"][0]);
        Assert.Contains("from 5 to 2000", errors["hyperparameters.numberOfTrees"][0]);
    }

    [Fact]
    public void TrainsWithTheGivenHyperparameters()
    {
        var data = TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, SampleData.Churn(400));

        var model = ModelTrainer.Train(data, new TrainingSettings("FastTree", new Dictionary<string, double> { ["numberOfTrees"] = 7 }));

        Assert.Equal(7, model.Hyperparameters["numberOfTrees"]);
        Assert.Equal(20, model.Hyperparameters["numberOfLeaves"]);
    }

    [Fact]
    public void AutoSearchTriesEveryTrainerAndRefitsTheBestOrAnEnsembleLedByIt()
    {
        var data = TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Multiclass, SampleData.Iris());

        var model = ModelTrainer.Train(data, new TrainingSettings(Trainers.Auto, BudgetSeconds: SearchBudget.NeverRunsOut, MaxTrials: 8, Folds: 3));

        var leaderboard = model.Leaderboard!;
        Assert.Equal(8, leaderboard.Count);
        Assert.Equal(Trainers.NamesFor(MLTask.Multiclass).Order(), leaderboard.Select(trial => trial.Trainer).Distinct().Order());
        AssertRankedFirstBestFirst(leaderboard, higherIsBetter: true);
        Assert.Equal(model.Ensemble is null ? leaderboard[0].Trainer : Trainers.Ensemble, model.Trainer);
        Assert.Equal(leaderboard[0].Trial, model.Ensemble?.Members[0].Trial ?? leaderboard[0].Trial);
        Assert.All(leaderboard, trial => Assert.Equal("macroAccuracy", trial.Metric));
        Assert.True(leaderboard[0].Mean > 0.9, $"best cross-validated macro accuracy {leaderboard[0].Mean:F3}");
        Assert.True(model.Metrics["macroAccuracy"] > 0.85);
        Assert.Contains("perClass.setosa.recall", model.Metrics.Keys);
    }

    [Fact]
    public void StandardizingScalesNumbersAndLeavesEncodedSlotsWithinZeroAndOne()
    {
        // Unit variance on 100,000 sparse text slots takes ML.NET minutes, and one-hot slots lose their 0/1 meaning.
        var data = TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, SampleData.Churn(400));
        var ml = new MLContext(seed: 1);
        var rows = PipelineFactory.PrepareLabel(ml, data.View, MLTask.Binary);
        var sdca = Trainers.Find(MLTask.Binary, "SdcaLogisticRegression")!;

        var scored = PipelineFactory.Create(ml, data.Signature, sdca, new Dictionary<string, double> { ["standardize"] = 1 }).Fit(rows).Transform(rows);

        var features = scored.GetColumn<VBuffer<float>>(ModelSchema.FeaturesColumn).Select(vector => vector.DenseValues().ToArray()).ToList();
        // The numbers (tenure, autopay) come first; tenure runs to 59 months, so min-max would keep it within [0, 1].
        Assert.True(features.Max(row => row[0]) > 1.2, $"tenure's largest scaled value {features.Max(row => row[0]):F2}");
        Assert.All(features, row => Assert.All(row.Skip(2), slot => Assert.InRange(slot, 0f, 1f)));
    }

    [Fact]
    public void AutoSearchStartsLinearTrainersWithoutL1()
    {
        var data = TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Multiclass, SampleData.Iris());

        var model = ModelTrainer.Train(data, new TrainingSettings(Trainers.Auto, BudgetSeconds: SearchBudget.NeverRunsOut, MaxTrials: 4, Folds: 3));

        var linear = model.Leaderboard!.Where(trial => trial.Trainer.Contains("MaximumEntropy", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, linear.Count);
        Assert.All(linear, trial => Assert.Equal(0, trial.Hyperparameters["l1Regularization"]));
    }

    [Theory]
    [InlineData(400, 15)] // about 320 training rows after the seeded 80/20 split: five folds, three times over
    [InlineData(1500, 5)]
    public void AutoSearchRepeatsItsFoldsOnSmallData(int rows, int folds)
    {
        var data = TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, SampleData.Churn(rows));

        var model = ModelTrainer.Train(data, new TrainingSettings(Trainers.Auto, BudgetSeconds: SearchBudget.NeverRunsOut, MaxTrials: 1));

        Assert.Equal(folds, model.Leaderboard!.Single().FoldsScored);
    }

    [Fact]
    public void AutoSearchNeverTriesACandidateTwice()
    {
        // Five possible candidates in all: the search must find each once rather than repeat one.
        var lightGbm = Trainers.Find(MLTask.Multiclass, "LightGbm")!;
        var small = lightGbm with
        {
            Hyperparameters = [.. lightGbm.Hyperparameters.Select(parameter => parameter.Name == "numberOfLeaves"
                ? parameter with { Min = 2, Max = 6, Default = 4, LogScale = false }
                : parameter with { Min = parameter.Default!.Value, Max = parameter.Default!.Value })],
        };
        var data = TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Multiclass, SampleData.Iris());
        var search = new AutoSearch(data, new TrainingSettings(Trainers.Auto, BudgetSeconds: SearchBudget.NeverRunsOut, MaxTrials: 5, Folds: 3), null, [small]);
        var ml = new MLContext(seed: 1);

        var leaderboard = search.Run(ml, ml.Data.Cache(PipelineFactory.PrepareLabel(ml, data.View, MLTask.Multiclass)), CancellationToken.None);

        Assert.Equal([2.0, 3, 4, 5, 6], leaderboard.Select(trial => trial.Hyperparameters["numberOfLeaves"]).Order());
    }

    [Fact]
    public void AutoSearchIsReproducibleForASeedAndATrialCap()
    {
        // A budget no trial's share of can run out, even on a loaded machine: a stopped trial is the one thing the seed does not decide.
        var settings = new TrainingSettings(Trainers.Auto, BudgetSeconds: SearchBudget.NeverRunsOut, MaxTrials: 7, Folds: 3, Seed: 9);

        var first = ModelTrainer.Train(TrainingData.Create(SampleData.PriceColumns, "price", MLTask.Regression, SampleData.Prices(300)), settings);
        var second = ModelTrainer.Train(TrainingData.Create(SampleData.PriceColumns, "price", MLTask.Regression, SampleData.Prices(300)), settings);

        Assert.Equal(
            first.Leaderboard!.Select(trial => (trial.Trainer, string.Join(",", trial.Hyperparameters), trial.Mean)),
            second.Leaderboard!.Select(trial => (trial.Trainer, string.Join(",", trial.Hyperparameters), trial.Mean)));
    }

    [Fact]
    public void AutoSearchMinimisesAnErrorMetric()
    {
        var data = TrainingData.Create(SampleData.PriceColumns, "price", MLTask.Regression, SampleData.Prices(300));

        var model = ModelTrainer.Train(
            data, new TrainingSettings(Trainers.Auto, BudgetSeconds: SearchBudget.NeverRunsOut, Metric: "rmse", MaxTrials: 6, Folds: 3));

        AssertRankedFirstBestFirst(model.Leaderboard!, higherIsBetter: false);
    }

    /// <summary>Trials scored on every fold come first, best first; pruned or stopped ones follow.</summary>
    private static void AssertRankedFirstBestFirst(IReadOnlyList<SearchTrial> leaderboard, bool higherIsBetter)
    {
        var ranked = leaderboard.TakeWhile(trial => trial.Error is null && trial.Stopped is null).ToList();
        Assert.All(leaderboard.Skip(ranked.Count), trial => Assert.True(trial.Error is not null || trial.Stopped is not null));
        var means = ranked.Select(trial => trial.Mean!.Value).ToList();
        Assert.Equal(higherIsBetter ? means.OrderDescending() : means.Order(), means);
    }

    [Fact]
    public void SmallDataIsCrossValidatedOnEveryRowAndSaysSo()
    {
        // 40 rows leave a hold-out of 8: one row would move its accuracy by 12%.
        var rows = SampleData.Iris().Where((_, i) => i % 15 < 4).ToList();
        var data = TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Multiclass, rows);

        var model = ModelTrainer.Train(data, new TrainingSettings("LbfgsMaximumEntropy"));

        Assert.Equal(new ModelEvaluation(ModelEvaluation.CrossValidation, 40, 5), model.Evaluation);
        Assert.Contains(model.Warnings, warning => warning.Contains("5-fold cross-validation", StringComparison.Ordinal));
        Assert.InRange(model.Metrics["macroAccuracy"], 0.7, 1);
    }

    [Fact]
    public void NineRowsTrainWithFiniteCrossValidatedMetrics()
    {
        var data = TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, SampleData.Churn(9));

        var model = ModelTrainer.Train(data, new TrainingSettings("LbfgsLogisticRegression"));

        Assert.Equal(ModelEvaluation.CrossValidation, model.Evaluation.Method);
        Assert.NotEmpty(model.Metrics);
        Assert.All(model.Metrics.Values, value => Assert.True(double.IsFinite(value)));
    }

    [Fact]
    public void LargerDataIsMeasuredOnItsHoldOut()
    {
        var data = TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, SampleData.Churn(400));

        var model = ModelTrainer.Train(data, new TrainingSettings("LbfgsLogisticRegression"));

        // The seeded split holds out about a fifth, not exactly 80: the evaluation counts the rows it really scored.
        Assert.Equal(new ModelEvaluation(ModelEvaluation.HoldOut, 76), model.Evaluation);
        Assert.Empty(model.Warnings);
    }

    [Fact]
    public void CancelledTrainingStops()
    {
        var data = TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Multiclass, SampleData.Iris());
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => ModelTrainer.Train(data, new TrainingSettings(Trainers.Auto), cancellationToken: cancelled.Token));
    }
}
