using System.Text.Json;
using ModelPlatform.Contracts;
using ModelPlatform.Features.Statistics;

namespace ModelPlatform.Features.Tests;

// Expected values come from drift_expected.py (numpy 1.24.2, scipy 1.10.1) unless a comment works them out by hand.
// They are checked to 1e-9 relative: the code follows scipy's algorithms, so only rounding separates the two.
public class DriftTests
{
    // ---- Kolmogorov–Smirnov ----

    [Fact]
    public void KolmogorovSmirnovOfSeparatedSamplesIsTheShareOfOrderingsThatSeparate()
    {
        var result = KolmogorovSmirnov.TwoSample(Numbers(1, 2, 3), Numbers(4, 5, 6));

        // D = 1; of the C(6, 3) = 20 equally likely orderings, only 2 put one sample wholly below the other.
        Assert.Equal(1.0, result.Statistic);
        AssertClose(2.0 / 20, result.PValue);
        Assert.True(result.Exact);
    }

    [Theory]
    [InlineData("SmallWithTies", 0.4772727272727273, 0.17817734381201875, true)]
    [InlineData("EqualSizes", 0.25, 6.734842895808746e-06, true)]
    [InlineData("UnequalSizesWithTies", 0.08083333333333333, 0.45184477652933736, true)]
    [InlineData("LargestExact", 0.0402, 0.10358124120931157, true)]
    [InlineData("AsymptoticSmallShift", 0.044749999999999956, 0.2830982310227188, false)]
    [InlineData("AsymptoticLargeShift", 0.26549999999999996, 2.3393202315029634e-30, false)]
    [InlineData("AsymptoticFewReferenceValues", 0.10190000000000005, 0.23378626533840777, false)]
    [InlineData("Identical", 0.0, 1.0, true)]
    public void KolmogorovSmirnovMatchesScipy(string sample, double statistic, double pValue, bool exact)
    {
        var (first, second) = Samples.ForKolmogorovSmirnov(sample);

        var result = KolmogorovSmirnov.TwoSample(first, second);

        AssertClose(statistic, result.Statistic);
        AssertClose(pValue, result.PValue);
        Assert.Equal(exact, result.Exact);
    }

    [Fact]
    public void KolmogorovSmirnovIsSymmetric()
    {
        var (first, second) = Samples.ForKolmogorovSmirnov("UnequalSizesWithTies");

        var forward = KolmogorovSmirnov.TwoSample(first, second);
        var backward = KolmogorovSmirnov.TwoSample(second, first);

        Assert.Equal(forward.Statistic, backward.Statistic);
        AssertClose(forward.PValue, backward.PValue);
    }

