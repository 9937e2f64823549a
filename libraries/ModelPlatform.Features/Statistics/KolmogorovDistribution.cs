namespace ModelPlatform.Features.Statistics;

/// <summary>
/// The two-sided one-sample Kolmogorov–Smirnov distribution: P(D_n ≥ x), scipy's <c>kstwo.sf(x, n)</c>.
/// It chooses its method by n and x as Simard and L'Ecuyer (2011) recommend, following scipy/stats/_ksstats.py:
/// Ruben–Gambino at the ends, Smirnov's one-sided sum in the upper tail, Durbin's matrix (Marsaglia, Tsang and Wang)
/// or the Pelz–Good series in between. For n ≤ 140 scipy uses Pomeranz's recursion where nx² lies in (0.754693, 4];
/// Durbin's matrix is exact there too and agrees with it to about 1e-11, so it stands in.
/// </summary>
public static class KolmogorovDistribution
{
    private const int ScaleExponent = 128;
    private static readonly double ScaleUp = Math.ScaleB(1.0, ScaleExponent);
    private static readonly double ScaleDown = Math.ScaleB(1.0, -ScaleExponent);

    // Bernoulli-number coefficients of Stirling's series, highest power first (scipy's _STIRLING_COEFFS).
    private static readonly double[] StirlingCoefficients =
    [
        -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4,
        -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2,
    ];

    /// <summary>P(D_n ≥ x) for a sample of n values.</summary>
    public static double Survival(int n, double x)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (x >= 1.0)
        {
            return 0.0;
        }

        if (x <= 0.0)
        {
            return 1.0;
        }

        var t = n * x;
        if (t <= 1.0)
        {
            return t <= 0.5 ? 1.0 : Clip(1.0 - RubenGambinoLowerCdf(n, t));
        }

        if (t >= n - 1)
        {
            return Clip(2 * Math.Pow(1.0 - x, n));
        }

        if (x >= 0.5)
        {
            return Clip(2 * Smirnov(n, x));
        }

        var nxSquared = t * x;
        if (n <= 140)
        {
            return nxSquared <= 4 ? Clip(1.0 - DurbinCdf(n, x)) : Clip(2 * Smirnov(n, x));
        }

        if (nxSquared >= 370.0)
        {
            return 0.0;
        }

        if (nxSquared >= 2.2)
        {
            return Clip(2 * Smirnov(n, x));
        }

