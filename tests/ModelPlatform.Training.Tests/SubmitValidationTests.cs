using ModelPlatform.Contracts;
using ModelPlatform.Training.Apis;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Training.Tests;

public class SubmitValidationTests
{
    private static readonly SubmitTrainingJobRequest Valid = new("iris", "iris", null, "species", MLTask.Multiclass, null, null);

    [Fact]
    public void AcceptsAMinimalRequest()
    {
        Assert.Empty(TrainingJobsApi.Validate(Valid));
    }

    [Fact]
    public void NamesEveryMissingField()
    {
        var errors = TrainingJobsApi.Validate(new SubmitTrainingJobRequest(null, null, null, null, null, null, null));

        Assert.Equal(["dataset", "label", "modelName", "task"], errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ListsTheAllowedTrainersWhenOneIsUnknown()
    {
        var errors = TrainingJobsApi.Validate(Valid with { Trainer = "FastTree" });

        Assert.Contains("LbfgsMaximumEntropy, LightGbm, SdcaMaximumEntropy, OneVersusAllFastTree", errors["trainer"][0]);
    }

    [Fact]
    public void AcceptsTrainerNamesInAnyCase()
    {
        Assert.Empty(TrainingJobsApi.Validate(Valid with { Trainer = "lightgbm" }));
    }

    [Theory]
    [InlineData("bad name", "modelName")]
    [InlineData("../etc", "modelName")]
    public void RejectsUnsafeNames(string name, string field)
    {
        Assert.Contains(field, TrainingJobsApi.Validate(Valid with { ModelName = name }).Keys);
    }

    [Fact]
    public void AFeatureServiceNeedsTheEntityRowsTimestampAndATimestampNeedsAFeatureService()
    {
        Assert.Empty(TrainingJobsApi.Validate(Valid with { FeatureService = "churn", TimestampField = "at" }));
        Assert.Contains("is required with featureService", TrainingJobsApi.Validate(Valid with { FeatureService = "churn" })["timestampField"][0]);
        Assert.Contains("applies only with featureService", TrainingJobsApi.Validate(Valid with { TimestampField = "at" })["timestampField"][0]);
        Assert.Contains("featureService", TrainingJobsApi.Validate(Valid with { FeatureService = "bad name", TimestampField = "at" }).Keys);
    }

    [Fact]
    public void RejectsPositiveClassOutsideBinaryTasks()
    {
        Assert.Contains("positiveClass", TrainingJobsApi.Validate(Valid with { PositiveClass = "setosa" }).Keys);
    }

    [Fact]
    public void RejectsNonPositiveDatasetVersion()
    {
        Assert.Contains("datasetVersion", TrainingJobsApi.Validate(Valid with { DatasetVersion = 0 }).Keys);
    }

    [Fact]
    public void ChecksHyperparametersAgainstTheTrainer()
    {
        var errors = TrainingJobsApi.Validate(Valid with { Trainer = "LightGbm", Hyperparameters = new() { ["numberOfLeaves"] = 1, ["depth"] = 3 } });

        Assert.Equal(["hyperparameters.depth", "hyperparameters.numberOfLeaves"], errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void AcceptsAnAutomaticSearchWithABudgetAndMetric()
    {
        Assert.Empty(TrainingJobsApi.Validate(Valid with { Trainer = "auto", BudgetSeconds = 30, Metric = "logLoss", Folds = 3, MaxTrials = 20 }));
    }

    [Fact]
    public void RejectsSearchSettingsThatDoNotFit()
    {
        var errors = TrainingJobsApi.Validate(
            Valid with { Trainer = "auto", BudgetSeconds = 1, Metric = "auc", Hyperparameters = new() { ["l2Regularization"] = 1 } });

        Assert.Contains("budgetSeconds", errors.Keys);
        Assert.Contains("macroAccuracy, microAccuracy, logLoss", errors["metric"][0]);
        Assert.Contains("hyperparameters", errors.Keys);
    }

    [Fact]
    public void RejectsSearchSettingsForANamedTrainer()
    {
        Assert.Contains("trainer", TrainingJobsApi.Validate(Valid with { Trainer = "LightGbm", BudgetSeconds = 30 }).Keys);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(11)]
    public void RejectsMaxAttemptsOutOfRange(int maxAttempts)
    {
        Assert.Contains("maxAttempts", TrainingJobsApi.Validate(Valid with { MaxAttempts = maxAttempts }).Keys);
    }

    [Theory]
    [InlineData(null, JobPriority.Interactive)]
    [InlineData("background", JobPriority.Background)]
    [InlineData("Interactive", JobPriority.Interactive)]
    public void AcceptsAPriorityInAnyCaseAndTakesInteractiveWhenLeftOut(string? priority, JobPriority expected)
    {
        Assert.Empty(TrainingJobsApi.Validate(Valid with { Priority = priority }));
        Assert.Equal(expected, TrainingJobsApi.PriorityOf(priority));
    }

    [Fact]
    public void RejectsAnUnknownPriorityNamingTheFieldAndTheChoices()
    {
        var training = TrainingJobsApi.Validate(Valid with { Priority = "urgent" });
        var batch = BatchPredictionsApi.Validate(new SubmitBatchPredictionRequest("iris", Version: 1, Dataset: "iris", Priority: "urgent"));

        Assert.Equal(["priority"], training.Keys);
        Assert.Equal("'urgent' is not a priority; choose interactive or background", training["priority"][0]);
        Assert.Equal(["priority"], batch.Keys);
        Assert.Equal(training["priority"], batch["priority"]);
    }

    [Theory]
    [InlineData("succeeded", JobStatus.Succeeded)]
    [InlineData("Succeeded", JobStatus.Succeeded)]
    [InlineData("cancelled", JobStatus.Cancelled)]
    public void ReadsAStatusAsTheApiWritesIt(string text, JobStatus expected)
    {
        Assert.True(JobStatuses.TryParse(text, out var status));
        Assert.Equal(expected, status);
        Assert.Equal(text.ToLowerInvariant(), JobStatuses.Name(status));
    }

    [Fact]
    public void RefusesAStatusTheApiNeverWrites()
    {
        Assert.False(JobStatuses.TryParse("done", out _));
        Assert.Equal(["queued", "running", "succeeded", "failed", "cancelled"], JobStatuses.Names);
    }
}