    // scipy.stats.kstwo.sf(x, n) and scipy.special.smirnov(n, x), across every method the distribution switches between:
    // Ruben–Gambino (nx ≤ 1, nx ≥ n − 1), Durbin's matrix, Pelz–Good (n > 140), Smirnov's sum (upper tail) and 0 (nx² ≥ 370).
    [Theory]
    [InlineData(1, 0.004, 1.0, 0.996)]
    [InlineData(1, 0.6, 0.8, 0.4)]
    [InlineData(1, 0.9, 0.19999999999999996, 0.09999999999999998)]
    [InlineData(2, 0.3, 0.98, 0.61)]
    [InlineData(2, 0.45, 0.6799999999999999, 0.34750000000000003)]
    [InlineData(2, 0.9, 0.01999999999999999, 0.009999999999999995)]
    [InlineData(5, 0.1, 1.0, 0.85359)]
    [InlineData(5, 0.15, 0.9988, 0.7376490625000001)]
    [InlineData(5, 0.2, 0.9616, 0.58528)]
    [InlineData(5, 0.3, 0.664, 0.34282)]
    [InlineData(5, 0.45, 0.19399374999999963, 0.09700187499999999)]
    [InlineData(5, 0.9, 1.9999999999999978e-05, 9.999999999999989e-06)]
    [InlineData(20, 0.05, 0.9999999767980384, 0.873652490231218)]
    [InlineData(20, 0.08, 0.9983006316269418, 0.7364607022099374)]
    [InlineData(20, 0.1, 0.976255094592155, 0.6290710188849629)]
    [InlineData(20, 0.15, 0.7044671549442872, 0.3699031419983312)]
    [InlineData(20, 0.2, 0.352720173623415, 0.1771853932104659)]
    [InlineData(20, 0.3, 0.04306706665851623, 0.021533604376327058)]
    [InlineData(20, 0.45, 0.00032446411409554644, 0.00016223205704777322)]
    [InlineData(20, 0.6, 2.0483011649719853e-07, 1.0241505824859927e-07)]
    [InlineData(20, 0.9, 2.0006866455078037e-20, 1.0003433227539019e-20)]
    [InlineData(100, 0.01, 1.0, 0.9732196650552324)]
    [InlineData(100, 0.03, 0.9999692479033473, 0.8190484857999243)]
    [InlineData(100, 0.05, 0.9532159710635725, 0.5871453380805337)]
    [InlineData(100, 0.08, 0.5182193645480672, 0.2638568897514003)]
    [InlineData(100, 0.1, 0.2526927570063874, 0.1265906584562817)]
    [InlineData(100, 0.15, 0.019839242125643017, 0.009919628413308524)]
    [InlineData(100, 0.2, 0.0005551927327988775, 0.0002775963664037337)]
    [InlineData(100, 0.3, 1.7719869892662917e-08, 8.859934946331458e-09)]
    [InlineData(100, 0.45, 5.324995419657099e-19, 2.6624977098285494e-19)]
    [InlineData(100, 0.9, 2.0533839413065759e-100, 1.0266919706532879e-100)]
    [InlineData(140, 0.03, 0.9992547123063266, 0.7621307863640686)]
    [InlineData(140, 0.05, 0.857648029765611, 0.4806544721283515)]
    [InlineData(140, 0.08, 0.31480749911643063, 0.15800984914126165)]
    [InlineData(140, 0.1, 0.11353657290090946, 0.05677796337203063)]
    [InlineData(140, 0.15, 0.0032495604415101703, 0.0016247802254718215)]
    [InlineData(140, 0.2, 2.1981563302200222e-05, 1.0990781651100111e-05)]
    [InlineData(140, 0.6, 1.0052268370224967e-48, 5.026134185112483e-49)]
    [InlineData(141, 0.03, 0.9992107601012719, 0.7607595663672311)]
    [InlineData(141, 0.05, 0.8548456930096628, 0.47825576606563275)]
    [InlineData(141, 0.08, 0.31084170879264117, 0.15599731050192012)]
    [InlineData(141, 0.1, 0.11128445516467944, 0.055651174842302024)]
    [InlineData(141, 0.15, 0.0031058623613645147, 0.0015529311806822574)]
    [InlineData(141, 0.3, 9.46134771413843e-12, 4.730673857069215e-12)]
    [InlineData(480, 0.004, 1.0, 0.9821195386659108)]
    [InlineData(480, 0.01, 0.9999999996346104, 0.9024674725488138)]
    [InlineData(480, 0.03, 0.7689254346285551, 0.41322084199758496)]
    [InlineData(480, 0.05, 0.17532877709085792, 0.08772277303535492)]
    [InlineData(480, 0.08, 0.004045319288212971, 0.0020226596441064856)]
    [InlineData(480, 0.1, 0.00012456374046663593, 6.228187023331797e-05)]
    [InlineData(480, 0.15, 6.814985393422807e-10, 3.4074926967114033e-10)]
    [InlineData(480, 0.6, 9.152881790158335e-166, 4.5764408950791675e-166)]
    [InlineData(480, 0.9, 0.0, 0.0)]
    [InlineData(1000, 0.01, 0.9999496745370611, 0.8133237754763678)]
    [InlineData(1000, 0.03, 0.3226902143914636, 0.16203171395455085)]
    [InlineData(1000, 0.05, 0.013012074781090332, 0.006506037390545166)]
    [InlineData(1000, 0.1, 3.703687096817711e-09, 1.8518435484088554e-09)]
    [InlineData(1000, 0.45, 2.524336024487931e-185, 1.2621680122439656e-185)]
    [InlineData(3000, 0.004, 0.9999999998471717, 0.9060509007551077)]
    [InlineData(3000, 0.01, 0.9220855022879386, 0.5451820643732342)]
    [InlineData(3000, 0.03, 0.008848227794930863, 0.004424113897465431)]
    [InlineData(3000, 0.05, 5.874684341454393e-07, 2.9373421707271965e-07)]
    [InlineData(3000, 0.3, 6.027936761150629e-240, 3.0139683805753146e-240)]
    public void KolmogorovDistributionMatchesScipy(int n, double x, double twoSidedSurvival, double oneSided)
    {
        AssertClose(twoSidedSurvival, KolmogorovDistribution.Survival(n, x));
        AssertClose(oneSided, KolmogorovDistribution.Smirnov(n, x));
    }

