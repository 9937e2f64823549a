"""scikit-learn's defaults on each data set: 5-fold cross-validation on train.csv, then fit on it and score test.csv.

Models: LogisticRegression (Ridge for regression), RandomForest and HistGradientBoosting, each behind the usual
preprocessing (mean imputation and, for the linear model, standard scaling for numbers; one-hot for categories;
TF-IDF of words for the free-text columns that meta.json lists under "text"). HistGradientBoosting takes only dense
input, so for it the one-hot and TF-IDF columns are densified, and TF-IDF keeps only the 500 most frequent words
(TfidfVectorizer(max_features=500)); the other two models get the full, sparse TF-IDF vocabulary.
Scores are what ModelPlatform reports: AUC (binary), balanced accuracy = ML.NET's macro accuracy (multiclass), R².
Usage: python3 sklearn_baseline.py DATA_DIR OUT_JSON
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

SCORING = {"binary": "roc_auc", "multiclass": "balanced_accuracy", "regression": "r2"}
METRIC = {"binary": "auc", "multiclass": "macroAccuracy", "regression": "r2"}


def preprocessor(frame, text, scale, dense=False):
    numeric = [c for c in frame.columns if c not in text and pd.api.types.is_numeric_dtype(frame[c])]
    categorical = [c for c in frame.columns if c not in text and c not in numeric]
    numeric_steps = [SimpleImputer(strategy="mean")] + ([StandardScaler()] if scale else [])
    words = [(f"text_{c}", TfidfVectorizer(max_features=500 if dense else None), c) for c in text]
    # sparse_threshold=0 makes the output dense (one-hot and TF-IDF included), as HistGradientBoosting needs.
    return ColumnTransformer([
        ("numeric", make_pipeline(*numeric_steps), numeric),
        ("categorical", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), categorical),
    ] + words, sparse_threshold=0 if dense else 0.3)


def models(task, frame, text):
    if task == "regression":
        return {
            "Ridge": make_pipeline(preprocessor(frame, text, True), Ridge()),
            "RandomForest": make_pipeline(preprocessor(frame, text, False), RandomForestRegressor(random_state=0)),
            "HistGradientBoosting": make_pipeline(preprocessor(frame, text, False, dense=True), HistGradientBoostingRegressor(random_state=0)),
        }
    return {
        # max_iter is raised from 100 only so that lbfgs converges on unscaled-looking data; everything else is default.
        "LogisticRegression": make_pipeline(preprocessor(frame, text, True), LogisticRegression(max_iter=1000)),
        "RandomForest": make_pipeline(preprocessor(frame, text, False), RandomForestClassifier(random_state=0)),
        "HistGradientBoosting": make_pipeline(preprocessor(frame, text, False, dense=True), HistGradientBoostingClassifier(random_state=0)),
    }


def main(data, out):
    results = []
    for name in sorted(os.listdir(data)):
        meta = json.load(open(os.path.join(data, name, "meta.json")))
        train = pd.read_csv(os.path.join(data, name, "train.csv"))
        test = pd.read_csv(os.path.join(data, name, "test.csv"))
        task, label, text = meta["task"], meta["label"], meta.get("text", [])
        for column in text:
            train[column], test[column] = train[column].fillna(""), test[column].fillna("")
        x_train, y_train = train.drop(columns=[label]), train[label]
        x_test, y_test = test.drop(columns=[label]), test[label]
        folds = (KFold if task == "regression" else StratifiedKFold)(n_splits=5, shuffle=True, random_state=42)
        for model_name, model in models(task, x_train, text).items():
            started = time.perf_counter()
            cv = cross_val_score(model, x_train, y_train, cv=folds, scoring=SCORING[task])
            model.fit(x_train, y_train)
            test_score = get_scorer(SCORING[task])(model, x_test, y_test)
            results.append({
                "dataset": name, "task": task, "metric": METRIC[task], "model": model_name,
                "cvMean": float(np.mean(cv)), "cvStd": float(np.std(cv)), "test": float(test_score),
                "seconds": time.perf_counter() - started,
            })
            print(f"{name:16} {model_name:22} cv {np.mean(cv):.4f} ± {np.std(cv):.4f}  test {test_score:.4f}")
    json.dump(results, open(out, "w"), indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
