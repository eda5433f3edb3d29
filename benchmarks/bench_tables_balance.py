"""Tables: the numeric and categorical columns' balance in the native loss.

Question
--------
Issue 27's reconstruction goal asks the native path (``AutoencoderTransformer(k,
categorical_features="from_dtype")`` on a raw DataFrame, ``k`` a quarter of
the one-hot width) for a numeric RMSE below PCA's AND a categorical accuracy
above PCA's on every table. Its training loss
(``TableLikelihood.training_terms``) reads the numeric columns at a fitted
noise variance, which won the numeric side and lost fair's categorical
columns. Which training rule gives each type its share? Each variant
replaces ``training_terms`` for the fit only (``score_samples`` and
everything else unchanged) and is scored per column against ``PCA(k)`` on
the one-hot table, with ``bench_tables.py``'s split, encoding and scoring:

``old``       ``reconstruction_terms``: every column at a fixed scale (the
              loss before the fitted variance)
``new``       ``training_terms`` as it is (main)
``sym``       the discrete columns (categorical and two-level) read like
              the numeric ones: their own shared scale fitted on the batch
              (their mean term, in units of the marginal, at least
              ``MIN_NOISE_VARIANCE``), fixed or fitted, whichever pulls harder
``half``      ``new``, and the two types weigh the same in total (each
              numeric column ``n / (2 n_numeric)``, each discrete one
              ``n / (2 n_discrete)``)
``symhalf``   ``sym`` and ``half`` together
``loglog``    both types always at their fitted scale (the log reading)
``loghalf``   ``loglog`` and ``half`` together
``pcafloor``  ``new`` with the least variance raised to the share of the
              numeric columns' variance that their first ``k`` principal
              components leave (at least ``MIN_NOISE_VARIANCE``)
``ncfloor``   ``new`` with the least variance ``MIN_NOISE_VARIANCE`` times
              the numeric columns per discrete one (at least 1)

Each run also records the numeric columns' mean squared error over their
marginal variance on the last 20 training batches (the noise variance the
rule fits, before its floor) and the discrete columns' mean term, so a
run says whether the fitted variance sits at its floor.

How to call it
--------------
::

    OMP_NUM_THREADS=1 python benchmarks/bench_tables_balance.py --tables fair \\
        --variants old new --seeds 0 1 2
    python benchmarks/bench_tables_balance.py --summary

Results are appended, one JSON line per (table, seed, variant), to
``--out`` (``benchmarks/results/tables_balance/results.jsonl``);
``--summary`` prints each variant's means against PCA's and its wins.

What counts as a pass
---------------------
A variant is worth adopting only if, on tables it was not chosen on
(``_tables.FRESH``, ``FRESH2`` and the ten less the development five:
fair, wage, rossi, oj, penguins), it beats PCA on both the numeric error
and the categorical accuracy on more tables and seeds than ``new``.
"""

import argparse
import collections
import json
import math
import os
import sys
import time

import numpy as np
import pandas as pd
import torch
from _env import load, skae_revision
from _tables import FRESH, FRESH2, TABLES, load_table
from bench_tables import Encoding, split
from sklearn.decomposition import PCA

from skae import AutoencoderTransformer, _objectives

HERE = os.path.dirname(os.path.abspath(__file__))
MAIN = _objectives.TableLikelihood.training_terms
FLOOR = _objectives.MIN_NOISE_VARIANCE


def _group_mean(terms, mask):
    seen = terms.detach()
    if mask is None:
        return seen.mean()
    mask = mask.to(seen.dtype)
    return (seen * mask).sum() / mask.sum().clamp(min=1)


def _read(terms, mask, mode, floor):
    """A group's terms at its fitted scale (``"fitted"``) or at whichever
    of the fixed and fitted scales pulls harder (``"max"``), as main's
    numeric columns are read."""
    scale = math.log(1 / floor)
    s = _group_mean(terms, mask).clamp(min=floor)
    fitted = (terms / s + torch.log(s * scale)) / scale
    return fitted if mode == "fitted" else torch.where(s * scale < 1, fitted, terms)


