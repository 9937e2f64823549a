using System.Globalization;
using ModelPlatform.Contracts;
using ModelPlatform.Training.Pipelines;

namespace ModelPlatform.Training.Tests;

public class PipelineValidationTests
{
    private static readonly PipelineDefinition Valid = new(
        "iris", "iris", new PipelineTraining("species", MLTask.Multiclass, Trainer: "auto", BudgetSeconds: 30),
        Schedule: new PipelineSchedule("0 2 * * *", "Europe/Berlin"), OnNewData: new DataTrigger(120), Concurrency: "queue",
        Gate: new PromotionGate("macroAccuracy", 0.01, new Dictionary<string, double> { ["logLoss"] = 0.1 }, 0.05));

    [Fact]
    public void AValidDefinitionHasNoProblemsAndItsSchedule()
    {
        var (errors, schedule) = PipelineValidation.Validate("nightly-iris", Valid);

        Assert.Empty(errors);
        // 02:00 in Berlin is 01:00 UTC in winter.
        Assert.Equal(DateTimeOffset.Parse("2026-11-30T01:00:00Z", CultureInfo.InvariantCulture),
            schedule!.NextAfter(DateTimeOffset.Parse("2026-11-29T12:00:00Z", CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void EachProblemIsNamedByItsFieldInThePipeline()
    {
        var definition = Valid with
        {
            Model = "no spaces",
            Training = new PipelineTraining(null, MLTask.Multiclass, Trainer: "auto", Metric: "auc"),
            Schedule = new PipelineSchedule("61 * * * *"),
            OnNewData = new DataTrigger(-1),
            Concurrency = "parallel",
            Gate = new PromotionGate("r2", MaxRegressions: new Dictionary<string, double> { ["logLoss"] = -1 }),
        };

        var (errors, _) = PipelineValidation.Validate("nightly", definition);

        Assert.Equal(
            ["concurrency", "gate.maxRegressions.logLoss", "gate.metric", "model", "onNewData.debounceSeconds", "schedule.cron", "training.label",
                "training.metric"],
            errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ATimeZoneTheMachineDoesNotKnowAndARecallLimitOnRegressionAreRefused()
    {
        var definition = Valid with
        {
            Training = new PipelineTraining("price", MLTask.Regression),
            Schedule = new PipelineSchedule("*/10 * * * * *", "Mars/Olympus"),
            Gate = new PromotionGate(MaxRecallDrop: 0.1),
        };

        var (errors, _) = PipelineValidation.Validate("prices", definition);

        Assert.Equal(["gate.maxRecallDrop", "schedule.timeZone"], errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ADefinitionWithoutTrainingSaysSoOnce()
    {
        var (errors, _) = PipelineValidation.Validate("nightly", Valid with { Training = null });

        Assert.Equal(["training"], errors.Keys);
    }
}
