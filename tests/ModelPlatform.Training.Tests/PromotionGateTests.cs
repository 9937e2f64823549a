using ModelPlatform.Contracts;
using ModelPlatform.Training.Pipelines;

namespace ModelPlatform.Training.Tests;

public class PromotionGateTests
{
    private static ModelComparison Comparison(Dictionary<string, double> candidate, Dictionary<string, double> baseline) =>
        new("production", 3, 200, candidate, baseline, null);

    private static readonly Dictionary<string, double> Production = new()
    {
        ["macroAccuracy"] = 0.90,
        ["logLoss"] = 0.30,
        ["perClass.setosa.recall"] = 1.0,
        ["perClass.versicolor.recall"] = 0.85,
    };

    [Fact]
    public void ACandidateThatGainsEnoughWithoutRegressingPassesWithItsNumbers()
    {
        var candidate = new Dictionary<string, double>(Production) { ["macroAccuracy"] = 0.93, ["logLoss"] = 0.31 };
        var gate = new PromotionGate(MinGain: 0.02, MaxRegressions: new Dictionary<string, double> { ["logLoss"] = 0.05 }, MaxRecallDrop: 0.05);

        var verdict = PromotionGates.Decide(gate, MLTask.Multiclass, Comparison(candidate, Production), candidate);

        Assert.True(verdict.Passed, verdict.Reason);
        Assert.Equal(("macroAccuracy", 0.93, 0.90, 200), (verdict.Metric, verdict.Candidate, verdict.Baseline!.Value, verdict.Rows));
        Assert.Equal(0.03, verdict.Gain!.Value, 10);
        // logLoss: lower is better, so 0.30 → 0.31 is a change of -0.01, within its 0.05.
        var logLoss = Assert.Single(verdict.Checks, check => check.Name == "logLoss");
        Assert.Equal((-0.01, true), (Math.Round(logLoss.Change, 10), logLoss.Passed));
        Assert.Equal(3, verdict.Checks.Count);
    }

    [Fact]
    public void AGainShortOfTheMinimumFailsAndSaysBy()
    {
        var candidate = new Dictionary<string, double>(Production) { ["macroAccuracy"] = 0.91 };

        var verdict = PromotionGates.Decide(new PromotionGate(MinGain: 0.02), MLTask.Multiclass, Comparison(candidate, Production), candidate);

        Assert.False(verdict.Passed);
        Assert.Equal("macroAccuracy 0.9 → 0.91: a gain of 0.01, short of the 0.02 required", verdict.Reason);
    }

    [Fact]
    public void AnOverallGainBoughtByMissingOneClassFailsOnThatClasssRecall()
    {
        var candidate = new Dictionary<string, double>(Production) { ["macroAccuracy"] = 0.95, ["perClass.versicolor.recall"] = 0.70 };

        var verdict = PromotionGates.Decide(new PromotionGate(MaxRecallDrop: 0.1), MLTask.Multiclass, Comparison(candidate, Production), candidate);

        Assert.False(verdict.Passed);
        Assert.Equal("perClass.versicolor.recall 0.85 → 0.7: worse by 0.15, more than the 0.1 allowed", verdict.Reason);
        Assert.True(verdict.Checks.Single(check => check.Name == "perClass.setosa.recall").Passed);
    }

    [Fact]
    public void WithNothingInProductionTheFirstCandidatePassesAndAComparisonThatCouldNotBeMadeFails()
    {
        var first = PromotionGates.Decide(new PromotionGate(), MLTask.Binary,
            new ModelComparison("production", null, 0, null, null, "iris has no alias 'production' yet: nothing to compare with"),
            new Dictionary<string, double> { ["auc"] = 0.91 });
        var uncompared = PromotionGates.Decide(new PromotionGate(), MLTask.Binary,
            new ModelComparison("production", 3, 0, null, null, "version 3 and the new model could not be compared: only 40 rows"),
            new Dictionary<string, double>());

        Assert.True(first.Passed);
        Assert.Equal((0.91, null), (first.Candidate, first.Baseline));
        Assert.False(uncompared.Passed);
        Assert.Equal("version 3 and the new model could not be compared: only 40 rows", uncompared.Reason);
    }

    [Fact]
    public void ARegressionMetricWhereLowerIsBetterGainsByFalling()
    {
        var verdict = PromotionGates.Decide(new PromotionGate(Metric: "rmse", MinGain: 0.5), MLTask.Regression,
            Comparison(new() { ["rmse"] = 9.0 }, new() { ["rmse"] = 10.0 }), new Dictionary<string, double>());

        Assert.True(verdict.Passed, verdict.Reason);
        Assert.Equal(1.0, verdict.Gain);
    }
}