    // ---- Chi-square ----

    [Fact]
    public void ChiSquareOfEvenReferenceIsWorkedOutByHand()
    {
        var result = ChiSquare.GoodnessOfFit(Labels(("a", 50), ("b", 50)), Labels(("a", 30), ("b", 70)));

        // Expected 50 and 50: (30 − 50)²/50 + (70 − 50)²/50 = 16, on one degree of freedom.
        AssertClose(16.0, result.Statistic);
        AssertClose(6.334248366623988e-05, result.PValue);
    }

    [Fact]
    public void ChiSquareCountsALabelMissingFromTheCurrentData()
    {
        var result = ChiSquare.GoodnessOfFit(Labels(("a", 10), ("b", 20), ("c", 30)), Labels(("a", 15), ("b", 25)));

        AssertClose(40.62500000000001, result.Statistic);
        AssertClose(1.5079722038360306e-09, result.PValue);
    }

    [Fact]
    public void ChiSquareScalesTheReferenceToTheCurrentSize()
    {
        var result = ChiSquare.GoodnessOfFit(Labels(("red", 120), ("green", 60), ("blue", 20)), Labels(("red", 40), ("green", 45), ("blue", 15)));

        AssertClose(16.666666666666668, result.Statistic);
        AssertClose(0.00024036947641951404, result.PValue);
    }

    [Fact]
    public void ChiSquareOfALabelTheReferenceNeverHadIsInfiniteWithPValueZero()
    {
        var result = ChiSquare.GoodnessOfFit(Labels(("a", 10), ("b", 20)), Labels(("a", 10), ("b", 20), ("c", 1)));

        // scipy: statistic inf, p-value 0.
        Assert.True(double.IsPositiveInfinity(result.Statistic));
        Assert.Equal(0.0, result.PValue);
    }

    [Fact]
    public void ChiSquareOfASingleLabelOnBothSidesFindsNoDifference()
    {
        var result = ChiSquare.GoodnessOfFit(Labels(("yes", 10)), Labels(("yes", 3)));

        // scipy has no degree of freedom here and answers NaN.
        Assert.Equal(new ChiSquareResult(0.0, 1.0), result);
    }

    // ---- Jensen–Shannon ----

    [Fact]
    public void JensenShannonMatchesScipy()
    {
        var distance = JensenShannon.Distance(Labels(("a", 60), ("b", 30), ("c", 10)), Labels(("a", 20), ("b", 30), ("c", 40), ("d", 10)));

        AssertClose(0.3676525025889141, distance);
    }

    [Fact]
    public void JensenShannonOfDisjointLabelsIsTheSquareRootOfLnTwo()
    {
        var distance = JensenShannon.Distance(Labels(("a", 5)), Labels(("b", 7)));

        AssertClose(Math.Sqrt(Math.Log(2)), distance);
    }

    [Fact]
    public void JensenShannonOfEqualProportionsIsZero()
    {
        var distance = JensenShannon.Distance(Labels(("a", 1), ("b", 3), ("c", 7)), Labels(("c", 70), ("a", 10), ("b", 30)));

        Assert.Equal(0.0, distance, 1e-12);
    }

    // ---- Wasserstein ----

    [Fact]
    public void WassersteinOfAShiftedSampleIsTheShift()
    {
        var distance = Wasserstein.Distance(Numbers(0, 1, 3), Numbers(5, 6, 8));

        // The same shape moved by 5: every unit of mass travels 5.
        AssertClose(5.0, distance);
    }

    [Fact]
    public void WassersteinMatchesScipyForUnevenSamplesWithTies()
    {
        var distance = Wasserstein.Distance(Numbers(1, 2, 2, 7), Numbers(0.5, 2, 9));

        AssertClose(1.3333333333333335, distance);
    }

    [Fact]
    public void NormalisedWassersteinDividesByTheReferencesPopulationStd()
    {
        var distance = Wasserstein.NormalisedDistance(Bell(1500, 14), Bell(2000, 15, shift: 0.2));

        AssertClose(0.41853415766402974, distance);
    }

    [Fact]
    public void NormalisedWassersteinOfAConstantReferenceDividesByTheFloor()
    {
        var distance = Wasserstein.NormalisedDistance(Numbers(Enumerable.Repeat(5.0, 1001).ToArray()), Numbers(5.0, 5.002));

        // Half the current mass travels 0.002: 0.001, over the 0.001 floor.
        AssertClose(0.9999999999998899, distance);
    }

