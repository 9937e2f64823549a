"""Writes the Grunfeld (1950) investment data, as statsmodels ships it, into the CSV files of the README's feature-store walk.

Usage: /usr/bin/python3 samples/grunfeld/make.py   (needs python3-statsmodels; the files are committed, so only to remake them)
"""
from pathlib import Path

import statsmodels.api as sm

here = Path(__file__).parent
data = sm.datasets.grunfeld.load_pandas().data
data["year"] = data["year"].astype(int)
data["firm"] = data["firm"].str.replace(" ", "-")

# The firm's market value and capital stock, as known at the start of each year (Grunfeld's figures are year-end ones of
# the year before): the feature view's rows, in two appends.
financials = data.assign(event_time=data["year"].map(lambda year: f"{year}-01-01T00:00:00Z"))[["firm", "event_time", "value", "capital"]]
early = data["year"] < 1945
financials[early].to_csv(here / "financials-1935-1944.csv", index=False)
financials[~early].to_csv(here / "financials-1945-1954.csv", index=False)

# The entity rows: each firm's gross investment over the year, known at its end; the label to learn.
investments = data.assign(event_time=data["year"].map(lambda year: f"{year}-12-31T00:00:00Z"))[["firm", "event_time", "invest"]]
investments.to_csv(here / "investments.csv", index=False)
