using System.Globalization;
using System.Text.Json;
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

    [Fact]
    public void ARolloutWithAlarmsOnAGatedPipelineIsValid()
    {
        var definition = Valid with
        {
            Rollout = new PipelineRollout(25, PipelineRollout.Shadow, SoakSeconds: 600, SoakRows: 1_000, MaxSoakSeconds: 3_600, MinAgreement: 0.95,
                MaxErrorRateIncrease: 0.02, MaxLatencyRatio: 1.5),
            Alarms = new PipelineAlarms(MaxErrorRate: 0.05, MaxP99Milliseconds: 250, MaxDriftedShare: 0.3, MinRequests: 50, WatchSeconds: 900),
        };

        var (errors, _) = PipelineValidation.Validate("nightly-iris", definition);

        Assert.Empty(errors);
    }

    [Theory]
    [InlineData("""{"rollout": {"canaryPercent": 0}}""", "rollout.canaryPercent")]
    [InlineData("""{"rollout": {"canaryPercent": 100}}""", "rollout.canaryPercent")]
    [InlineData("""{"rollout": {"current": "canary"}}""", "rollout.current")]
    [InlineData("""{"rollout": {"soakSeconds": -1}}""", "rollout.soakSeconds")]
    [InlineData("""{"rollout": {"maxSoakSeconds": 0}}""", "rollout.maxSoakSeconds")]
    [InlineData("""{"rollout": {"soakSeconds": 600, "maxSoakSeconds": 599}}""", "rollout.maxSoakSeconds")]
    [InlineData("""{"rollout": {"maxSoakSeconds": 100}}""", "rollout.maxSoakSeconds")]
    [InlineData("""{"rollout": {"soakSeconds": 172800}}""", "rollout.soakSeconds")]
    [InlineData("""{"rollout": {"soakRows": -1}}""", "rollout.soakRows")]
    [InlineData("""{"rollout": {"minAgreement": 1.1}}""", "rollout.minAgreement")]
    [InlineData("""{"rollout": {"minAgreement": 0.9, "current": "control"}}""", "rollout.minAgreement")]
    [InlineData("""{"rollout": {"maxErrorRateIncrease": -0.01}}""", "rollout.maxErrorRateIncrease")]
    [InlineData("""{"rollout": {"maxLatencyRatio": 0.9}}""", "rollout.maxLatencyRatio")]
    [InlineData("""{"rollout": {}, "gate": null}""", "rollout")]
    [InlineData("""{"alarms": {"maxErrorRate": 1.5}}""", "alarms.maxErrorRate")]
    [InlineData("""{"alarms": {"maxDriftedShare": -0.1}}""", "alarms.maxDriftedShare")]
    [InlineData("""{"alarms": {"maxP99Milliseconds": 0}}""", "alarms.maxP99Milliseconds")]
    [InlineData("""{"alarms": {"maxErrorRate": 0.05, "minRequests": 0}}""", "alarms.minRequests")]
    [InlineData("""{"alarms": {"maxErrorRate": 0.05, "watchSeconds": -1}}""", "alarms.watchSeconds")]
    [InlineData("""{"alarms": {"minRequests": 50, "watchSeconds": 900}}""", "alarms")]
    [InlineData("""{"alarms": {"maxErrorRate": 0.05}, "gate": null}""", "alarms")]
    public void EachRolloutAndAlarmProblemIsNamedByItsField(string json, string field)
    {
        // The rollout and alarms as a client sends them; a "gate": null takes the valid definition's gate away.
        var sent = JsonDocument.Parse(json).RootElement;
        var definition = Valid with
        {
            Rollout = sent.TryGetProperty("rollout", out var rollout) ? rollout.Deserialize<PipelineRollout>(JsonSerializerOptions.Web) : null,
            Alarms = sent.TryGetProperty("alarms", out var alarms) ? alarms.Deserialize<PipelineAlarms>(JsonSerializerOptions.Web) : null,
            Gate = sent.TryGetProperty("gate", out _) ? null : Valid.Gate,
        };

        var (errors, _) = PipelineValidation.Validate("nightly-iris", definition);

        Assert.Equal([field], errors.Keys);
    }
}
