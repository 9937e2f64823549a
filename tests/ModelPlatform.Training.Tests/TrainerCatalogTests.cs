using ModelPlatform.Contracts;
using ModelPlatform.ML;
using ModelPlatform.Training.Apis;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Training.Tests;

/// <summary>The catalog forms are built from says exactly what submitting a job accepts.</summary>
public class TrainerCatalogTests
{
    private static readonly TrainerCatalog Catalog = TrainingJobsApi.ListTrainers().Value!;

    [Theory]
    [InlineData(MLTask.Binary)]
    [InlineData(MLTask.Multiclass)]
    [InlineData(MLTask.Regression)]
    public void ListsEachTasksTrainersWithItsDefaultFirst(MLTask task)
    {
        var listed = Catalog.Trainers.Where(trainer => trainer.Task == task).ToList();

        Assert.Equal(Trainers.NamesFor(task), listed.Select(trainer => trainer.Name));
        Assert.Equal(Trainers.DefaultFor(task), Assert.Single(listed, trainer => trainer.IsDefault).Name);
        Assert.Equal("auto", Catalog.Auto);
        var metrics = Catalog.Metrics.Where(metric => metric.Task == task).ToList();
        Assert.Equal(ModelMetrics.NamesFor(task), metrics.Select(metric => metric.Name));
        Assert.Equal(ModelMetrics.DefaultFor(task), Assert.Single(metrics, metric => metric.IsDefault).Name);
        Assert.All(metrics, metric => Assert.Equal(ModelMetrics.HigherIsBetter(task, metric.Name), metric.HigherIsBetter));
    }

    [Fact]
    public void TheBudgetRangeIsTheOneSubmittingChecks()
    {
        var auto = new SubmitTrainingJobRequest("m", "d", null, "label", MLTask.Binary, Catalog.Auto, null);

        Assert.Empty(TrainingJobsApi.Validate(auto with { BudgetSeconds = Catalog.BudgetSeconds.Min }));
        Assert.Empty(TrainingJobsApi.Validate(auto with { BudgetSeconds = Catalog.BudgetSeconds.Max }));
        Assert.Contains("budgetSeconds", TrainingJobsApi.Validate(auto with { BudgetSeconds = Catalog.BudgetSeconds.Min - 1 }).Keys);
        Assert.Contains("budgetSeconds", TrainingJobsApi.Validate(auto with { BudgetSeconds = Catalog.BudgetSeconds.Max + 1 }).Keys);
    }

    [Fact]
    public void EveryListedValueIsOneSubmittingAccepts()
    {
        var request = new SubmitTrainingJobRequest("m", "d", null, "label", MLTask.Binary, null, null);
        foreach (var trainer in Catalog.Trainers)
        {
            foreach (var parameter in trainer.Hyperparameters)
            {
                Assert.True(parameter.Min < parameter.Max, $"{trainer.Name}.{parameter.Name}");
                foreach (var value in new[] { parameter.Min, parameter.Max, parameter.Default ?? parameter.Min })
                {
                    var errors = TrainingJobsApi.Validate(request with
                    {
                        Task = trainer.Task,
                        Trainer = trainer.Name,
                        Hyperparameters = new() { [parameter.Name] = value },
                    });
                    Assert.Empty(errors);
                }

                // Past the range is refused, naming the setting.
                var beyond = TrainingJobsApi.Validate(request with
                {
                    Task = trainer.Task,
                    Trainer = trainer.Name,
                    Hyperparameters = new() { [parameter.Name] = parameter.Max + 1 },
                });
                Assert.Contains(beyond.Keys, key => key.Contains(parameter.Name, StringComparison.Ordinal));
            }
        }
    }
}
