"""Codes as features: do skae's codes, searched, beat PCA's for a linear model?

Question
--------
Issue 28's benchmark of codes as features, on ten real mixed-type tables
that ship inside PyPI wheels (``benchmarks/_tables.py``: ISLP,
palmerpenguins, lifelines, statsmodels; nothing is downloaded) and, on
request, on the data sets scikit-learn bundles (digits, breast_cancer, wine,
diabetes). Each data set is a ``Pipeline(preprocessing, <reducer>, <model>)``:

- preprocessing: a ``ColumnTransformer`` of ``StandardScaler`` on the
  numeric columns and ``OneHotEncoder(handle_unknown="ignore")`` on the
  categorical ones;
- reducer: ``raw`` (none: the encoded features themselves, reported
  honestly), ``PCA(k)``, ``AutoencoderTransformer(k)`` (``AE``) and
  ``VAETransformer(k)`` (``VAE``), the two skae reducers with
  ``target_weight`` searched in {0, 0.3, 1, 3} (0 is the unsupervised code:
  the search is free to keep it), every other parameter at its default;
  ``AE0`` and ``VAE0`` (on request, ``--reducers``) are the same reducers
  held unsupervised (``target_weight=0``);
- model: ``LogisticRegression`` (classification; held-out accuracy) or
  ``Ridge`` (regression; held-out R²), its ``C`` or ``alpha`` searched in
  {0.1, 1, 10}.

The code width is ``k = max(2, round(w / 4))``, a quarter of the encoded
width ``w`` (the preprocessing's output on the training rows), and
``random_state=0`` throughout. A table longer than ``--max-rows`` (2000 by
default, to keep the full run near 15 minutes on one thread of a 2-core VM)
is cut to that many rows drawn at random (seed 0). The rows are split 75/25
(seed 0; stratified for classification); ``GridSearchCV`` (3-fold) runs on
the training rows, the fitted reducers cached between the model's values,
and the chosen pipeline is scored once on the held-out rows.

How to call it
--------------
::

    OMP_NUM_THREADS=1 python benchmarks/bench_features.py          # 10 tables
    python benchmarks/bench_features.py --quick     # 4 small tables
    python benchmarks/bench_features.py --data digits wine diabetes
    python benchmarks/bench_features.py --quick --smoke  # 3 epochs a fit

The tables need the benchmarks' extra: ``pip install -e ".[bench]"``.

What counts as a pass
---------------------
Nothing is judged by the exit status: the table is reported, with, per data
set, whether each searched skae pipeline scores at least PCA's (issue 28's
goal: at least PCA's on every table, strictly better on most).
``--smoke`` only shows that the script runs.
"""

import argparse
import tempfile
import time
import warnings

import pandas as pd
from _env import describe, pin_threads
from _report import print_header
from _tables import TABLES, load_table
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skae import AutoencoderTransformer, VAETransformer

#: scikit-learn's bundled data sets (numeric only): name -> (loader, task)
BUNDLED = {
    "digits": (load_digits, "classification"),
    "breast_cancer": (load_breast_cancer, "classification"),
    "wine": (load_wine, "classification"),
    "diabetes": (load_diabetes, "regression"),
}

#: the tables of ``--quick``: the four smallest, a minute or two in all
QUICK = ["penguins", "auto", "rossi", "gbsg2"]

TARGET_WEIGHTS = [0.0, 0.3, 1.0, 3.0]
MODEL_STRENGTHS = [0.1, 1.0, 10.0]


def load(name, max_rows):
    """(X DataFrame, y, task) of a table or of a bundled data set."""
    if name in BUNDLED:
        loader, task = BUNDLED[name]
        X, y = loader(return_X_y=True, as_frame=True)
        return X, y, task
    return load_table(name, max_rows=max_rows, random_state=0)


def preprocessing():
    """StandardScaler on the numeric columns, one-hot on the others."""
    return make_column_transformer(
        (StandardScaler(), make_column_selector(dtype_include="number")),
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_exclude="number"),
        ),
    )


def width(n_features):
    """The code width: a quarter of the encoded width, at least 2."""
    return max(2, round(n_features / 4))


def model_step(task):
    """The last step and its grid: a LogisticRegression over C, or a Ridge
    over alpha."""
    if task == "classification":
        return LogisticRegression(max_iter=5000), {"model__C": MODEL_STRENGTHS}
    return Ridge(), {"model__alpha": MODEL_STRENGTHS}


