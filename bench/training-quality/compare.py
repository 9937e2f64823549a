"""Prints the comparison table (Markdown) from the two result files.

ModelPlatform's auto run "keeps up" on a data set when its hold-out score is at least the best scikit-learn default's
hold-out score minus that model's cross-validation standard deviation, and likewise for the cross-validation means.
Usage: python3 compare.py SKLEARN_JSON MODELPLATFORM_JSON
"""
import json
import sys

sklearn = json.load(open(sys.argv[1]))
ours = {r["dataset"]: r for r in json.load(open(sys.argv[2]))}

print("| data set | task (metric) | scikit-learn default | CV mean ± std | hold-out | ModelPlatform auto (60 s) | CV mean ± std | hold-out | within the spread |")
print("|---|---|---|---|---|---|---|---|---|")
for dataset in sorted({r["dataset"] for r in sklearn}):
    rows = [r for r in sklearn if r["dataset"] == dataset]
    best = max(rows, key=lambda r: r["cvMean"])
    mine = ours[dataset]
    within = mine["cvMean"] >= best["cvMean"] - best["cvStd"] and mine["test"] >= best["test"] - best["cvStd"]
    for i, r in enumerate(sorted(rows, key=lambda r: r["model"])):
        first = i == 0
        print(f"| {dataset if first else ''} | {r['task'] + ' (' + r['metric'] + ')' if first else ''} | {r['model']}{' ★' if r is best else ''} "
              f"| {r['cvMean']:.4f} ± {r['cvStd']:.4f} | {r['test']:.4f} "
              f"| {mine['model'] + ', ' + str(mine['trials']) + ' trials' if first else ''} "
              f"| {f'{mine['cvMean']:.4f} ± {mine['cvStd']:.4f}' if first else ''} | {f'{mine['test']:.4f}' if first else ''} "
              f"| {('yes' if within else '**no**') if first else ''} |")
