"""Prints the comparison table (Markdown) from the two result files.

The bar is set by the best scikit-learn default by cross-validation (★). ModelPlatform's auto run is within its spread
when its score is at least that model's score minus that model's cross-validation standard deviation; this is checked
for the cross-validation mean and, separately, for the hold-out score.
Usage: python3 compare.py SKLEARN_JSON MODELPLATFORM_JSON
"""
import json
import sys

sklearn = json.load(open(sys.argv[1]))
ours = {r["dataset"]: r for r in json.load(open(sys.argv[2]))}


def verdict(ok):
    return "yes" if ok else "**no**"


print("| data set | task (metric) | model | CV mean ± std | hold-out | CV within the spread | hold-out within the spread |")
print("|---|---|---|---|---|---|---|")
for dataset in sorted({r["dataset"] for r in sklearn}):
    rows = sorted((r for r in sklearn if r["dataset"] == dataset), key=lambda r: r["model"])
    best = max(rows, key=lambda r: r["cvMean"])
    mine = ours[dataset]
    task = "{} ({})".format(best["task"], best["metric"])
    for i, r in enumerate(rows):
        star = " ★" if r is best else ""
        print("| {} | {} | scikit-learn {}{} | {:.4f} ± {:.4f} | {:.4f} | | |".format(
            dataset if i == 0 else "", task if i == 0 else "", r["model"], star, r["cvMean"], r["cvStd"], r["test"]))
    cv_ok = mine["cvMean"] >= best["cvMean"] - best["cvStd"]
    test_ok = mine["test"] >= best["test"] - best["cvStd"]
    print("| | | **ModelPlatform {}** ({} trials) | **{:.4f} ± {:.4f}** | **{:.4f}** | {} | {} |".format(
        mine["model"], mine["trials"], mine["cvMean"], mine["cvStd"], mine["test"], verdict(cv_ok), verdict(test_ok)))
