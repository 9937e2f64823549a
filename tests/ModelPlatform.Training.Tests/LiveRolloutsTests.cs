using System.Globalization;
using ModelPlatform.Contracts;
using ModelPlatform.Training.Pipelines;

namespace ModelPlatform.Training.Tests;

/// <summary>
/// A candidate's live rollout judged from cumulative readings: v4 is the candidate, v3 the version production served before.
/// Every reading is a total since the version was first served, so each test starts its phase from totals that are not zero.
/// </summary>
public class LiveRolloutsTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-11-29T10:00:00Z", CultureInfo.InvariantCulture);

    /// <summary>Live totals with every request taking <paramref name="seconds"/>.</summary>
    private static LiveTraffic Traffic(long requests, long errors = 0, long rows = 0, double seconds = 0.01)
    {
        var latency = new long[LiveTraffic.LatencyBounds.Count + 1];
        latency[LiveTraffic.LatencyBucket(seconds)] = requests;
        return new LiveTraffic(requests, errors, rows, latency);
    }

    /// <summary>A later reading: <paramref name="earlier"/> and what was answered since.</summary>
    private static LiveTraffic Plus(LiveTraffic earlier, LiveTraffic since) => new(
        earlier.Requests + since.Requests, earlier.Errors + since.Errors, earlier.Rows + since.Rows,
        [.. earlier.Latency.Zip(since.Latency, (before, after) => before + after)]);

    private static ShadowComparison Shadow(long rows, long agreed) => new(4, 3, rows, agreed, (double)agreed / rows, 0);

    // What every canary starts from: earlier traffic of both versions (an earlier canary of v4, say) and its shadow totals.
    private static readonly LiveTraffic CandidateBefore = Traffic(500, errors: 100, rows: 5_000, seconds: 2);
    private static readonly LiveTraffic ControlBefore = Traffic(10_000, errors: 2_000, rows: 100_000, seconds: 2);
    private static readonly ShadowComparison ShadowBefore = Shadow(10_000, 5_000);

    private static RolloutState Canary() => new(
        PipelineRunStatuses.Canary, 4, 3, new SetAliasRequest(3, new CanaryRoute(4, 10), 3), Start, CandidateBefore, ControlBefore, ShadowBefore);

    private static RolloutState Watching() => new(PipelineRunStatuses.Watching, 4, 3, new SetAliasRequest(4), Start, CandidateBefore, null, null);

    private static PipelineDefinition Defined(PipelineRollout? rollout = null, PipelineAlarms? alarms = null) => new(
        "fraud", "payments", new PipelineTraining("fraud", MLTask.Binary), Gate: new PromotionGate(), Rollout: rollout, Alarms: alarms);

    /// <summary>A look <paramref name="seconds"/> into the phase at what each version answered in them, and what it decides.</summary>
    private static (LiveObservation Look, RolloutDecision Decision, string Reason) Judge(
        RolloutState state, PipelineDefinition definition, double seconds, LiveTraffic candidate, LiveTraffic? control = null,
        (long Rows, long Agreed)? shadow = null, double? driftedShare = null)
    {
        var look = LiveRollouts.Observe(state, definition, Plus(state.CandidateAtStart, candidate),
            control is null || state.ControlAtStart is null ? null : Plus(state.ControlAtStart, control),
            state.ShadowAtStart is { } before ? Shadow(before.Rows + (shadow?.Rows ?? 0), before.Agreed + (shadow?.Agreed ?? 0)) : null,
            driftedShare, Start.AddSeconds(seconds));
        var (decision, reason) = LiveRollouts.Decide(state, definition, look);
        return (look, decision, reason);
    }

    private static void Unjudged(LiveCheck check)
    {
        Assert.Null(check.Value);
        Assert.True(check.Passed);
    }

    [Fact]
    public void AlarmsAreNotJudgedUntilTheCandidateAnsweredItsMinimumRequestsInThePhase()
    {
        // The default minimum is 20; the 500 requests before the phase do not count towards it.
        var definition = Defined(alarms: new PipelineAlarms(MaxErrorRate: 0.05, MaxP99Milliseconds: 100));

        var (tooFew, waits, _) = Judge(Watching(), definition, 60, Traffic(19, errors: 10, seconds: 1));
        var (enough, rollsBack, _) = Judge(Watching(), definition, 60, Traffic(20, errors: 10, seconds: 1));

        Assert.Equal(RolloutDecision.Wait, waits);
        Assert.All(tooFew.Checks, Unjudged);
        Assert.Equal(RolloutDecision.RollBack, rollsBack);
        Assert.Equal(0.5, enough.Checks.Single(check => check.Name == "errorRate").Value);
    }

    [Fact]
    public void AnErrorRateOverItsAlarmRollsTheCanaryBackBeforeItsSoakEndsAndSaysWhichAlarm()
    {
        var definition = Defined(new PipelineRollout(SoakSeconds: 600), new PipelineAlarms(MaxErrorRate: 0.05, MinRequests: 40));

        var (look, decision, reason) = Judge(Canary(), definition, 60, Traffic(40, errors: 4), control: Traffic(400, errors: 4));

        Assert.Equal(RolloutDecision.RollBack, decision);
        Assert.Equal("alarm errorRate: errorRate 0.1 (at most 0.05) after 60 s of the canary, on 40 requests", reason);
        // The window's figures, not the totals since v4 was first served.
        Assert.Equal((40L, 4L, 0.1), (look.Candidate.Requests, look.Candidate.Errors, look.Candidate.ErrorRate));
    }

    [Fact]
    public void AnErrorRateWithinItsAlarmKeepsWatching()
    {
        var definition = Defined(alarms: new PipelineAlarms(MaxErrorRate: 0.05));

        var (look, decision, _) = Judge(Watching(), definition, 60, Traffic(100, errors: 5));

        Assert.Equal(RolloutDecision.Wait, decision);
        var check = Assert.Single(look.Checks);
        Assert.Equal(("errorRate", LiveRollouts.Alarm, (double?)0.05, true), (check.Name, check.Kind, check.Value, check.Passed));
    }

    [Theory]
    [InlineData(0.1, RolloutDecision.Wait)]
    [InlineData(0.4, RolloutDecision.RollBack)]
    public void TheP99AlarmIsInMilliseconds(double requestSeconds, RolloutDecision expected)
    {
        var definition = Defined(alarms: new PipelineAlarms(MaxP99Milliseconds: 250));

        var (look, decision, reason) = Judge(Watching(), definition, 60, Traffic(50, seconds: requestSeconds));

        Assert.Equal(expected, decision);
        // Bucketed request times are within a quarter of the true ones.
        Assert.InRange(Assert.Single(look.Checks).Value!.Value, requestSeconds * 1000 / 1.25, requestSeconds * 1000 * 1.25);
        Assert.Equal(expected == RolloutDecision.RollBack, reason.StartsWith("alarm p99Milliseconds: ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0.2, RolloutDecision.Wait)]
    [InlineData(0.5, RolloutDecision.RollBack)]
    public void ADriftedShareOverItsAlarmRollsBack(double driftedShare, RolloutDecision expected)
    {
        var definition = Defined(alarms: new PipelineAlarms(MaxDriftedShare: 0.3));

        var (look, decision, reason) = Judge(Watching(), definition, 60, Traffic(50), driftedShare: driftedShare);

        Assert.Equal(expected, decision);
        Assert.Equal(driftedShare, look.DriftedShare);
        Assert.Equal(expected == RolloutDecision.RollBack, reason.StartsWith("alarm driftedShare: driftedShare 0.5 (at most 0.3)", StringComparison.Ordinal));
    }

    [Fact]
    public void ACanaryWhoseChecksHoldWaitsForTheEndOfItsSoak()
    {
        var definition = Defined(new PipelineRollout(SoakSeconds: 600));

        var (_, early, earlyReason) = Judge(Canary(), definition, 599, Traffic(100, rows: 100), control: Traffic(900, rows: 900));
        var (_, soaked, _) = Judge(Canary(), definition, 600, Traffic(100, rows: 100), control: Traffic(900, rows: 900));

        Assert.Equal((RolloutDecision.Wait, ""), (early, earlyReason));
        Assert.Equal(RolloutDecision.Promote, soaked);
    }

    [Fact]
    public void ACanaryIsPromotedOnTheAgreementOfTheShadowsRowsSinceItBeganNotItsTotals()
    {
        // The shadow totals at the start agree on half their rows; the canary's own 100 rows agree on 95.
        var definition = Defined(new PipelineRollout(SoakSeconds: 300, MinAgreement: 0.9));

        var (look, decision, reason) = Judge(Canary(), definition, 300, Traffic(100, rows: 100), control: Traffic(900, rows: 900), shadow: (100, 95));

        Assert.Equal(RolloutDecision.Promote, decision);
        Assert.Equal((100L, (double?)0.95), (look.ShadowRows, look.Agreement));
        Assert.Equal("soaked 300 s, 100 records; live checks held: agreement 0.95 (at least 0.9), errorRateIncrease 0 (at most 0.01)", reason);
    }

    [Fact]
    public void ACanaryTheShadowDisagreesWithSinceItBeganRollsBackWhateverTheTotalsSay()
    {
        // 10,000 rows agreed before the canary: the totals would agree on 99.5%, the canary's own rows on half.
        var state = Canary() with { ShadowAtStart = Shadow(10_000, 10_000) };
        var definition = Defined(new PipelineRollout(SoakSeconds: 300, MinAgreement: 0.9));

        var (look, decision, reason) = Judge(state, definition, 300, Traffic(100, rows: 100), control: Traffic(900, rows: 900), shadow: (100, 50));

        Assert.Equal((RolloutDecision.RollBack, (double?)0.5), (decision, look.Agreement));
        Assert.Equal("soaked 300 s, 100 records; live checks failed: agreement 0.5 (at least 0.9)", reason);
    }

    [Theory]
    [InlineData(3, RolloutDecision.Promote)]
    [InlineData(6, RolloutDecision.RollBack)]
    public void ACanaryRollsBackWhenItsErrorRateExceedsTheControlsInThePhaseByMoreThanTheDefaultLimit(int errors, RolloutDecision expected)
    {
        // The control failed 1% of its requests in the phase (20% of its totals); the candidate 1.5% or 3%, against a limit of 0.01.
        var definition = Defined(new PipelineRollout(SoakSeconds: 300));

        var (look, decision, reason) = Judge(Canary(), definition, 300, Traffic(200, errors, rows: 200), control: Traffic(1_000, errors: 10, rows: 1_000));

        Assert.Equal(expected, decision);
        var increase = Assert.Single(look.Checks);
        Assert.Equal(("errorRateIncrease", LiveRollouts.Check, 0.01), (increase.Name, increase.Kind, increase.Limit));
        Assert.Equal(errors / 200.0 - 0.01, increase.Value!.Value, 10);
        Assert.Equal(expected == RolloutDecision.RollBack, reason.Contains("live checks failed: errorRateIncrease 0.02 (at most 0.01)"));
    }

    [Theory]
    [InlineData(0.1, RolloutDecision.Promote)]
    [InlineData(0.2, RolloutDecision.RollBack)]
    public void ACanaryRollsBackWhenItsP99IsSlowerThanTheControlsByMoreThanItsRatio(double candidateSeconds, RolloutDecision expected)
    {
        var definition = Defined(new PipelineRollout(SoakSeconds: 300, MaxLatencyRatio: 1.5));

        var (look, decision, reason) = Judge(Canary(), definition, 300, Traffic(100, rows: 100, seconds: candidateSeconds),
            control: Traffic(900, rows: 900, seconds: 0.1));

        Assert.Equal(expected, decision);
        var ratio = look.Checks.Single(check => check.Name == "latencyRatio");
        // Bucketed request times are within a quarter of the true ones, so the ratio is within a quarter each way.
        Assert.InRange(ratio.Value!.Value, candidateSeconds / 0.1 / 1.25, candidateSeconds / 0.1 * 1.25);
        Assert.Equal(expected == RolloutDecision.RollBack, reason.Contains("live checks failed: latencyRatio "));
    }

    [Fact]
    public void ACheckThatCouldNotBeMeasuredPassesDuringTheSoakAndFailsItsEnd()
    {
        // Nothing reached the control in the phase, and the shadow scored none of the canary's rows.
        var definition = Defined(new PipelineRollout(SoakSeconds: 300, MinAgreement: 0.9));

        var (during, waits, _) = Judge(Canary(), definition, 299, Traffic(100, rows: 100), control: Traffic(0));
        var (_, decision, reason) = Judge(Canary(), definition, 300, Traffic(100, rows: 100), control: Traffic(0));

        Assert.Equal(RolloutDecision.Wait, waits);
        Assert.All(during.Checks, Unjudged);
        Assert.Equal(RolloutDecision.RollBack, decision);
        Assert.Equal("soaked 300 s, 100 records; live checks failed: agreement not measured: too little traffic (at least 0.9); "
            + "errorRateIncrease not measured: too little traffic (at most 0.01)", reason);
    }

    [Fact]
    public void ACanaryStillShortOfItsRowsAtItsLongestSoakRollsBack()
    {
        var definition = Defined(new PipelineRollout(SoakRows: 1_000, MaxSoakSeconds: 3_600));

        var (_, waits, _) = Judge(Canary(), definition, 3_599, Traffic(999, rows: 999), control: Traffic(9_000, rows: 9_000));
        var (_, decision, reason) = Judge(Canary(), definition, 3_600, Traffic(999, rows: 999), control: Traffic(9_000, rows: 9_000));

        Assert.Equal((RolloutDecision.Wait, RolloutDecision.RollBack), (waits, decision));
        Assert.Equal("the canary scored 999 of its 1000 records in 3600 s", reason);
    }

    [Theory]
    [InlineData(null, 599.0, RolloutDecision.Wait)]
    [InlineData(null, 600.0, RolloutDecision.Done)]
    [InlineData(900, 899.0, RolloutDecision.Wait)]
    [InlineData(900, 900.0, RolloutDecision.Done)]
    public void AWatchThatHeldIsDoneAfterItsWatchSeconds(int? watchSeconds, double seconds, RolloutDecision expected)
    {
        // The rollout's checks belong to the canary: a watch judges only the alarms.
        var definition = Defined(new PipelineRollout(MinAgreement: 0.99, MaxLatencyRatio: 1),
            new PipelineAlarms(MaxErrorRate: 0.05, WatchSeconds: watchSeconds));

        var (look, decision, reason) = Judge(Watching(), definition, seconds, Traffic(50, errors: 1, seconds: 3));

        Assert.Equal(expected, decision);
        Assert.Equal(expected == RolloutDecision.Done ? $"watched {seconds} s (50 requests): no alarm" : "", reason);
        Assert.Equal(["errorRate"], look.Checks.Select(check => check.Name));
    }

    [Theory]
    // Neither set: five minutes.
    [InlineData(null, null, 299.0, 0L, RolloutDecision.Wait)]
    [InlineData(null, null, 300.0, 0L, RolloutDecision.Promote)]
    // Rows only: no time to wait.
    [InlineData(null, 100L, 1.0, 99L, RolloutDecision.Wait)]
    [InlineData(null, 100L, 1.0, 100L, RolloutDecision.Promote)]
    // Time only: no rows to wait for.
    [InlineData(60, null, 59.0, 1_000L, RolloutDecision.Wait)]
    [InlineData(60, null, 60.0, 0L, RolloutDecision.Promote)]
    // Both: whichever comes later.
    [InlineData(60, 100L, 120.0, 99L, RolloutDecision.Wait)]
    [InlineData(60, 100L, 59.0, 1_000L, RolloutDecision.Wait)]
    [InlineData(60, 100L, 60.0, 100L, RolloutDecision.Promote)]
    public void ASoakLastsItsSecondsAndItsRowsWithFiveMinutesWhenNeitherIsSet(
        int? soakSeconds, long? soakRows, double seconds, long rows, RolloutDecision expected)
    {
        var definition = Defined(new PipelineRollout(SoakSeconds: soakSeconds, SoakRows: soakRows));

        var (_, decision, _) = Judge(Canary(), definition, seconds, Traffic(100, rows: rows), control: Traffic(900, rows: 900));

        Assert.Equal(expected, decision);
    }

    [Theory]
    [InlineData(0.00001)]
    [InlineData(0.0001)]
    [InlineData(0.00012)]
    [InlineData(0.0125)]
    [InlineData(0.1)]
    [InlineData(2.5)]
    [InlineData(1_000.0)]
    public void ARequestTimeIsCountedInTheFirstBucketWhoseBoundReachesIt(double seconds)
    {
        var bounds = LiveTraffic.LatencyBounds;

        var bucket = LiveTraffic.LatencyBucket(seconds);

        Assert.True(bucket == bounds.Count || seconds <= bounds[bucket], $"{seconds} s is above bucket {bucket}'s bound");
        Assert.True(bucket == 0 || seconds > bounds[bucket - 1], $"{seconds} s is within bucket {bucket - 1}'s bound");
    }

    [Fact]
    public void ARequestTimeOnABoundIsCountedInThatBoundsBucket()
    {
        var buckets = LiveTraffic.LatencyBounds.Select(LiveTraffic.LatencyBucket);

        Assert.Equal(Enumerable.Range(0, LiveTraffic.LatencyBounds.Count), buckets);
    }

    [Fact]
    public void AWindowIsTheDifferenceOfTwoReadingsAndHasNoP99WithoutRequests()
    {
        var earlier = Traffic(10, errors: 1, rows: 30, seconds: 0.5);
        var later = Plus(earlier, Traffic(40, errors: 2, rows: 80, seconds: 0.05));

        var window = later.Since(earlier);

        Assert.Equal((40L, 2L, 80L, 0.05), (window.Requests, window.Errors, window.Rows, window.ErrorRate));
        Assert.InRange(window.P99Seconds!.Value, 0.04, 0.0625);
        var nothing = later.Since(later);
        Assert.Equal((0L, 0.0, (double?)null), (nothing.Requests, nothing.ErrorRate, nothing.P99Seconds));
    }
}