    // ---- PSI ----

    [Fact]
    public void NumericPsiUsesThirtyBinsOverBothRanges()
    {
        var psi = PopulationStabilityIndex.Numeric(Bell(800, 16), Bell(900, 17, shift: 0.2));

        AssertClose(0.26642329230929, psi);
    }

    [Fact]
    public void CategoricalPsiReplacesAnEmptyBinWithATenThousandth()
    {
        var psi = PopulationStabilityIndex.Categorical(Labels(("a", 40), ("b", 35), ("c", 25)), Labels(("a", 20), ("b", 30), ("c", 40), ("d", 10)));

        AssertClose(0.9069222668605279, psi);
    }

    [Fact]
    public void PsiOfTwoConstantColumnsWithTheSameValueIsZero()
    {
        var psi = PopulationStabilityIndex.Numeric(Numbers(2, 2, 2), Numbers(2, 2));

        Assert.Equal(0.0, psi);
    }

    // ---- Choosing the method ----

    [Fact]
    public void NumericReferenceOfAThousandValuesIsTestedWithKolmogorovSmirnov()
    {
        var drift = DriftDetector.CompareColumn(Bell(1000, 20), Bell(1000, 21, shift: 0.5));

        Assert.Equal(DriftMethod.KolmogorovSmirnov, drift.Method);
        Assert.Equal(0.05, drift.Threshold);
        Assert.True(drift.PValue < 0.05);
        Assert.True(drift.Drifted);
        Assert.NotNull(drift.Psi);
    }

    [Fact]
    public void NumericReferenceAboveAThousandValuesIsMeasuredWithNormalisedWasserstein()
    {
        var drift = DriftDetector.CompareColumn(Bell(1001, 20), Bell(1000, 21, shift: 0.5));

        Assert.Equal(DriftMethod.Wasserstein, drift.Method);
        Assert.Equal(0.1, drift.Threshold);
        Assert.Null(drift.PValue);
        Assert.True(drift.Statistic >= 0.1);
        Assert.True(drift.Drifted);
    }

    [Fact]
    public void LabelsSwitchFromChiSquareToJensenShannonAboveAThousandReferenceValues()
    {
        var small = DriftDetector.CompareColumn(Labels(("a", 500), ("b", 500)), Labels(("a", 480), ("b", 520)));
        var large = DriftDetector.CompareColumn(Labels(("a", 500), ("b", 501)), Labels(("a", 480), ("b", 520)));

        Assert.Equal(DriftMethod.ChiSquare, small.Method);
        Assert.NotNull(small.PValue);
        Assert.False(small.Drifted);
        Assert.Equal(DriftMethod.JensenShannon, large.Method);
        Assert.Null(large.PValue);
        Assert.False(large.Drifted);
    }

    [Fact]
    public void LargeSampleAboveIsConfigurable()
    {
        var options = new DriftOptions { LargeSampleAbove = 2 };

        var drift = DriftDetector.CompareColumn(Numbers(1, 2, 3), Numbers(1, 2, 3), options);

        Assert.Equal(DriftMethod.Wasserstein, drift.Method);
        Assert.Equal(0.0, drift.Statistic);
        Assert.False(drift.Drifted);
    }

    [Fact]
    public void ColumnDriftCarriesTheTestsValuesAndThePsi()
    {
        var (first, second) = Samples.ForKolmogorovSmirnov("EqualSizes");

        var drift = DriftDetector.CompareColumn(first, second);

        Assert.Equal(ColumnDriftStatus.Compared, drift.Status);
        AssertClose(0.25, drift.Statistic!.Value);
        AssertClose(6.734842895808746e-06, drift.PValue!.Value);
        Assert.Equal(200, drift.ReferenceCount);
        Assert.Equal(200, drift.CurrentCount);
        Assert.Equal(PopulationStabilityIndex.Numeric(first, second), drift.Psi);
        Assert.Equal(drift.Psi >= 0.1, drift.PsiDrifted);
    }

    [Fact]
    public void ANewLabelDriftsWithANullStatisticAndPValueZero()
    {
        var drift = DriftDetector.CompareColumn(Labels(("a", 10), ("b", 20)), Labels(("a", 10), ("b", 20), ("c", 1)));

        Assert.Equal(DriftMethod.ChiSquare, drift.Method);
        Assert.Null(drift.Statistic);
        Assert.Equal(0.0, drift.PValue);
        Assert.True(drift.Drifted);
    }

