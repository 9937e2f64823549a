"""Writes the inference benchmark's request bodies from a test.csv.

    one.json    {"records": [first row]}
    batch.json  {"records": [first ROWS rows]}, cycling through the test rows if there are fewer
    rows.csv    the same ROWS rows as CSV, header included

The label column is dropped everywhere. Numbers are JSON numbers, strings JSON strings, empty cells null.
Usage: /usr/bin/python3 make_bodies.py TEST_CSV LABEL OUT_DIR [ROWS=1000]
"""
import json
import math
import os
import sys

import pandas as pd


def native(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def main(test_csv, label, out, rows=1000):
    frame = pd.read_csv(test_csv).drop(columns=[label])
    if len(frame) == 0:
        sys.exit(f"{test_csv} has no rows")
    batch = frame.iloc[[i % len(frame) for i in range(rows)]].reset_index(drop=True)
    records = [{column: native(value) for column, value in row.items()} for row in batch.to_dict(orient="records")]

    os.makedirs(out, exist_ok=True)
    compact = {"separators": (",", ":"), "allow_nan": False}
    with open(os.path.join(out, "one.json"), "w") as f:
        json.dump({"records": records[:1]}, f, **compact)
    with open(os.path.join(out, "batch.json"), "w") as f:
        json.dump({"records": records}, f, **compact)
    batch.to_csv(os.path.join(out, "rows.csv"), index=False)
    print(f"wrote one.json, batch.json ({rows} records) and rows.csv ({rows} rows, {len(frame.columns)} columns) to {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 1000)