def variant(numeric, discrete, half=False):
    """A ``training_terms`` reading the numeric and discrete groups with
    ``numeric`` / ``discrete`` (``"fixed"``, ``"max"``, ``"fitted"``)."""

    def training_terms(self, x, output, observed=None):
        terms = self.reconstruction_terms(x, output)
        kinds = [self.columns[j][0] for j in self.term_order]
        num = [i for i, k in enumerate(kinds) if k == "gaussian"]
        dis = [i for i, k in enumerate(kinds) if k in ("bernoulli", "categorical")]
        out = terms.clone()
        for at, mode in ((num, numeric), (dis, discrete)):
            if at and mode != "fixed":
                mask = None if observed is None else observed[:, at]
                out[:, at] = _read(terms[:, at], mask, mode, CURRENT["floor"])
        if half and num and dis:
            weights = torch.ones(terms.shape[1], dtype=terms.dtype)
            weights[num] = terms.shape[1] / (2 * len(num))
            weights[dis] = terms.shape[1] / (2 * len(dis))
            out = out * weights
        return out

    return training_terms


VARIANTS = {
    "old": lambda self, x, output, observed=None: self.reconstruction_terms(x, output),
    "new": MAIN,
    "sym": variant("max", "max"),
    "half": variant("max", "fixed", half=True),
    "symhalf": variant("max", "max", half=True),
    "loglog": variant("fitted", "fitted"),
    "loghalf": variant("fitted", "fitted", half=True),
    "pcafloor": variant("max", "fixed"),
    "ncfloor": variant("max", "fixed"),
}
DEVELOPMENT = ("fair", "wage", "rossi", "oj", "penguins")
CURRENT = {"floor": FLOOR, "rule": MAIN}
LOG = {"numeric": [], "discrete": []}


def recording(self, x, output, observed=None):
    """The variant's terms, logging the groups' batch means while training."""
    terms = self.reconstruction_terms(x, output)
    n = len(self.gaussian)
    if torch.is_grad_enabled() and n:
        LOG["numeric"].append(float(terms[:, :n].detach().mean()))
        if terms.shape[1] > n:
            LOG["discrete"].append(float(terms[:, n:].detach().mean()))
    return CURRENT["rule"](self, x, output, observed)


def floor_for(name, enc, X_train, k):
    if name == "ncfloor":
        return FLOOR * max(1.0, len(enc.numeric) / max(1, len(enc.categorical)))
    if name == "pcafloor" and len(enc.numeric) > k:
        values = np.linalg.eigvalsh(np.cov(enc.scaled(X_train).T))[::-1]
        return max(FLOOR, float(values[k:].sum() / values.sum()))
    return FLOOR


def per_column(enc, X_test, numeric, labels):
    truth = enc.scaled(X_test)
    out = {
        c: float(np.sqrt(np.mean((numeric[:, j] - truth[:, j]) ** 2)))
        for j, c in enumerate(enc.numeric)
    }
    for c in enc.categorical:
        true = X_test[c].astype(str).to_numpy()
        out[c] = float(np.mean(np.asarray(labels[c]) == true))
    return out


