namespace ModelPlatform.Features.Statistics;

/// <summary>The statistic D (the largest gap between the two empirical CDFs), its two-sided p-value, and whether it is exact.</summary>
public readonly record struct KolmogorovSmirnovResult(double Statistic, double PValue, bool Exact);

/// <summary>
/// The two-sample Kolmogorov–Smirnov test as scipy's <c>ks_2samp(a, b)</c> runs it by default (two-sided, method 'auto'):
/// the exact distribution when neither sample has more than 10,000 values, Smirnov's large-sample one otherwise.
/// Ties are handled as scipy does: both empirical CDFs are compared after every distinct value.
/// </summary>
public static class KolmogorovSmirnov
{
    /// <summary>scipy's MAX_AUTO_N: 'auto' tries the exact distribution while both samples are at most this big.</summary>
    public const int MaxExactSampleSize = 10_000;

    public static KolmogorovSmirnovResult TwoSample(ColumnData first, ColumnData second)
    {
        ColumnArguments.RequireNumbers(first, nameof(first), "a Kolmogorov–Smirnov test");
        ColumnArguments.RequireNumbers(second, nameof(second), "a Kolmogorov–Smirnov test");
        var a = first.SortedValues;
        var b = second.SortedValues;
        var statistic = Statistic(a, b);

        if (Math.Max(a.Length, b.Length) <= MaxExactSampleSize)
        {
            // The exact distribution lives on the lattice of multiples of 1/lcm(n1, n2); scipy reports D rounded onto it.
            var divisor = GreatestCommonDivisor(a.Length, b.Length);
            var lcm = (long)(a.Length / divisor) * b.Length;
            var h = (long)Math.Round(statistic * lcm);
            statistic = (double)h / lcm;
            if (h == 0)
            {
                return new KolmogorovSmirnovResult(statistic, 1.0, Exact: true);
            }

            var exact = a.Length == b.Length
                ? ProbabilityOutsideSquare(a.Length, h)
                : ProbabilityOutsideBand(a.Length, b.Length, divisor, h);

            // scipy falls back on the large-sample distribution when the exact sum goes wrong numerically; so do we.
            if (exact is >= 0 and <= 1)
            {
                return new KolmogorovSmirnovResult(statistic, exact, Exact: true);
            }
        }

        double larger = Math.Max(a.Length, b.Length), smaller = Math.Min(a.Length, b.Length);
        var effectiveSize = (int)Math.Round(larger * smaller / (larger + smaller));
        return new KolmogorovSmirnovResult(statistic, KolmogorovDistribution.Survival(effectiveSize, statistic), Exact: false);
    }

    /// <summary>max |F1(x) − F2(x)| over the values of both samples, with each CDF counting the values ≤ x.</summary>
    public static double Statistic(ReadOnlySpan<double> sortedFirst, ReadOnlySpan<double> sortedSecond)
    {
        int n1 = sortedFirst.Length, n2 = sortedSecond.Length;
        int i = 0, j = 0;
        double largest = 0, smallest = 0;

        // Past the end of either sample the gap only closes, so the walk can stop there.
        while (i < n1 && j < n2)
        {
            var x = Math.Min(sortedFirst[i], sortedSecond[j]);
            while (i < n1 && sortedFirst[i] <= x)
            {
                i++;
            }

            while (j < n2 && sortedSecond[j] <= x)
            {
                j++;
            }

            var difference = (double)i / n1 - (double)j / n2;
            largest = Math.Max(largest, difference);
            smallest = Math.Min(smallest, difference);
        }

        return -smallest > largest ? -smallest : largest;
    }

    // Equal sizes: P(D ≥ h/n) by the reflection principle, 2 Σ (−1)^(k+1) C(2n, n − kh) / C(2n, n),
    // nested as A0 (1 − A1 (1 − A2 (…))) so the alternating sum does not cancel (scipy's _compute_prob_outside_square).
    private static double ProbabilityOutsideSquare(int n, long h)
    {
        var probability = 0.0;
        for (var k = n / h; k >= 0; k--)
        {
            var term = 1.0;
            for (long j = 0; j < h; j++)
            {
                term = (n - k * h - j) * term / (n + k * h + j + 1);
            }

            probability = term * (1.0 - probability);
        }

        return 2 * probability;
    }

    // Unequal sizes: the share of lattice paths from (0, 0) to (m, n) that leave the band |x/m − y/n| < h/lcm,
    // computed column by column as a probability rather than a count (Hodges 1958; Viehmann 2021, arXiv:2102.08037),
    // exactly as scipy's _compute_outer_prob_inside_method does.
    private static double ProbabilityOutsideBand(int first, int second, int divisor, long h)
    {
        int m = Math.Max(first, second), n = Math.Min(first, second);
        long mg = m / divisor, ng = n / divisor;

        var minJ = 0;
        var maxJ = (int)Math.Min(Math.Ceiling((double)h / mg), n + 1);
        var currentLength = maxJ - minJ;
        var a = new double[Math.Min(2 * maxJ + 2, n + 1)];
        Array.Fill(a, 1.0);
        Array.Fill(a, 0.0, minJ, maxJ - minJ);

        for (var i = 1; i <= m; i++)
        {
            int lastMinJ = minJ, lastLength = currentLength;
            minJ = (int)Math.Max(Math.Floor((double)(ng * i - h) / mg) + 1, 0);
            minJ = Math.Min(minJ, n);
            maxJ = (int)Math.Min(Math.Ceiling((double)(ng * i + h) / mg), n + 1);
            if (maxJ <= minJ)
            {
                return 1.0;
            }

            var value = minJ == 0 ? 0.0 : 1.0;
            for (var jj = 0; jj < maxJ - minJ; jj++)
            {
                var j = jj + minJ;
                value = (a[jj + minJ - lastMinJ] * i + value * j) / (i + j);
                a[jj] = value;
            }

            currentLength = maxJ - minJ;
            if (lastLength > currentLength)
            {
                var start = maxJ - minJ;
                Array.Fill(a, 1.0, start, Math.Min(lastLength - currentLength, a.Length - start));
            }
        }

        return a[maxJ - minJ - 1];
    }

    private static int GreatestCommonDivisor(int a, int b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }
}
