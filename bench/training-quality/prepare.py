"""Writes the benchmark's data sets, each as train.csv, test.csv (a seeded, stratified 80/20 split) and meta.json.

The data comes from Debian packages that ship it (python3-sklearn, python3-statsmodels and, read through Rscript,
r-cran-janeaustenr, r-cran-modeldata and r-cran-dslabs); nothing is downloaded. meta.json lists the free-text
columns under "text"; every other non-numeric column is a category.
Usage: python3 prepare.py OUT_DIR [SET ...]   (every set unless some are named; only those read through R need Rscript)
"""
import io
import json
import os
import re
import subprocess
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


def r_frame(code):
    """The data frame that R code leaves in x, read through a CSV (needs Rscript and the package with the data)."""
    script = code + "\nwrite.csv(x, stdout(), row.names = FALSE, fileEncoding = 'UTF-8')"
    result = subprocess.run(["Rscript", "--vanilla", "-e", script], capture_output=True, text=True, encoding="utf-8",
                            env={**os.environ, "LANG": "C.UTF-8"})
    if result.returncode != 0:
        sys.exit(f"Rscript failed: {result.stderr.strip()}")
    return pd.read_csv(io.StringIO(result.stdout))


def one_line(text):
    """Text on one line with single spaces, so each CSV row is one line."""
    return " ".join(str(text).replace("<br />", " ").split())


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


def digits():
    """Handwritten digits, 8x8 pixels of 0-16 (64 numeric columns), 1,797 images; which digit, d0 to d9?

    scikit-learn's load_digits (python3-sklearn): the test set of the UCI Optical Recognition of Handwritten Digits
    data (Alpaydin & Kaynak, 1998).
    """
    bunch = datasets.load_digits()
    frame = pd.DataFrame(bunch.data.astype(int), columns=[f"pixel_{i // 8}_{i % 8}" for i in range(64)])
    frame["digit"] = [f"d{int(v)}" for v in bunch.target]
    return frame


def austen():
    """Passages of Jane Austen's novels (one free-text column, about 60 words); which of four novels is it from?

    r-cran-janeaustenr (Silge, 2017; the Project Gutenberg texts): the lines of each novel from its first chapter on,
    without blank lines and chapter or volume headings, joined five at a time into passages; 1,000 passages are drawn
    (seeded) from each of Sense and Sensibility, Pride and Prejudice, Emma and Persuasion.
    """
    lines = r_frame("x <- janeaustenr::austen_books()")
    books = {"Sense & Sensibility": "sense_and_sensibility", "Pride & Prejudice": "pride_and_prejudice",
             "Emma": "emma", "Persuasion": "persuasion"}
    heading = re.compile(r"^(chapter|volume)\b|^(finis|the end)$", re.IGNORECASE)
    parts = []
    for book, name in books.items():
        text = [str(line).strip() for line in lines.loc[lines["book"] == book, "text"].fillna("")]
        start = next(i for i, line in enumerate(text) if line.lower().startswith("chapter"))
        text = [line for line in text[start:] if line and not heading.match(line)]
        passages = [one_line(" ".join(text[i:i + 5])) for i in range(0, len(text) - 4, 5)]
        parts.append(pd.DataFrame({"text": passages, "novel": name}).sample(n=1000, random_state=SEED))
    return pd.concat(parts, ignore_index=True)


def food_reviews():
    """Amazon fine food reviews (one free-text column); is the rating great (5 stars) or not?

    r-cran-modeldata's small_fine_foods, 5,000 reviews of as many products (its training and testing parts together)
    sampled from the Stanford SNAP Amazon Fine Foods data (McAuley & Leskovec, 2013). The product code, different on
    every row, is dropped; "<br />" tags become spaces; a review text that appears again (28 do) is kept once.
    """
    frame = r_frame("data('small_fine_foods', package = 'modeldata'); x <- rbind(training_data, testing_data)")
    frame = pd.DataFrame({"review": [one_line(v) for v in frame["review"]], "score": frame["score"]})
    return frame.drop_duplicates(subset="review").reset_index(drop=True)


def movielens():
    """MovieLens ratings: user, movie, genre combination (hundreds to thousands of categories each) and release year;
    did the user rate the movie 4 stars or more?

    r-cran-dslabs' movielens, the 100,004 ratings of MovieLens' ml-latest-small (Harper & Konstan, 2015; GroupLens),
    of which 5,000 are drawn (seeded). Users and movies are codes (u15, m1029) so that they read as categories.
    """
    frame = r_frame("data('movielens', package = 'dslabs'); x <- movielens[c('userId', 'movieId', 'genres', 'year', 'rating')]")
    frame = frame.sample(n=5000, random_state=SEED).reset_index(drop=True)
    return pd.DataFrame({
        "user": [f"u{v}" for v in frame["userId"]], "movie": [f"m{v}" for v in frame["movieId"]],
        "genres": frame["genres"], "year": frame["year"].astype("Int64"),
        "liked": ["yes" if v >= 4 else "no" for v in frame["rating"]],
    })


def ames():
    """Ames, Iowa house sales 2006-2010: 73 numeric and categorical columns, 2,930 houses; the sale price?

    r-cran-modeldata's ames (De Cock, 2011, Journal of Statistics Education), as processed by AmesHousing::make_ames:
    no missing values, categories spelled as single words.
    """
    return r_frame("data('ames', package = 'modeldata'); x <- as.data.frame(ames)")


SETS = [
    # name, task, label, frame factory, free-text columns
    ("iris", "multiclass", "species", lambda: sklearn_frame(datasets.load_iris, "species", ["setosa", "versicolor", "virginica"]), []),
    ("wine", "multiclass", "cultivar", lambda: sklearn_frame(datasets.load_wine, "cultivar", ["class_0", "class_1", "class_2"]), []),
    ("breast-cancer", "binary", "diagnosis", lambda: sklearn_frame(datasets.load_breast_cancer, "diagnosis", ["malignant", "benign"]), []),
    ("diabetes", "regression", "progression", lambda: sklearn_frame(datasets.load_diabetes, "progression"), []),
    ("fair-affairs", "binary", "had_affair", fair, []),
    ("anes96-vote", "binary", "vote", anes96, []),
    ("digits", "multiclass", "digit", digits, []),
    ("austen-novels", "multiclass", "novel", austen, ["text"]),
    ("food-reviews", "binary", "score", food_reviews, ["review"]),
    ("movielens-liked", "binary", "liked", movielens, []),
    ("ames-houses", "regression", "Sale_Price", ames, []),
]


def main(out, only):
    unknown = set(only) - {name for name, *_ in SETS}
    if unknown:
        sys.exit(f"No such data set: {', '.join(sorted(unknown))}")
    for name, task, label, factory, text in SETS:
        if only and name not in only:
            continue
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
            json.dump({"name": name, "task": task, "label": label, "rows": len(frame), "columns": len(frame.columns) - 1,
                       "text": text}, meta)
        print(f"{name}: {len(train)} train / {len(test)} test rows, {len(frame.columns) - 1} columns")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