def entropy(series):
    p = series.value_counts(normalize=True).to_numpy()
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def run_one(name, seed, rule):
    X, _, _ = load_table(name, max_rows=2000, random_state=0)
    X_train, X_test = split(X, seed)
    enc = Encoding(X_train)
    k = max(2, round(enc.width / 4))
    pca = PCA(k, random_state=seed).fit(enc.encode(X_train))
    Z_hat = pca.inverse_transform(pca.transform(enc.encode(X_test)))
    out = {"table": name, "seed": seed, "variant": rule, "k": k}
    out["PCA"] = per_column(enc, X_test, *enc.decode(Z_hat))
    CURRENT.update(floor=floor_for(rule, enc, X_train, k), rule=VARIANTS[rule])
    LOG["numeric"].clear()
    LOG["discrete"].clear()
    start = time.perf_counter()
    _objectives.TableLikelihood.training_terms = recording
    try:
        model = AutoencoderTransformer(
            k, categorical_features="from_dtype", random_state=seed
        ).fit(X_train)
    finally:
        _objectives.TableLikelihood.training_terms = MAIN
        CURRENT.update(floor=FLOOR, rule=MAIN)
    back = pd.DataFrame(model.inverse_transform(model.transform(X_test)))
    back.columns = X_test.columns
    numeric = (back[enc.numeric].to_numpy(float) - enc.mean) / enc.scale
    labels = {c: back[c].astype(str).to_numpy() for c in enc.categorical}
    out["skae native"] = per_column(enc, X_test, numeric, labels)
    noise, discrete = LOG["numeric"], LOG["discrete"]
    out["info"] = {
        "epochs": int(model.n_iter_),
        "seconds": time.perf_counter() - start,
        "floor": floor_for(rule, enc, X_train, k),
        "numeric_mse_last": float(np.mean(noise[-20:])) if noise else None,
        "numeric_mse_min": float(np.min(noise)) if noise else None,
        "discrete_term_last": float(np.mean(discrete[-20:])) if discrete else None,
        "levels": {c: len(enc.levels[c]) for c in enc.categorical},
        "entropy": {c: entropy(X_train[c]) for c in enc.categorical},
        "most_frequent": {
            c: float(X_train[c].value_counts(normalize=True).iloc[0])
            for c in enc.categorical
        },
        "load": load(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "skae": skae_revision(),
    }
    return out


def pooled(record, method):
    """(numeric RMSE pooled over the columns, mean categorical accuracy)."""
    cats = set(record["info"]["levels"])
    values = record[method]
    num = [v for c, v in values.items() if c not in cats]
    acc = [v for c, v in values.items() if c in cats]
    rmse = float(np.sqrt(np.mean(np.square(num)))) if num else None
    return rmse, (float(np.mean(acc)) if acc else None)


def summary(path, tables):
    cells = collections.defaultdict(list)
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r["table"] in tables:
                cells[r["table"], r["variant"]].append(
                    (*pooled(r, "skae native"), *pooled(r, "PCA"))
                )
    totals = collections.defaultdict(lambda: np.zeros(5, int))
    print("| table | variant | seeds | RMSE (PCA) | accuracy (PCA) | seeds won N, C |")
    print("|---|---|--:|--:|--:|--:|")
    for (table, rule), rows in sorted(
        cells.items(), key=lambda c: (tables.index(c[0][0]), c[0][1])
    ):
        a = np.array(rows, float)
        m = a.mean(axis=0)
        wn, wc = int((a[:, 0] < a[:, 2]).sum()), int((a[:, 1] > a[:, 3]).sum())
        print(
            f"| {table} | {rule} | {len(a)} | {m[0]:.3f} ({m[2]:.3f}) "
            f"| {m[1]:.3f} ({m[3]:.3f}) | {wn}, {wc} |"
        )
        totals[rule] += [m[0] < m[2], m[1] > m[3], wn, wc, len(a)]
    print()
    for rule, (tn, tc, wn, wc, n) in totals.items():
        tabs = sum(1 for t, r in cells if r == rule)
        print(
            f"- {rule}: numeric below PCA on {tn} of {tabs} tables ({wn} of {n} "
            f"seeds), accuracy above PCA on {tc} of {tabs} ({wc} of {n})"
        )


def main(argv=None):
    names = [*TABLES, *FRESH, *FRESH2]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--tables",
        nargs="+",
        choices=names,
        help="the development five by default (--summary: every table)",
    )
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=["new"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--out",
        default=os.path.join(HERE, "results", "tables_balance", "results.jsonl"),
    )
    parser.add_argument("--summary", action="store_true")
    args = parser.parse_args(argv)
    if args.summary:
        summary(args.out, [t for t in names if t in (args.tables or names)])
        return 0
    args.tables = args.tables or list(DEVELOPMENT)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    for name in args.tables:
        for seed in args.seeds:
            for rule in args.variants:
                with open(args.out, "a") as f:
                    f.write(json.dumps(run_one(name, seed, rule)) + "\n")
                print(f"{name} seed {seed} {rule}: done, load {load()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
