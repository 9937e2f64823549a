"""Baseline (d) of the inference benchmark: the FastAPI + scikit-learn service a Python team would deploy.

At startup it trains the scikit-learn counterpart of ModelPlatform's ML.NET LightGBM binary classifier on the CSV
named by TRAIN_CSV: one-hot encoding for string columns, the rest passed through, then HistGradientBoostingClassifier.

Environment:
    TRAIN_CSV  training data (required), e.g. the fair-affairs train.csv written by bench/training-quality/prepare.py
    LABEL      label column (default had_affair)
    POSITIVE   positive class value (default yes)

Start (from the repository root):
    TRAIN_CSV=/tmp/data/fair-affairs/train.csv /usr/bin/python3 -m uvicorn fastapi_app:app --app-dir bench/inference \
        --host 127.0.0.1 --port 18000 --workers 2 --log-level warning --no-access-log

Install python3-uvloop (and python3-httptools), as `pip install uvicorn[standard]` would: with --workers > 1,
uvicorn 0.17.6 on the default asyncio loop leaves Nagle's algorithm on for accepted connections, and every keep-alive
response after the first then stalls ~40 ms on the client's delayed ACK (uvicorn issue #3149). uvloop sets TCP_NODELAY.

Endpoints:
    POST /models/{name}/predict   {"records": [{"column": value, ...}, ...]}
                                  -> {"model": name, "version": 1, "predictions": [{"label": ..., "probability": P(positive)}]}
    GET  /health                  -> {"status": "ok"}
"""
import os
from typing import Dict, List, Union

import numpy as np
import pandas as pd
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, conlist
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

TRAIN_CSV = os.environ["TRAIN_CSV"]
LABEL = os.environ.get("LABEL", "had_affair")
POSITIVE = os.environ.get("POSITIVE", "yes")

Value = Union[float, int, str, bool, None]


class PredictRequest(BaseModel):
    records: conlist(Dict[str, Value], min_items=1)

    class Config:
        # Pydantic 1.x would otherwise coerce every value to the first Union member that accepts it
        # (e.g. the string "3" to 3.0); smart_union keeps the JSON type as sent.
        smart_union = True


def train(path: str):
    data = pd.read_csv(path)
    x, y = data.drop(columns=[LABEL]), data[LABEL]
    categorical = [c for c in x.columns if pd.api.types.is_object_dtype(x[c]) or pd.api.types.is_string_dtype(x[c])]
    numeric = [c for c in x.columns if c not in categorical]
    model = Pipeline([
        ("preprocess", ColumnTransformer(
            [("cat", OneHotEncoder(handle_unknown="ignore"), categorical)],
            remainder="passthrough",
        )),
        ("classifier", HistGradientBoostingClassifier(random_state=42)),
    ])
    model.fit(x, y)
    return model, list(x.columns), numeric


model, COLUMNS, NUMERIC = train(TRAIN_CSV)
CLASSES = [c.item() if isinstance(c, np.generic) else c for c in model.classes_]
POSITIVE_INDEX = [str(c) for c in CLASSES].index(POSITIVE)
NUMERIC_TYPES = {c: "float64" for c in NUMERIC}

app = FastAPI(title="sklearn inference baseline")


@app.get("/health")
def health():
    return {"status": "ok"}


@app.post("/models/{name}/predict")
def predict(name: str, request: PredictRequest):
    for i, record in enumerate(request.records):
        missing = [c for c in COLUMNS if c not in record]
        if missing:
            raise HTTPException(status_code=400, detail=f"record {i}: missing column(s) {', '.join(missing)}")

    frame = pd.DataFrame(request.records, columns=COLUMNS)
    try:
        frame = frame.astype(NUMERIC_TYPES)
    except (TypeError, ValueError):
        bad = [c for c in NUMERIC if pd.to_numeric(frame[c], errors="coerce").isna().gt(frame[c].isna()).any()]
        raise HTTPException(status_code=400, detail=f"non-numeric value in numeric column(s) {', '.join(bad)}")

    probabilities = model.predict_proba(frame)
    best = probabilities.argmax(axis=1)
    return {
        "model": name,
        "version": 1,
        "predictions": [
            {"label": CLASSES[k], "probability": float(p)}
            for k, p in zip(best, probabilities[:, POSITIVE_INDEX])
        ],
    }