    [Fact]
    public void AConstantReferenceDriftsWhenTheCurrentDataMovesByMoreThanATenThousandth()
    {
        var drift = DriftDetector.CompareColumn(Numbers(Enumerable.Repeat(5.0, 1001).ToArray()), Numbers(5.0, 5.002));

        Assert.Equal(DriftMethod.Wasserstein, drift.Method);
        AssertClose(0.9999999999998899, drift.Statistic!.Value);
        Assert.True(drift.Drifted);
    }

    [Fact]
    public void EmptyAndMismatchedColumnsAreReportedWithoutATest()
    {
        var emptyCurrent = DriftDetector.CompareColumn(Numbers(1, 2), Numbers(double.NaN));
        var emptyReference = DriftDetector.CompareColumn(Labels(), Labels(("a", 1)));
        var mismatch = DriftDetector.CompareColumn(Numbers(1, 2), Labels(("a", 1)));

        Assert.Equal(ColumnDriftStatus.EmptyCurrent, emptyCurrent.Status);
        Assert.Equal(ColumnDriftStatus.EmptyReference, emptyReference.Status);
        Assert.Equal(ColumnDriftStatus.TypeMismatch, mismatch.Status);
        Assert.All(new[] { emptyCurrent, emptyReference, mismatch }, drift =>
        {
            Assert.Null(drift.Method);
            Assert.Null(drift.Statistic);
            Assert.Null(drift.Psi);
            Assert.False(drift.Drifted);
        });
    }

    // ---- Datasets ----

    [Fact]
    public void DatasetDriftsWhenTheShareOfDriftedColumnsReachesTheThreshold()
    {
        var reference = new[]
        {
            Bell(300, 30, name: "age"),
            Labels("city", ("paris", 50), ("rome", 50)),
            Labels("plan", ("free", 90), ("paid", 10)),
            Numbers("onlyInReference", 1, 2, 3),
            Numbers("emptyNow", 1, 2, 3),
        };
        var current = new[]
        {
            Bell(300, 31, shift: 0.5, name: "age"),
            Labels("city", ("paris", 48), ("rome", 52)),
            Labels("plan", ("free", 50), ("paid", 50)),
            Numbers("emptyNow"),
            Numbers("onlyInCurrent", 4, 5),
        };

        var drift = DriftDetector.CompareDataset(reference, current);

        Assert.Equal(["age", "city", "plan", "onlyInReference", "emptyNow", "onlyInCurrent"], drift.Columns.Select(column => column.Name));
        Assert.Equal(
            [ColumnDriftStatus.Compared, ColumnDriftStatus.Compared, ColumnDriftStatus.Compared, ColumnDriftStatus.MissingInCurrent,
                ColumnDriftStatus.EmptyCurrent, ColumnDriftStatus.MissingInReference],
            drift.Columns.Select(column => column.Status));
        Assert.Equal([true, false, true, false, false, false], drift.Columns.Select(column => column.Drifted));
        Assert.Equal(3, drift.ComparedColumns);
        Assert.Equal(2, drift.DriftedColumns);
        Assert.Equal(2.0 / 3, drift.DriftedShare);
        Assert.True(drift.Drifted);

        var stricter = DriftDetector.CompareDataset(reference, current, new DriftOptions { DriftShare = 0.7 });
        Assert.False(stricter.Drifted);
    }

    [Fact]
    public void DatasetWithNothingToCompareHasNotDrifted()
    {
        var drift = DriftDetector.CompareDataset([Numbers("a", 1)], [Numbers("b", 1)], new DriftOptions { DriftShare = 0 });

        Assert.Equal(0, drift.ComparedColumns);
        Assert.Equal(0.0, drift.DriftedShare);
        Assert.False(drift.Drifted);
    }

    [Fact]
    public void DatasetWithAColumnTwiceIsRefused()
    {
        var exception = Assert.Throws<ArgumentException>(() => DriftDetector.CompareDataset([Numbers("a", 1), Numbers("a", 2)], [Numbers("a", 1)]));

        Assert.Contains("'a'", exception.Message);
    }

