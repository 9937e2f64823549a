"""Prints the comparison table (Markdown) from the two result files, then a one-line summary.

The bar is set by the best scikit-learn default by cross-validation (★). Its noise is the standard error of its
cross-validation mean, se = cvStd / sqrt(5). For ModelPlatform's auto run, cvDiff = its CV mean - ★'s CV mean and
testDiff = its hold-out score - ★'s hold-out score (all metrics are higher-is-better). The verdict per data set:
- "above" when cvDiff > se and testDiff >= 0: better in cross-validation beyond noise, and not worse on the hold-out;
- "level" otherwise when cvDiff >= -se and testDiff >= -max(se, 0.01): at or above ★ within noise;
- "below" in every other case (or when ModelPlatform has no result for the set).
Usage: python3 compare.py SKLEARN_JSON MODELPLATFORM_JSON
"""
import json
import math
import sys

FOLDS = 5

sklearn = json.load(open(sys.argv[1]))
ours = {r["dataset"]: r for r in json.load(open(sys.argv[2]))}


def verdict(mine, best):
    se = best["cvStd"] / math.sqrt(FOLDS)
    cv_diff, test_diff = mine["cvMean"] - best["cvMean"], mine["test"] - best["test"]
    if cv_diff > se and test_diff >= 0:
        return "above"
    if cv_diff >= -se and test_diff >= -max(se, 0.01):
        return "level"
    return "**below**"


def differences(r, best):
    return "{:+.4f}, {:+.4f}".format(r["cvMean"] - best["cvMean"], r["test"] - best["test"])


def wall_time(mine):
    seconds = mine.get("searchSeconds", mine.get("seconds"))
    budget = mine.get("budgetSeconds")
    text = "{:.0f} s".format(seconds) if seconds is not None else "?"
    return text + (" / {:g} s".format(budget) if budget is not None else "")


print("| data set | task (metric) | model | CV mean ± std | hold-out | vs ★ (CV, hold-out) | search wall time / budget | verdict |")
print("|---|---|---|---|---|---|---|---|")
verdicts = []
for dataset in sorted({r["dataset"] for r in sklearn}):
    rows = sorted((r for r in sklearn if r["dataset"] == dataset), key=lambda r: r["model"])
    best = max(rows, key=lambda r: r["cvMean"])
    task = "{} ({})".format(best["task"], best["metric"])
    for i, r in enumerate(rows):
        star = " ★" if r is best else ""
        print("| {} | {} | scikit-learn {}{} | {:.4f} ± {:.4f} | {:.4f} | {} | | |".format(
            dataset if i == 0 else "", task if i == 0 else "", r["model"], star, r["cvMean"], r["cvStd"], r["test"],
            "" if r is best else differences(r, best)))
    mine = ours.get(dataset)
    if mine is None:
        verdicts.append("**below**")
        print("| | | **ModelPlatform**: no result | | | | | **below** |")
        continue
    trials = " ({} trials)".format(mine["trials"]) if "trials" in mine else ""
    if mine["cvMean"] is None:
        # No candidate was scored on every fold within the budget: there is no cross-validated score to compare.
        verdicts.append("**below**")
        print("| | | **ModelPlatform {}**{} | no trial finished | **{:.4f}** | hold-out {:+.4f} | {} | **below** |".format(
            mine["model"], trials, mine["test"], mine["test"] - best["test"], wall_time(mine)))
        continue
    verdicts.append(verdict(mine, best))
    print("| | | **ModelPlatform {}**{} | **{:.4f} ± {:.4f}** | **{:.4f}** | {} | {} | {} |".format(
        mine["model"], trials, mine["cvMean"], mine["cvStd"], mine["test"], differences(mine, best), wall_time(mine),
        verdicts[-1]))

print()
print("**ModelPlatform: at or above scikit-learn's best default on {} of {} sets, clearly above on {}.**".format(
    sum(v != "**below**" for v in verdicts), len(verdicts), verdicts.count("above")))