        var cdf = n <= 100_000 && n * Math.Pow(x, 1.5) <= 1.4 ? DurbinCdf(n, x) : PelzGoodCdf(n, x);
        return Clip(1.0 - cdf);
    }

    /// <summary>
    /// P(D_n⁺ ≥ x), the one-sided statistic's tail, by Birnbaum and Tingey's sum (scipy.special.smirnov).
    /// Every term is positive, so the sum in logarithms loses nothing to cancellation.
    /// </summary>
    public static double Smirnov(int n, double x)
    {
        if (x <= 0.0)
        {
            return 1.0;
        }

        var lastTerm = (int)Math.Floor(n * (1.0 - x));
        var logBinomial = 0.0;
        var sum = 0.0;
        for (var v = 0; v <= lastTerm; v++)
        {
            var reached = x + (double)v / n;
            var remaining = 1.0 - reached;
            if (remaining > 0)
            {
                sum += Math.Exp(logBinomial + (v - 1) * Math.Log(reached) + (n - v) * Math.Log(remaining));
            }

            logBinomial += Math.Log((double)(n - v) / (v + 1));
        }

        return sum * x;
    }

    // P(D_n ≤ x) for 1/(2n) < x ≤ 1/n: n!/n^n (2nx − 1)^n.
    private static double RubenGambinoLowerCdf(int n, double t)
    {
        if (n > 140)
        {
            return Math.Exp(LogFactorialOverPower(n) + n * Math.Log(2 * t - 1));
        }

        var product = 1.0;
        for (var i = 1; i <= n; i++)
        {
            product *= i * (1.0 / n) * (2 * t - 1);
        }

        return product;
    }

    // log(n!/n^n) by Stirling's series with n·log(n) taken out first, which would otherwise cancel.
    private static double LogFactorialOverPower(int n)
    {
        var reciprocal = 1.0 / n;
        var series = 0.0;
        foreach (var coefficient in StirlingCoefficients)
        {
            series = series * (reciprocal / n) + coefficient;
        }

        return Math.Log(n) / 2 - n + Math.Log(2 * Math.PI) / 2 + reciprocal * series;
    }

    // Durbin's matrix: P(D_n ≤ d) is n!/n^n times the middle entry of H^n, with H of size 2k − 1 for d = (k − h)/n.
    // Powers are rescaled by 2^128 as they grow and the exponent is kept apart, as Marsaglia, Tsang and Wang do.
    private static double DurbinCdf(int n, double d)
    {
        var nd = n * d;
        var k = (int)Math.Ceiling(nd);
        var h = k - nd;
        var size = 2 * k - 1;

        var firstColumn = new double[size];
        var reciprocalFactorials = new double[size];
        var factorial = 1.0;
        for (var j = 1; j <= size; j++)
        {
            firstColumn[j - 1] = 1.0 - Math.Pow(h, j);
            reciprocalFactorials[j - 1] = factorial;
            factorial /= j;
            firstColumn[j - 1] *= factorial;
        }

        firstColumn[size - 1] = (1.0 + Math.Pow(Math.Max(2 * h - 1.0, 0), size) - 2 * Math.Pow(h, size)) * factorial;

        var matrix = new double[size * size];
        for (var column = 1; column < size; column++)
        {
            for (var row = column - 1; row < size; row++)
            {
                matrix[row * size + column] = reciprocalFactorials[row - column + 1];
            }
        }

        for (var row = 0; row < size; row++)
        {
            matrix[row * size] = firstColumn[row];
        }

        for (var column = 0; column < size; column++)
        {
            matrix[(size - 1) * size + column] = firstColumn[size - 1 - column];
        }

        var power = new double[size * size];
        for (var i = 0; i < size; i++)
        {
            power[i * size + i] = 1.0;
        }

        int exponent = 0, matrixExponent = 0;
        for (var remaining = n; remaining > 0; remaining /= 2)
        {
            if (remaining % 2 == 1)
            {
                power = Multiply(power, matrix, size);
                exponent += matrixExponent;
            }

            matrix = Multiply(matrix, matrix, size);
            matrixExponent *= 2;
            if (Math.Abs(matrix[(k - 1) * size + k - 1]) > ScaleUp)
            {
                for (var i = 0; i < matrix.Length; i++)
                {
                    matrix[i] /= ScaleUp;
                }

                matrixExponent += ScaleExponent;
            }
        }

        var p = power[(k - 1) * size + k - 1];
        for (var i = 1; i <= n; i++)
        {
            p = i * p / n;
            if (Math.Abs(p) < ScaleDown)
            {
                p *= ScaleUp;
                exponent -= ScaleExponent;
            }
        }

        return Clip(Math.ScaleB(p, exponent));
    }

    private static double[] Multiply(double[] left, double[] right, int size)
    {
        var product = new double[size * size];
        for (var row = 0; row < size; row++)
        {
            for (var inner = 0; inner < size; inner++)
            {
                var factor = left[row * size + inner];
                if (factor == 0)
                {
                    continue;
                }

                for (var column = 0; column < size; column++)
                {
                    product[row * size + column] += factor * right[inner * size + column];
                }
            }
        }

        return product;
    }

    // Pelz and Good's (1976) series for P(D_n ≤ x): Li-Chien and Korolyuk's expansion in 1/√n,
    // each term rewritten through Jacobi's theta functions so that it converges for small z = x√n.
    private static double PelzGoodCdf(int n, double x)
    {
        var z = Math.Sqrt(n) * x;
        var zSquared = Math.Pow(z, 2);
        var zThree = Math.Pow(z, 3);
        var zFour = Math.Pow(z, 4);
        var zSix = Math.Pow(z, 6);
        const double PiSquared = Math.PI * Math.PI;
        var piFour = Math.Pow(Math.PI, 4);
        var piSix = Math.Pow(Math.PI, 6);
        var sqrtTwoPi = Math.Sqrt(2 * Math.PI);

        var logQ = -PiSquared / 8 / zSquared;
        if (logQ < -708)
        {
            return 0.0;
        }

        var q = Math.Exp(logQ);
        var k1a = -zSquared;
        var k1b = PiSquared / 4;
        var k2a = 6 * zSix + 2 * zFour;
        var k2b = (2 * zFour - 5 * zSquared) * PiSquared / 4;
        var k2c = piFour * (1 - 2 * zSquared) / 16;
        var k3d = piSix * (5 - 30 * zSquared) / 64;
        var k3c = piFour * (-60 * zSquared + 212 * zFour) / 16;
        var k3b = PiSquared * (135 * zFour - 96 * zSix) / 4;
        var k3a = -30 * zSix - 90 * Math.Pow(z, 8);

        // Horner's scheme over the odd integers m = 2k − 1 of Σ c(m) q^(m²).
        double k0 = 0, k1 = 0, k2 = 0, k3 = 0;
        var maxK = (int)Math.Ceiling(16 * z / Math.PI);
        for (var k = maxK; k > 0; k--)
        {
            double m = 2 * k - 1;
            double mSquared = m * m, mFour = mSquared * mSquared, mSix = mFour * mSquared;
            var qPower = Math.Pow(q, 8 * k);
            k0 = k0 * qPower + 1.0;
            k1 = k1 * qPower + (k1a + k1b * mSquared);
            k2 = k2 * qPower + (k2a + k2b * mSquared + k2c * mFour);
            k3 = k3 * qPower + (k3a + k3b * mSquared + k3c * mFour + k3d * mSix);
        }

        var scale = q * sqrtTwoPi;
        k0 = k0 * scale / z;
        k1 = k1 * scale / (6 * zFour);
        k2 = k2 * scale / (72 * Math.Pow(z, 7));
        k3 = k3 * scale / (6480 * Math.Pow(z, 10));

        // The terms over all integers k that K2 and K3 also carry.
        var qAll = Math.Exp(-PiSquared / 2 / zSquared);
        var sqrtThreeZ = Math.Sqrt(3) * z;
        double k2Extra = 0, k3Extra = 0;
        for (var k = maxK; k > 0; k--)
        {
            double kSquared = (double)k * k;
            var qPower = Math.Pow(qAll, kSquared);
            var kPi = Math.PI * k;
            k2Extra += kSquared * qPower;
            k3Extra += (sqrtThreeZ + kPi) * (sqrtThreeZ - kPi) * kSquared * qPower;
        }

        k2 += k2Extra * (PiSquared * sqrtTwoPi / (-36 * zThree));
        k3 += k3Extra * (PiSquared * sqrtTwoPi / (216 * zSix));

        return k0 + k1 / Math.Sqrt(n) + k2 / n + k3 / Math.Pow(n, 1.5);
    }

    private static double Clip(double probability) => Math.Clamp(probability, 0.0, 1.0);
}
