"""Does AutoencoderImputer fill a mixed table's holes, categorical ones too?

Question
--------
On the ten real mixed tables of ``benchmarks/_tables.py`` (at most 2000 rows
each, drawn with ``random_state=0``; the target column left out), with 20%
of the entries missing completely at random (each entry independently,
``np.random.RandomState(seed)``), how does ``AutoencoderImputer()`` at its
defaults, given the DataFrame with its holes as it is, compare with

- ``SimpleImputer(strategy="most_frequent")`` on the categorical holes
  (accuracy: the share of the missing categorical entries given back their
  true level), and ``SimpleImputer(strategy="mean")`` on the numeric ones;
- ``IterativeImputer()`` (its defaults) on the numeric holes (RMSE), fed the
  numeric columns and a block of dummies per categorical column (all its
  levels but the first; a missing level: its whole block NaN); its
  categorical answer is the level with the largest filled-in dummy, the
  first level's being one minus their sum.

The numeric RMSE is over every missing numeric entry of the table, each
column in units of its standard deviation over the complete table (so that
no column's units dominate). The time ratio is the imputer's
``fit_transform`` time over IterativeImputer's, in the same process.

How to call it
--------------
::

    pip install --no-deps ISLP palmerpenguins lifelines statsmodels
    OMP_NUM_THREADS=1 python benchmarks/bench_impute_tables.py
    OMP_NUM_THREADS=1 python benchmarks/bench_impute_tables.py --tables oj auto

What counts as a pass
---------------------
Issue 27's goals: categorical accuracy above most-frequent on every table;
numeric RMSE below IterativeImputer's on at least 3 in 4 tables. The full
benchmark (40% missing, KNNImputer, three seeds) is ``bench_tables.py``'s.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, SimpleImputer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _env import describe, load, pin_threads  # noqa: E402
from _tables import TABLES, load_table  # noqa: E402

from skae import AutoencoderImputer  # noqa: E402


def with_holes(X, fraction, seed):
    """X with each entry missing with probability ``fraction``, and the mask."""
    holes = np.random.RandomState(seed).rand(*X.shape) < fraction
    out = X.copy()
    for j, column in enumerate(X.columns):
        out[column] = X[column].mask(holes[:, j])
    return out, holes


def dummies(X):
    """The numeric columns and a block of dummies per categorical column (one
    a level but its first, which would make the block sum to 1: a fixed
    point where IterativeImputer fills every block with the level means),
    NaN where the level is missing; and each column's levels."""
    parts, blocks = [], {}
    for column in X.columns:
        if isinstance(X[column].dtype, pd.CategoricalDtype):
            levels = list(X[column].cat.categories)
            block = pd.get_dummies(X[column], dtype=float).iloc[:, 1:]
            block.columns = [f"{column}={level}" for level in levels[1:]]
            block[X[column].isna().to_numpy()] = np.nan
            blocks[column] = levels
            parts.append(block)
        else:
            parts.append(X[[column]].astype(float))
    return pd.concat(parts, axis=1), blocks


def scores(X, filled, holes, numeric, categorical):
    """(numeric RMSE in standard deviations, categorical accuracy) over the
    holes."""
    columns = list(X.columns)
    errors = []
    for column in numeric:
        at = holes[:, columns.index(column)]
        std = X[column].std() or 1.0
        truth = X[column].to_numpy()[at]
        errors.append((filled[column].to_numpy(dtype=float)[at] - truth) / std)
    hits = []
    for column in categorical:
        at = holes[:, columns.index(column)]
        truth = X[column].astype(str).to_numpy()[at]
        hits.append(np.asarray(filled[column], dtype=str)[at] == truth)
    rmse = float(np.sqrt(np.mean(np.concatenate(errors) ** 2))) if errors else np.nan
    accuracy = float(np.mean(np.concatenate(hits))) if hits else np.nan
    return rmse, accuracy


def run(name, fraction, seed, max_rows):
    X, _, _ = load_table(name, max_rows=max_rows)
    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in X.columns if c not in categorical]
    X_missing, holes = with_holes(X, fraction, seed)

    start = time.perf_counter()
    ours = AutoencoderImputer().fit_transform(X_missing)
    ours_time = time.perf_counter() - start

    frequent = SimpleImputer(strategy="most_frequent").set_output(transform="pandas")
    mean = SimpleImputer(strategy="mean").set_output(transform="pandas")
    simple = pd.concat(
        [
            frequent.fit_transform(X_missing[categorical]),
            mean.fit_transform(X_missing[numeric]),
        ],
        axis=1,
    )

    encoded, blocks = dummies(X_missing)
    start = time.perf_counter()
    iterative = IterativeImputer().fit_transform(encoded)
    iterative_time = time.perf_counter() - start
    iterative = pd.DataFrame(iterative, columns=encoded.columns)
    for column, levels in blocks.items():
        rest = iterative[[f"{column}={level}" for level in levels[1:]]].to_numpy()
        scores_ = np.column_stack([1 - rest.sum(axis=1), rest])
        iterative[column] = np.asarray(levels)[scores_.argmax(axis=1)]

    row = dict(table=name, rows=len(X))
    row.update(numeric=len(numeric), categorical=len(categorical))
    for label, filled in (("ae", ours), ("simple", simple), ("iterative", iterative)):
        row[f"{label}_rmse"], row[f"{label}_acc"] = scores(
            X, filled, holes, numeric, categorical
        )
    row["time_ratio"] = ours_time / iterative_time
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", nargs="*", default=list(TABLES))
    parser.add_argument("--missing", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-rows", type=int, default=2000)
    args = parser.parse_args()
    pin_threads()
    describe(__doc__.split("\n")[0])
    warnings.simplefilter("ignore")  # ConvergenceWarning of IterativeImputer
    print(
        f"\n{args.missing:.0%} MCAR, seed {args.seed}; RMSE in standard "
        "deviations; accuracy of the categorical holes\n"
    )
    header = (
        f"{'table':10} {'rows':>5} {'num':>3} {'cat':>3} | {'RMSE ae':>8} "
        f"{'iter':>6} {'mean':>6} | {'acc ae':>7} {'m.freq':>7} {'iter':>6} | "
        f"{'time ae/iter':>12}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for name in args.tables:
        r = run(name, args.missing, args.seed, args.max_rows)
        rows.append(r)
        print(
            f"{r['table']:10} {r['rows']:5d} {r['numeric']:3d} {r['categorical']:3d} | "
            f"{r['ae_rmse']:8.3f} {r['iterative_rmse']:6.3f} {r['simple_rmse']:6.3f} | "
            f"{r['ae_acc']:7.3f} {r['simple_acc']:7.3f} {r['iterative_acc']:6.3f} | "
            f"{r['time_ratio']:12.2f}",
            flush=True,
        )
    rmse_wins = sum(r["ae_rmse"] < r["iterative_rmse"] for r in rows)
    acc_wins = sum(r["ae_acc"] > r["simple_acc"] for r in rows)
    print(
        f"\nRMSE below IterativeImputer's on {rmse_wins} of {len(rows)} tables; "
        f"categorical accuracy above most-frequent on {acc_wins} of {len(rows)}. "
        f"Load average at the end: {load()}."
    )


if __name__ == "__main__":
    main()