#: the reducers a run can name
REDUCERS = ["raw", "PCA", "AE", "VAE", "AE0", "VAE0"]


def reducers(k, smoke, names):
    """name -> (reducer or None, its grid), for the reducers ``names``."""
    extra = dict(max_iter=3, random_state=0) if smoke else dict(random_state=0)
    searched = {"reducer__target_weight": TARGET_WEIGHTS}
    rows = {
        "raw": (None, {}),
        "PCA": (PCA(k, random_state=0), {}),
        "AE": (AutoencoderTransformer(k, **extra), searched),
        "VAE": (VAETransformer(k, **extra), searched),
        "AE0": (AutoencoderTransformer(k, **extra), {}),
        "VAE0": (VAETransformer(k, **extra), {}),
    }
    return {name: rows[name] for name in names}


def run(name, max_rows, smoke, n_jobs, names):
    """Print one data set's rows of the table; return {reducer: score}."""
    X, y, task = load(name, max_rows)
    X_train, X_test, y_train, y_test = train_test_split(
        X,
        y,
        test_size=0.25,
        random_state=0,
        stratify=y if task == "classification" else None,
    )
    encoded = preprocessing().fit_transform(X_train).shape[1]
    k = width(encoded)
    n_categorical = X.shape[1] - X.select_dtypes("number").shape[1]
    model, model_grid = model_step(task)
    scores = {}
    for reducer_name, (reducer, grid) in reducers(k, smoke, names).items():
        steps = [("prep", preprocessing())]
        if reducer is not None:
            steps.append(("reducer", reducer))
        steps.append(("model", model))
        with tempfile.TemporaryDirectory() as cache:
            pipe = Pipeline(steps, memory=cache)
            search = GridSearchCV(pipe, {**grid, **model_grid}, cv=3, n_jobs=n_jobs)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                search.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            score = search.score(X_test, y_test)
        scores[reducer_name] = score
        chosen = ", ".join(
            f"{key.split('__')[1]}={value:g}"
            for key, value in sorted(search.best_params_.items())
        )
        print(
            f"{name:<13} {len(X):>5} {X.shape[1]:>4} {n_categorical:>3} "
            f"{encoded:>4} {k:>3}  {reducer_name:<4} {score:>8.3f}  "
            f"{chosen:<30} {seconds:>7.1f}",
            flush=True,
        )
    if "PCA" in scores:
        verdict = ", ".join(
            f"{r} {'>=' if scores[r] >= scores['PCA'] else '<'} PCA"
            for r in scores
            if r not in ("raw", "PCA")
        )
        print(f"{'':<13} {task}: {verdict}", flush=True)
    return scores


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    names = list(TABLES) + list(BUNDLED)
    parser.add_argument(
        "--data", nargs="+", choices=names, default=None, help="default: the tables"
    )
    parser.add_argument("--quick", action="store_true", help=f"only {QUICK}")
    parser.add_argument(
        "--max-rows", type=int, default=2000, help="rows kept per table (2000)"
    )
    parser.add_argument("--reducers", nargs="+", choices=REDUCERS, default=REDUCERS[:4])
    parser.add_argument("--smoke", action="store_true", help="3 epochs a fit")
    parser.add_argument("--n-jobs", type=int, default=1, help="GridSearchCV's n_jobs")
    args = parser.parse_args()
    data = args.data or (QUICK if args.quick else list(TABLES))
    pin_threads()
    describe("bench_features: codes as features for a linear model")
    print(
        "held-out accuracy (classification: LogisticRegression) or R² "
        "(regression: Ridge); GridSearchCV 3-fold on the training rows; "
        f"tables cut to {args.max_rows} rows"
    )
    print_header(
        f"{'data':<13} {'rows':>5} {'cols':>4} {'cat':>3} {'enc':>4} {'k':>3}  "
        f"{'red.':<4} {'held-out':>8}  {'chosen':<30} {'search s':>7}"
    )
    start = time.perf_counter()
    table = {
        name: run(name, args.max_rows, args.smoke, args.n_jobs, args.reducers)
        for name in data
    }
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    summary = pd.DataFrame(table).T
    for r in summary.columns.drop(["raw", "PCA"], errors="ignore"):
        if "PCA" in summary:
            wins = int((summary[r] >= summary["PCA"]).sum())
            print(f"{r} >= PCA on {wins} of {len(summary)} data sets")


if __name__ == "__main__":
    main()
