"""Writes the benchmark's data sets, each as train.csv, test.csv (a seeded, stratified 80/20 split) and meta.json.

The data comes from Debian's python3-sklearn and python3-statsmodels, which ship it; nothing is downloaded.
Usage: python3 prepare.py OUT_DIR
"""
import json
import os
import sys

import pandas as pd
from sklearn import datasets
from sklearn.model_selection import train_test_split
import statsmodels.api as sm

SEED = 42


def sklearn_frame(loader, label, names=None):
    bunch = loader(as_frame=True)
    frame = bunch.frame.rename(columns={"target": label})
    if names is not None:
        frame[label] = [names[int(v)] for v in frame[label]]
    return frame


def fair():
    """Fair (1978), extramarital affairs: numeric and coded categorical columns; did the person have an affair?"""
    frame = sm.datasets.fair.load_pandas().data.copy()
    for column, prefix in [("occupation", "occ"), ("occupation_husb", "husb"), ("religious", "rel")]:
        frame[column] = [f"{prefix}{int(v)}" for v in frame[column]]
    frame["had_affair"] = ["yes" if v > 0 else "no" for v in frame.pop("affairs")]
    return frame


def anes96():
    """American National Election Studies 1996: party identification, education and views; Clinton or Dole?"""
    frame = sm.datasets.anes96.load_pandas().data.copy()
    frame["PID"] = [f"pid{int(v)}" for v in frame["PID"]]
    frame["educ"] = [f"educ{int(v)}" for v in frame["educ"]]
    frame["vote"] = ["dole" if v == 1 else "clinton" for v in frame["vote"]]
    return frame.drop(columns=["logpopul"], errors="ignore")


SETS = [
    # name, task, label, frame factory
    ("iris", "multiclass", "species", lambda: sklearn_frame(datasets.load_iris, "species", ["setosa", "versicolor", "virginica"])),
    ("wine", "multiclass", "cultivar", lambda: sklearn_frame(datasets.load_wine, "cultivar", ["class_0", "class_1", "class_2"])),
    ("breast-cancer", "binary", "diagnosis", lambda: sklearn_frame(datasets.load_breast_cancer, "diagnosis", ["malignant", "benign"])),
    ("diabetes", "regression", "progression", lambda: sklearn_frame(datasets.load_diabetes, "progression")),
    ("fair-affairs", "binary", "had_affair", fair),
    ("anes96-vote", "binary", "vote", anes96),
]


def main(out):
    for name, task, label, factory in SETS:
        frame = factory()
        # Header names must be plain identifiers in CSV; keep them readable.
        frame.columns = [str(c).strip().replace(" ", "_").replace("(", "").replace(")", "") for c in frame.columns]
        stratify = frame[label] if task != "regression" else None
        train, test = train_test_split(frame, test_size=0.2, random_state=SEED, stratify=stratify)
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        train.to_csv(os.path.join(folder, "train.csv"), index=False)
        test.to_csv(os.path.join(folder, "test.csv"), index=False)
        with open(os.path.join(folder, "meta.json"), "w") as meta:
            json.dump({"name": name, "task": task, "label": label, "rows": len(frame), "columns": len(frame.columns) - 1}, meta)
        print(f"{name}: {len(train)} train / {len(test)} test rows, {len(frame.columns) - 1} columns")


if __name__ == "__main__":
    main(sys.argv[1])
