#!/usr/bin/python3
# Prints the expected values hard-coded in StatisticsTests.cs and DriftTests.cs.
# Not run by CI. Needs Debian's python3-numpy and python3-scipy (apt-get install -y python3-numpy python3-scipy);
# the values in the tests came from numpy 1.24.2 and scipy 1.10.1.
#
# The samples are built from integer arithmetic and one division, so the C# tests rebuild exactly the same doubles
# (see Samples in DriftTests.cs). The drift formulas below are Evidently's, as the issue specifies them.
import math

import numpy as np
from scipy import spatial, stats
from scipy.special import smirnov


def uniform(count, seed):
    # A different step through the residues modulo the prime 100003 for each seed.
    step = 7919 + 1009 * seed
    return [((i * step + seed * 104729) % 100003) / 100003.0 for i in range(count)]


def bell(count, seed, shift=0.0):
    # Irwin-Hall: the sum of three uniforms, roughly normal around zero.
    a, b, c = uniform(count, seed), uniform(count, seed + 101), uniform(count, seed + 202)
    return [a[i] + b[i] + c[i] - 1.5 + shift for i in range(count)]


def rounded(values, step):
    return [math.floor(v / step) * step for v in values]


def show(name, value):
    print(f"{name} = {float(value)!r}")


def ks(name, a, b):
    result = stats.ks_2samp(a, b)
    show(f"{name}.statistic", result.statistic)
    show(f"{name}.pvalue", result.pvalue)


def chisquare(name, reference, current):
    # Evidently's _chi_stat_test over label -> count dictionaries.
    keys = list(reference) + [k for k in current if k not in reference]
    n_ref, n_cur = sum(reference.values()), sum(current.values())
    k_norm = n_cur / n_ref
    f_exp = [reference.get(k, 0) * k_norm for k in keys]
    f_obs = [current.get(k, 0) for k in keys]
    with np.errstate(divide="ignore"):
        result = stats.chisquare(f_obs, f_exp)
    show(f"{name}.statistic", result.statistic)
    show(f"{name}.pvalue", result.pvalue)


def proportions(reference, current):
    keys = list(reference) + [k for k in current if k not in reference]
    n_ref, n_cur = sum(reference.values()), sum(current.values())
    return (np.array([reference.get(k, 0) / n_ref for k in keys]),
            np.array([current.get(k, 0) / n_cur for k in keys]))


def psi(ref_percents, cur_percents):
    # The PSI: zero proportions become 0.0001.
    np.place(ref_percents, ref_percents == 0, 0.0001)
    np.place(cur_percents, cur_percents == 0, 0.0001)
    return np.sum((ref_percents - cur_percents) * np.log(ref_percents / cur_percents))


def numeric_psi(reference, current):
    bins = np.histogram_bin_edges(np.concatenate([reference, current]), bins=30)
    return psi(np.histogram(reference, bins)[0] / len(reference), np.histogram(current, bins)[0] / len(current))


def normalised_wasserstein(reference, current):
    return stats.wasserstein_distance(reference, current) / max(np.std(reference), 0.001)


print("# Kolmogorov-Smirnov, two samples")
ks("HandPicked", [1, 2, 3], [4, 5, 6])
ks("SmallWithTies", [1, 2, 2, 3, 3, 3, 4, 5], [2, 3, 3, 4, 4, 5, 6, 6, 7, 8, 9])
ks("EqualSizes", bell(200, 1), bell(200, 2, 0.3))
ks("UnequalSizesWithTies", rounded(bell(150, 3), 0.25), rounded(bell(400, 4, 0.1), 0.25))
ks("LargestExact", bell(1000, 5), bell(10000, 6, 0.05))
ks("AsymptoticSmallShift", bell(500, 7), bell(12000, 8, 0.04))
ks("AsymptoticLargeShift", bell(500, 9), bell(12000, 10, 0.35))
ks("AsymptoticFewReferenceValues", bell(100, 11), bell(20000, 12, 0.1))
ks("Identical", bell(300, 13), bell(300, 13))

print("# kstwo.sf(x, n) and smirnov(n, x)")
for n in [1, 2, 5, 20, 100, 140, 141, 480, 1000, 3000]:
    for x in [0.004, 0.01, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6, 0.9]:
        print(f"[InlineData({n}, {x}, {float(stats.kstwo.sf(x, n))!r}, {float(smirnov(n, x))!r})]")

print("# chi-square (Evidently's _chi_stat_test)")
chisquare("Even", {"a": 50, "b": 50}, {"a": 30, "b": 70})
chisquare("LabelMissingFromCurrent", {"a": 10, "b": 20, "c": 30}, {"a": 15, "b": 25})
chisquare("DifferentSizes", {"red": 120, "green": 60, "blue": 20}, {"red": 40, "green": 45, "blue": 15})
chisquare("LabelMissingFromReference", {"a": 10, "b": 20}, {"a": 10, "b": 20, "c": 1})

print("# Jensen-Shannon distance (natural log)")
show("JensenShannon.Shifted", spatial.distance.jensenshannon(*proportions({"a": 60, "b": 30, "c": 10}, {"a": 20, "b": 30, "c": 40, "d": 10})))
show("JensenShannon.Disjoint", spatial.distance.jensenshannon(*proportions({"a": 5}, {"b": 7})))

print("# Wasserstein")
show("Wasserstein.Small", stats.wasserstein_distance([0.0, 1.0, 3.0], [5.0, 6.0, 8.0]))
show("Wasserstein.Uneven", stats.wasserstein_distance([1.0, 2.0, 2.0, 7.0], [0.5, 2.0, 9.0]))
show("Wasserstein.Normalised", normalised_wasserstein(bell(1500, 14), bell(2000, 15, 0.2)))
show("Wasserstein.ConstantReference", normalised_wasserstein([5.0] * 1001, [5.0, 5.002]))

print("# PSI")
show("Psi.Numeric", numeric_psi(bell(800, 16), bell(900, 17, 0.2)))
show("Psi.Categorical", psi(*proportions({"a": 40, "b": 35, "c": 25}, {"a": 20, "b": 30, "c": 40, "d": 10})))
show("Psi.ConstantColumns", numeric_psi([2.0] * 10, [2.0] * 5))

print("# Column statistics (numpy: mean, std ddof=1 as pandas, linear quantiles, 20-bin histogram)")
values = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], dtype=float)
show("Numbers.Mean", values.mean())
show("Numbers.Std", values.std(ddof=1))
print("Numbers.Quantiles =", [float(q) for q in np.quantile(values, [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99])])
counts, edges = np.histogram(values, bins=20)
print("Numbers.Histogram.Counts =", list(counts))
print("Numbers.Histogram.Edges =", [float(e) for e in edges])
bells = np.array(bell(5000, 18))
show("Bell.Mean", bells.mean())
show("Bell.Std", bells.std(ddof=1))
print("Bell.Quantiles =", [float(q) for q in np.quantile(bells, [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99])])
print("Bell.Histogram.Counts =", list(np.histogram(bells, bins=20)[0]))
