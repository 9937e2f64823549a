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
    public void RejectsPositiveClassOutsideBinaryTasks()
    {
        Assert.Contains("positiveClass", TrainingJobsApi.Validate(Valid with { PositiveClass = "setosa" }).Keys);
    }

    [Fact]
    public void RejectsNonPositiveDatasetVersion()
    {
        Assert.Contains("datasetVersion", TrainingJobsApi.Validate(Valid with { DatasetVersion = 0 }).Keys);
    }
}