    [Fact]
    public void DriftResultsSerialiseWithoutNaNOrInfinity()
    {
        // System.Text.Json refuses NaN and infinities by default, so serialising at all proves there are none.
        var reference = new[]
        {
            Labels("newLabel", ("a", 10)),
            Labels("oneLabel", ("a", 10)),
            Numbers("constant", 5, 5, 5),
            Numbers("empty", 1, 2),
            Numbers("huge", double.MaxValue, -double.MaxValue),
            Numbers("single", 1),
        };
        var current = new[]
        {
            Labels("newLabel", ("a", 10), ("b", 1)),
            Labels("oneLabel", ("a", 3)),
            Numbers("constant", 5, 5),
            Numbers("empty", double.NaN, double.PositiveInfinity),
            Numbers("huge", double.MaxValue, 0),
            Numbers("single", 2),
        };

        var json = JsonSerializer.Serialize(DriftDetector.CompareDataset(reference, current), new JsonSerializerOptions(JsonSerializerDefaults.Web));

        using var document = JsonDocument.Parse(json);
        var columns = document.RootElement.GetProperty("columns").EnumerateArray().ToDictionary(column => column.GetProperty("name").GetString()!);
        Assert.Equal("chisquare", columns["newLabel"].GetProperty("method").GetString());
        Assert.Equal(JsonValueKind.Null, columns["newLabel"].GetProperty("statistic").ValueKind);
        Assert.Equal(1.0, columns["oneLabel"].GetProperty("pValue").GetDouble());
        Assert.Equal("emptyCurrent", columns["empty"].GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, columns["huge"].GetProperty("psi").ValueKind);
        Assert.Equal("ks", columns["single"].GetProperty("method").GetString());
        Assert.Equal("numeric", columns["single"].GetProperty("type").GetString());
    }

    private static void AssertClose(double expected, double actual, double relative = 1e-9)
    {
        // Below 1e-300 both sides are underflowing towards zero; the digits there carry no meaning.
        var tolerance = Math.Max(Math.Abs(expected) * relative, 1e-300);
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"Expected {expected:R}, got {actual:R}.");
    }

    private static ColumnData Numbers(params double[] values) => ColumnData.Numeric("x", values);

    private static ColumnData Numbers(string name, params double[] values) => ColumnData.Numeric(name, values);

    private static ColumnData Labels(params (string Label, int Count)[] counts) => Labels("x", counts);

    private static ColumnData Labels(string name, params (string Label, int Count)[] counts) =>
        ColumnData.Categorical(name, ColumnType.Categorical, counts.SelectMany(count => Enumerable.Repeat(count.Label, count.Count)).ToArray());

    private static ColumnData Bell(int count, int seed, double shift = 0.0, string name = "x") =>
        ColumnData.Numeric(name, Samples.Bell(count, seed, shift));
}

/// <summary>The samples drift_expected.py builds, rebuilt double for double from the same integer arithmetic.</summary>
internal static class Samples
{
    public static double[] Uniform(int count, int seed)
    {
        var step = 7919L + 1009L * seed;
        var values = new double[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = (i * step + seed * 104729L) % 100003 / 100003.0;
        }

        return values;
    }

    /// <summary>Irwin–Hall: the sum of three uniforms, roughly normal around zero with deviation 0.5.</summary>
    public static double[] Bell(int count, int seed, double shift = 0.0)
    {
        var (a, b, c) = (Uniform(count, seed), Uniform(count, seed + 101), Uniform(count, seed + 202));
        var values = new double[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = a[i] + b[i] + c[i] - 1.5 + shift;
        }

        return values;
    }

    public static double[] Rounded(double[] values, double step) => values.Select(value => Math.Floor(value / step) * step).ToArray();

    public static (ColumnData First, ColumnData Second) ForKolmogorovSmirnov(string sample)
    {
        var (first, second) = sample switch
        {
            "SmallWithTies" => (new double[] { 1, 2, 2, 3, 3, 3, 4, 5 }, new double[] { 2, 3, 3, 4, 4, 5, 6, 6, 7, 8, 9 }),
            "EqualSizes" => (Bell(200, 1), Bell(200, 2, 0.3)),
            "UnequalSizesWithTies" => (Rounded(Bell(150, 3), 0.25), Rounded(Bell(400, 4, 0.1), 0.25)),
            "LargestExact" => (Bell(1000, 5), Bell(10000, 6, 0.05)),
            "AsymptoticSmallShift" => (Bell(500, 7), Bell(12000, 8, 0.04)),
            "AsymptoticLargeShift" => (Bell(500, 9), Bell(12000, 10, 0.35)),
            "AsymptoticFewReferenceValues" => (Bell(100, 11), Bell(20000, 12, 0.1)),
            "Identical" => (Bell(300, 13), Bell(300, 13)),
            _ => throw new ArgumentOutOfRangeException(nameof(sample), sample, null),
        };
        return (ColumnData.Numeric("x", first), ColumnData.Numeric("x", second));
    }
}
