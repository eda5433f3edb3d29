"""Tables: reconstruction and imputation of real mixed tables; imputer fit time.

Question
--------
Issue 27's tabular benchmark (item 6 and its reconstruction and imputation
goals), on the ten real mixed-type tables that ship inside PyPI wheels
(``benchmarks/_tables.py``: ISLP, palmerpenguins, lifelines, statsmodels;
nothing is downloaded). A table longer than ``--max-rows`` (2000) is cut to
that many rows drawn at random (seed 0). Each ``--seeds`` seed (0 1 2)
draws its own 75/25 split of the rows, its own holes and its models'
``random_state``.

The encoded table is what a user builds today: ``StandardScaler`` on the
numeric columns and a one-hot block per categorical column (its levels
those seen in the training rows; an unseen level encodes as zeros, as
``OneHotEncoder(handle_unknown="ignore")``). A categorical column is read
back from a decoded block by its argmax. Errors on numeric columns are in
standardised units (divided by the column's standard deviation over the
training rows), pooled over the entries scored.

1. **Reconstruction** (``--parts recon``), at the same code width
   ``k = round(encoded width / 4)`` (at least 2), fitted on the training
   rows, scored on the held-out rows (numeric RMSE, categorical accuracy):

   ``PCA``        ``PCA(k)`` on the encoded table
   ``skae``       ``AutoencoderTransformer(k, random_state=seed)`` at its
                  defaults, on the encoded table (today's path)
   ``skae native`` ``AutoencoderTransformer(k, categorical_features=
                  "from_dtype", random_state=seed)`` on the raw DataFrame,
                  read back with ``inverse_transform`` (issue 27's items 1
                  and 2; run only where skae has the parameter)

2. **Imputation** (``--parts impute``) at 20% and 40% MCAR: each cell of
   the raw table (numeric and categorical columns alike) is missing with
   that probability, independently. The imputers are fitted on the
   training rows (with their holes) and fill the held-out rows' holes,
   which are scored (numeric RMSE, categorical accuracy):

   ``Simple``        ``SimpleImputer`` mean on the numeric columns,
                     most_frequent on the categorical ones
   ``KNN``           ``KNNImputer()`` on the encoded table (a missing
                     categorical cell: its whole one-hot block missing)
   ``Iterative``     ``IterativeImputer()`` on the encoded table, likewise
   ``skae (num)``    ``AutoencoderImputer()`` on the numeric columns only:
                     what it took before issue 27's item 4
   ``skae (1-hot)``  ``AutoencoderImputer()`` on the encoded table: the
                     workaround for categorical holes before item 4
   ``skae native``   ``AutoencoderImputer()`` on the raw DataFrame (its
                     ``category`` columns with holes, ``categorical_features=
                     "from_dtype"``, issue 27's item 4): it fills a
                     categorical hole with the most likely level; the same
                     holes, standardisation and scoring as the others
                     (cached as its own part, ``impute_native``)

3. **Fit time** (``--parts timing``): ``AutoencoderImputer()`` against
   ``IterativeImputer()``, both at their defaults, fitted one after the
   other in the same process on a synthetic mixed table (low-rank numeric
   columns plus categorical columns read from the same latent factors,
   encoded as above, 20% MCAR): 5k, 20k and 50k rows at 24 encoded
   columns, and 12, 24 and 48 encoded columns at 20k rows. Each fit's CPU
   time (``time.process_time``: the process's own, all its threads, which
   other jobs on the cores inflate far less than the wall time) and wall
   time are recorded, with IterativeImputer's rounds (it stops early when
   its estimates settle) and the autoencoder's epochs. The ratio is the
   figure to read; the load is printed with each row.

Each (part, table, seed) result is written as one JSON file under
``--cache`` (``benchmarks/results/tables`` by default) as soon as it is
done, and a later run skips it: the run resumes where it stopped
(``--force`` recomputes). ``--summary`` reads the cache and prints the
tables and the goal lines, running nothing.

How to call it
--------------
::

    pip install --no-deps ISLP palmerpenguins lifelines statsmodels
    OMP_NUM_THREADS=1 python benchmarks/bench_tables.py             # all
    OMP_NUM_THREADS=1 python benchmarks/bench_tables.py --tables oj auto --seeds 0
    OMP_NUM_THREADS=1 python benchmarks/bench_tables.py --parts timing
    python benchmarks/bench_tables.py --summary

``--tables smarket dd actg175 randhie modechoice`` runs the held-out
tables of ``_tables.FRESH`` (none of the ten; chosen after the native
path's loss was, to judge it afresh); their results share the cache, and
``--summary --tables ...`` prints only the tables named. ``--tables nyse
divorce kidney boston`` runs ``_tables.FRESH2``, a second held-out set
(assembled before the categorical columns' share of the loss was worked
on). ``--tables cattaneo docvis titanic diabetes caravan`` runs
``_tables.FRESH3``, a third (assembled on shape only after the start at
PCA was chosen, to judge it). ``--native-init random`` fits the native row
with ``init="random"`` (the training before the start at PCA) into its own
folder, ``results/tables-init-random``.

``--quick`` trains every skae model for 3 epochs (a smoke run, into its own
cache folder, not gated); another ``--max-rows`` also has its own folder.

What counts as a pass
---------------------
Issue 27's goals, printed as one line each (the exit status is 0 whatever
they say; the page reports them):

- reconstruction: skae's numeric RMSE below PCA's on every table, and its
  categorical accuracy above PCA's on every table with a categorical
  column (judged for ``skae`` and, where it ran, ``skae native``);
- imputation: ``AutoencoderImputer``'s numeric RMSE below
  ``IterativeImputer``'s on at least 3 in 4 (table, missing fraction)
  cases, and its categorical accuracy above most_frequent's on every one
  (judged for each skae path);
- fit time at 50k rows: ``AutoencoderImputer()`` within 2x of
  ``IterativeImputer()`` (judged on the CPU time; the wall time is printed
  beside it).
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
from _env import describe, load, skae_revision
from _tables import FRESH, FRESH2, FRESH3, TABLES, load_table
from sklearn.decomposition import PCA
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.model_selection import train_test_split

from skae import AutoencoderImputer, AutoencoderTransformer
from skae._impute import default_estimator

PARTS = ("recon", "impute", "timing")
MISSING = (0.2, 0.4)
RECON = ("PCA", "skae", "skae native")
IMPUTERS = ("Simple", "KNN", "Iterative", "skae (num)", "skae (1-hot)", "skae native")
HERE = os.path.dirname(os.path.abspath(__file__))


def native_available():
    """Whether skae's estimators take a raw mixed DataFrame (issue 27 item 1)."""
    return "categorical_features" in AutoencoderTransformer().get_params()


class Encoding:
    """StandardScaler on the numeric columns and a one-hot block per
    categorical column, fitted on the observed entries of the training
    rows; a missing categorical cell encodes as a block of NaN."""

    def __init__(self, X):
        self.numeric = [c for c in X.columns if X[c].dtype.kind == "f"]
        self.categorical = [c for c in X.columns if c not in self.numeric]
        self.mean = X[self.numeric].mean().to_numpy()
        self.scale = X[self.numeric].std(ddof=0).replace(0, 1).to_numpy()
        self.levels = {
            c: np.array(sorted(X[c].dropna().astype(str).unique()))
            for c in self.categorical
        }
        self.width = len(self.numeric) + sum(len(v) for v in self.levels.values())

    def scaled(self, X):
        """The numeric columns, standardised (NaN stays NaN)."""
        return (X[self.numeric].to_numpy(float) - self.mean) / self.scale

    def encode(self, X):
        blocks = [self.scaled(X)]
        for c, levels in self.levels.items():
            values = X[c].astype(object)
            missing = values.isna().to_numpy()
            onehot = (values.astype(str).to_numpy()[:, None] == levels).astype(float)
            onehot[missing] = np.nan
            blocks.append(onehot)
        return np.hstack(blocks)

    def decode(self, Z):
        """(standardised numeric block, {column: labels by argmax})."""
        numeric = Z[:, : len(self.numeric)]
        labels, start = {}, len(self.numeric)
        for c, levels in self.levels.items():
            block = Z[:, start : start + len(levels)]
            labels[c] = levels[np.argmax(block, axis=1)]
            start += len(levels)
        return numeric, labels


def score(enc, X_true, numeric, labels, holes=None):
    """Numeric RMSE (standardised units) and categorical accuracy of a
    reconstruction or imputation of ``X_true``, over ``holes`` (a boolean
    frame of the cells scored) or over every cell."""
    truth = enc.scaled(X_true)
    num_mask = (
        np.ones_like(truth, bool) if holes is None else holes[enc.numeric].to_numpy()
    )
    rmse = (
        float(np.sqrt(np.mean((numeric - truth)[num_mask] ** 2)))
        if num_mask.any()
        else None
    )
    right = total = 0
    for c in enc.categorical if labels is not None else ():
        mask = np.ones(len(X_true), bool) if holes is None else holes[c].to_numpy()
        true = X_true[c].astype(str).to_numpy()[mask]
        right += int(np.sum(np.asarray(labels[c])[mask] == true))
        total += int(mask.sum())
    return {
        "rmse": rmse,
        "accuracy": right / total if total else None,
        "n_numeric": int(num_mask.sum()),
        "n_categorical": total,
    }


def split(X, seed):
    train, test = train_test_split(np.arange(len(X)), test_size=0.25, random_state=seed)
    return (
        X.iloc[train].reset_index(drop=True),
        X.iloc[test].reset_index(drop=True),
    )


def skae_imputer(quick):
    """``AutoencoderImputer()``; on a quick run its default estimator
    trained for 3 epochs."""
    if not quick:
        return AutoencoderImputer()
    return AutoencoderImputer(default_estimator().set_params(max_iter=3))


def skae_params(seed, quick):
    return dict(random_state=seed, **({"max_iter": 3} if quick else {}))


def recon(name, X, seed, quick):
    """Part 1: reconstruction of the held-out rows at width k."""
    X_train, X_test = split(X, seed)
    enc = Encoding(X_train)
    Z_train, Z_test = enc.encode(X_train), enc.encode(X_test)
    k = max(2, round(enc.width / 4))
    out = {"encoded_width": enc.width, "k": k, "methods": {}}

    def record(method, Z_hat, seconds):
        out["methods"][method] = {
            **score(enc, X_test, *enc.decode(Z_hat)),
            "seconds": seconds,
        }

    start = time.perf_counter()
    pca = PCA(k, random_state=seed).fit(Z_train)
    record(
        "PCA", pca.inverse_transform(pca.transform(Z_test)), time.perf_counter() - start
    )
    start = time.perf_counter()
    ae = AutoencoderTransformer(k, **skae_params(seed, quick)).fit(Z_train)
    record(
        "skae", ae.inverse_transform(ae.transform(Z_test)), time.perf_counter() - start
    )
    return out


#: the native row's ``init`` (``--native-init``): its default, ``"auto"``,
#: starts a table at PCA; ``"random"`` is the training of before
NATIVE_INIT = "auto"


def recon_native(name, X, seed, quick):
    """Part 1, the native row: ``AutoencoderTransformer`` on the raw
    DataFrame, read back with ``inverse_transform``, scored as ``recon``'s."""
    X_train, X_test = split(X, seed)
    enc = Encoding(X_train)
    k = max(2, round(enc.width / 4))
    start = time.perf_counter()
    native = AutoencoderTransformer(
        k,
        categorical_features="from_dtype",
        init=NATIVE_INIT,
        **skae_params(seed, quick),
    ).fit(X_train)
    back = pd.DataFrame(native.inverse_transform(native.transform(X_test)))
    back.columns = X_test.columns
    numeric = (back[enc.numeric].to_numpy(float) - enc.mean) / enc.scale
    labels = {c: back[c].astype(str).to_numpy() for c in enc.categorical}
    return {
        "encoded_width": enc.width,
        "k": k,
        "methods": {
            "skae native": {
                **score(enc, X_test, numeric, labels),
                "seconds": time.perf_counter() - start,
            }
        },
    }


def holes_of(X, fraction, seed):
    """A boolean frame: each cell missing with probability ``fraction``."""
    rng = np.random.RandomState(1000 + seed)
    return pd.DataFrame(rng.rand(*X.shape) < fraction, columns=X.columns)


def with_holes(X, holes):
    """X with the cells of ``holes`` missing: NaN in a numeric column, NaN
    in an object column in place of a category."""
    M = X.astype(object).mask(holes)
    for c in X.columns:
        if X[c].dtype.kind == "f":
            M[c] = M[c].astype(float)
    return M


def impute_fraction(X_train, X_test, fraction, seed, quick):
    """Part 2 at one missing fraction: each imputer's scores on the held-out
    rows' holes."""
    holes_train = holes_of(X_train, fraction, seed)
    holes_test = holes_of(X_test, fraction, seed + 100)
    M_train, M_test = with_holes(X_train, holes_train), with_holes(X_test, holes_test)
    enc = Encoding(M_train)
    Z_train, Z_test = enc.encode(M_train), enc.encode(M_test)
    n_num = len(enc.numeric)
    filled = {}  # method: (standardised numeric block, labels, seconds)

    # SimpleImputer: mean on the numeric columns, most_frequent on the others
    start = time.perf_counter()
    numeric = np.empty((len(X_test), 0))
    if n_num:
        mean = SimpleImputer(strategy="mean").fit(Z_train[:, :n_num])
        numeric = mean.transform(Z_test[:, :n_num])
    labels = {}
    if enc.categorical:
        frequent = SimpleImputer(strategy="most_frequent")
        frequent.fit(M_train[enc.categorical])
        values = frequent.transform(M_test[enc.categorical]).astype(str)
        labels = dict(zip(enc.categorical, values.T))
    filled["Simple"] = numeric, labels, time.perf_counter() - start

    for method, imputer in [
        ("KNN", KNNImputer()),
        ("Iterative", IterativeImputer()),
        ("skae (1-hot)", skae_imputer(quick)),
    ]:
        start = time.perf_counter()
        Z_hat = imputer.fit(Z_train).transform(Z_test)
        filled[method] = *enc.decode(Z_hat), time.perf_counter() - start
    if n_num:
        start = time.perf_counter()
        imputer = skae_imputer(quick).fit(Z_train[:, :n_num])
        numeric = imputer.transform(Z_test[:, :n_num])
        filled["skae (num)"] = numeric, None, time.perf_counter() - start
    methods = {
        method: {
            **score(enc, X_test, numeric, labels, holes_test),
            "seconds": seconds,
        }
        for method, (numeric, labels, seconds) in filled.items()
    }
    return {"encoded_width": enc.width, "methods": methods}


def impute_native_fraction(X_train, X_test, fraction, seed, quick):
    """Part 2's native row at one missing fraction: ``AutoencoderImputer``
    on the raw DataFrame with ``impute_fraction``'s holes (the columns keep
    their dtypes), scored as the other imputers."""
    holes_train = holes_of(X_train, fraction, seed)
    holes_test = holes_of(X_test, fraction, seed + 100)
    enc = Encoding(with_holes(X_train, holes_train))
    start = time.perf_counter()
    imputer = skae_imputer(quick).fit(X_train.mask(holes_train))
    filled = imputer.transform(X_test.mask(holes_test))
    seconds = time.perf_counter() - start
    numeric = (filled[enc.numeric].to_numpy(float) - enc.mean) / enc.scale
    labels = {c: filled[c].astype(str).to_numpy() for c in enc.categorical}
    return {
        "encoded_width": enc.width,
        "methods": {
            "skae native": {
                **score(enc, X_test, numeric, labels, holes_test),
                "seconds": seconds,
            }
        },
    }


def impute_native(name, X, seed, quick):
    """Part 2, the native row, per missing fraction."""
    X_train, X_test = split(X, seed)
    return {
        str(fraction): impute_native_fraction(X_train, X_test, fraction, seed, quick)
        for fraction in MISSING
    }


def impute(name, X, seed, quick):
    """Part 2: imputation of the held-out rows' holes, per missing fraction."""
    X_train, X_test = split(X, seed)
    return {
        str(fraction): impute_fraction(X_train, X_test, fraction, seed, quick)
        for fraction in MISSING
    }


def synthetic(n_rows, n_numeric, n_categorical, levels=4, rank=4, seed=0):
    """A mixed table: ``n_numeric`` float columns, linear in ``rank`` latent
    factors plus noise, and ``n_categorical`` columns of ``levels`` levels,
    each the argmax of its own linear map of the same factors plus Gumbel
    noise (so the columns tell about each other)."""
    rng = np.random.RandomState(seed)
    latent = rng.standard_normal((n_rows, rank))
    numeric = latent @ rng.standard_normal((rank, n_numeric))
    numeric += 0.3 * rng.standard_normal(numeric.shape)
    X = pd.DataFrame(numeric, columns=[f"x{i}" for i in range(n_numeric)])
    for j in range(n_categorical):
        logits = latent @ rng.standard_normal((rank, levels))
        logits += rng.gumbel(size=logits.shape)
        X[f"c{j}"] = pd.Categorical(np.array(list("abcdefgh"))[logits.argmax(1)])
    return X


#: (rows, numeric columns, categorical columns of 4 levels): encoded widths
#: 24, 24, 24, 12 and 48
TIMING = (
    (5_000, 8, 4),
    (20_000, 8, 4),
    (50_000, 8, 4),
    (20_000, 4, 2),
    (20_000, 16, 8),
)


def timing(rows, n_numeric, n_categorical, quick):
    """Part 3: fit and transform times of the two imputers on one table with
    20% of its cells missing, one after the other in this process."""
    X = synthetic(rows, n_numeric, n_categorical)
    M = with_holes(X, holes_of(X, 0.2, 0))
    enc = Encoding(M)
    Z = enc.encode(M)
    out = {"rows": rows, "encoded_width": enc.width, "methods": {}}
    for method, imputer in [
        ("Iterative", IterativeImputer()),
        ("skae", skae_imputer(quick)),
    ]:
        load_before = load()
        start, cpu = time.perf_counter(), time.process_time()
        imputer.fit(Z)
        fit, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
        start = time.perf_counter()
        imputer.transform(Z)
        fitted = imputer if method == "Iterative" else imputer.estimator_
        out["methods"][method] = {
            "fit_seconds": fit,
            "fit_cpu_seconds": fit_cpu,
            "iterations": int(fitted.n_iter_),
            "transform_seconds": time.perf_counter() - start,
            "load_before": load_before,
            "load_after": load(),
        }
    return out


def cache_path(cache, part, key):
    return os.path.join(cache, f"{part}_{key}.json")


def stamp():
    """When, under what load and with which skae a result was computed."""
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load": load(),
        "skae": skae_revision(),
        "native": native_available(),
    }


PART_FUNCTIONS = {
    "recon": recon,
    "native": recon_native,
    "impute": impute,
    "impute_native": impute_native,
}


def table_job(part, name, seed, args):
    X, _, _ = load_table(name, max_rows=args.max_rows, random_state=0)
    n_numeric = sum(X[c].dtype.kind == "f" for c in X.columns)
    return {
        "table": name,
        "rows": len(X),
        "seed": seed,
        "n_numeric": int(n_numeric),
        "n_categorical": int(X.shape[1] - n_numeric),
        **PART_FUNCTIONS[part](name, X, seed, args.quick),
    }


def jobs(args):
    """(part, key, job) for each result asked for; ``native`` (the native
    reconstruction row) only where skae has it; ``impute_native`` (the
    native imputation row) with each ``impute``."""
    for part in args.parts:
        if part == "timing":
            for rows, n_num, n_cat in TIMING:
                if args.timing_rows and rows not in args.timing_rows:
                    continue
                yield (
                    part,
                    f"{rows}x{n_num}+{n_cat}",
                    (lambda r=rows, a=n_num, b=n_cat: timing(r, a, b, args.quick)),
                )
            continue
        for name in args.tables:
            for seed in args.seeds:
                key = f"{name}_seed{seed}"
                yield part, key, lambda p=part, n=name, s=seed: table_job(p, n, s, args)
                extra = {"recon": "native", "impute": "impute_native"}.get(part)
                if extra and (extra != "native" or native_available()):
                    yield (
                        extra,
                        key,
                        (lambda e=extra, n=name, s=seed: table_job(e, n, s, args)),
                    )


def run(args):
    """Run each job not already in the cache; write its result as it ends."""
    os.makedirs(args.cache, exist_ok=True)
    for part, key, job in jobs(args):
        path = cache_path(args.cache, part, key)
        if os.path.exists(path) and not args.force:
            continue
        start = stamp()
        result = {"part": part, "key": key, **job(), "start": start, "end": stamp()}
        with open(path + ".tmp", "w") as f:
            json.dump(result, f, indent=1)
        os.replace(path + ".tmp", path)
        print(f"{part} {key}: done, load {result['end']['load']}", flush=True)


def read(cache):
    results = []
    for file in sorted(os.listdir(cache)):
        if file.endswith(".json"):
            with open(os.path.join(cache, file)) as f:
                results.append(json.load(f))
    return results


def fmt(value, digits=3):
    return "–" if value is None or np.isnan(value) else f"{value:.{digits}f}"


def means(records, fraction=None):
    """{(table, method): (mean RMSE, mean accuracy, seeds)} over the seeds."""
    cells = {}
    for r in records:
        methods = r["methods"] if fraction is None else r[fraction]["methods"]
        for method, m in methods.items():
            cells.setdefault((r["table"], method), []).append(m)
    out = {}
    for key, ms in cells.items():
        rmse = [m["rmse"] for m in ms if m["rmse"] is not None]
        acc = [m["accuracy"] for m in ms if m["accuracy"] is not None]
        out[key] = (
            float(np.mean(rmse)) if rmse else None,
            float(np.mean(acc)) if acc else None,
            len(ms),
        )
    return out


def seed_wins(records, method, base, index, fraction=None):
    """'w of n seeds': the (table, seed) pairs where ``method`` beats ``base``
    on RMSE (``index`` 0, lower) or accuracy (1, higher)."""
    cells = {}
    for r in records:
        methods = r["methods"] if fraction is None else r[fraction]["methods"]
        for m, v in methods.items():
            cells[r["table"], r["seed"], m] = (v["rmse"], v["accuracy"])
    pairs = {(t, s) for t, s, m in cells if m == method}
    wins = total = 0
    for t, s in pairs:
        ours, theirs = (
            cells[t, s, method][index],
            cells.get((t, s, base), (None,) * 2)[index],
        )
        if ours is None or theirs is None:
            continue
        total += 1
        wins += ours < theirs if index == 0 else ours > theirs
    return f"{wins} of {total} (table, seed) pairs"


def goal(label, wins, total, need):
    ok = total > 0 and wins >= need
    print(f"- {'MET' if ok else 'NOT MET'}: {label}: {wins} of {total} (needs {need})")


def summary_recon(results, tables):
    records = [
        r for r in results if r["part"] in ("recon", "native") and r["table"] in tables
    ]
    if not records:
        return
    shape = {r["table"]: r for r in records if r["part"] == "recon"}
    cell = means(records)
    seeds = sorted({r["seed"] for r in records})
    print(
        f"\n### Reconstruction at k = a quarter of the encoded width (seeds {seeds})\n"
    )
    print(
        "| table | rows | num + cat | width | k | RMSE PCA | skae | native "
        "| accuracy PCA | skae | native |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for t in tables:
        if t not in shape:
            continue
        r = shape[t]
        row = [t, r["rows"], f"{r['n_numeric']} + {r['n_categorical']}"]
        row += [r["encoded_width"], r["k"]]
        row += [fmt(cell.get((t, m), (None,))[0]) for m in RECON]
        row += [fmt(cell.get((t, m), (None, None))[1]) for m in RECON]
        print("| " + " | ".join(str(x) for x in row) + " |")
    print()
    for method in ("skae", "skae native"):
        done = [t for t in tables if (t, method) in cell and (t, "PCA") in cell]
        if not done:
            print(f"- {method}: not run (skae has no categorical_features yet)")
            continue
        wins = sum(cell[t, method][0] < cell[t, "PCA"][0] for t in done)
        goal(
            f"{method} numeric RMSE below PCA's, tables (by seed: "
            f"{seed_wins(records, method, 'PCA', 0)})",
            wins,
            len(done),
            len(done),
        )
        with_cat = [t for t in done if cell[t, "PCA"][1] is not None]
        wins = sum(cell[t, method][1] > cell[t, "PCA"][1] for t in with_cat)
        goal(
            f"{method} categorical accuracy above PCA's, tables (by seed: "
            f"{seed_wins(records, method, 'PCA', 1)})",
            wins,
            len(with_cat),
            len(with_cat),
        )


def summary_impute(results, tables):
    records = [
        r
        for r in results
        if r["part"] in ("impute", "impute_native") and r["table"] in tables
    ]
    if not records:
        return
    seeds = sorted({r["seed"] for r in records})
    cells = {f: means(records, f) for f in map(str, MISSING)}
    present = [t for t in tables if any(r["table"] == t for r in records)]
    for what, index, methods in [
        ("numeric RMSE (standardised units)", 0, IMPUTERS),
        ("categorical accuracy", 1, [m for m in IMPUTERS if m != "skae (num)"]),
    ]:
        print(f"\n### Imputation, {what}, held-out rows (seeds {seeds})\n")
        print("| table | missing | " + " | ".join(methods) + " |")
        print("|---|--:|" + "--:|" * len(methods))
        for t in present:
            for f in cells:
                row = [t, f"{float(f):.0%}"]
                for m in methods:
                    row.append(fmt(cells[f].get((t, m), (None, None))[index]))
                print("| " + " | ".join(row) + " |")
    print()
    cases = [(t, f) for t in present for f in cells]
    for method in ("skae (num)", "skae (1-hot)", "skae native"):
        scored = [
            (t, f)
            for t, f in cases
            if cells[f].get((t, method), (None,))[0] is not None
        ]
        won = [
            (t, f)
            for t, f in scored
            if cells[f][t, method][0] < cells[f][t, "Iterative"][0]
        ]
        by_fraction = ", ".join(
            f"{sum(w == f for _, w in won)} of {sum(g == f for _, g in scored)} "
            f"at {float(f):.0%}"
            for f in cells
        )
        goal(
            f"{method} RMSE below IterativeImputer's, (table, fraction) cases "
            f"({by_fraction})",
            len(won),
            len(scored),
            int(np.ceil(0.75 * len(scored))),
        )
    for method in ("skae (1-hot)", "skae native"):
        scored = [
            (t, f)
            for t, f in cases
            if cells[f][t, "Simple"][1] is not None
            and cells[f].get((t, method), (None, None))[1] is not None
        ]
        wins = sum(cells[f][t, method][1] > cells[f][t, "Simple"][1] for t, f in scored)
        goal(
            f"{method} categorical accuracy above most_frequent's, cases",
            wins,
            len(scored),
            len(scored),
        )


def summary_timing(results):
    records = sorted(
        (r for r in results if r["part"] == "timing"),
        key=lambda r: (r["encoded_width"], r["rows"]),
    )
    if not records:
        return
    print("\n### Fit time, AutoencoderImputer() against IterativeImputer()\n")
    print(
        "| rows | width | Iterative fit: CPU s (wall s), rounds "
        "| skae fit: CPU s (wall s), epochs | skae / Iterative, CPU (wall) "
        "| load (start, end) | date |"
    )
    print("|--:|--:|--:|--:|--:|--:|---|")
    for r in records:
        it, ae = r["methods"]["Iterative"], r["methods"]["skae"]
        print(
            f"| {r['rows']} | {r['encoded_width']} "
            f"| {it['fit_cpu_seconds']:.1f} ({it['fit_seconds']:.1f}), "
            f"{it['iterations']} "
            f"| {ae['fit_cpu_seconds']:.1f} ({ae['fit_seconds']:.1f}), "
            f"{ae['iterations']} "
            f"| {ae['fit_cpu_seconds'] / it['fit_cpu_seconds']:.2f} "
            f"({ae['fit_seconds'] / it['fit_seconds']:.2f}) "
            f"| {it['load_before']}, {ae['load_after']} | {r['start']['date']} |"
        )
    print()
    for r in records:
        if r["rows"] == 50_000:
            it, ae = r["methods"]["Iterative"], r["methods"]["skae"]
            ratio = ae["fit_cpu_seconds"] / it["fit_cpu_seconds"]
            print(
                f"- {'MET' if ratio <= 2 else 'NOT MET'}: fit at 50k rows within "
                f"2x of IterativeImputer's (CPU time): {ratio:.2f}x, wall "
                f"{ae['fit_seconds'] / it['fit_seconds']:.2f}x "
                f"(width {r['encoded_width']})"
            )


def summary(args):
    results = read(args.cache)
    if not results:
        print(f"no results in {args.cache}")
        return
    dates = sorted(r["start"]["date"] for r in results)
    loads = [float(r[w]["load"]) for r in results for w in ("start", "end")]
    print(
        f"{len(results)} results, {dates[0]} to {dates[-1]}; load average "
        f"(1 min) {min(loads):.2f} to {max(loads):.2f}; skae "
        f"{sorted({r['start']['skae'] for r in results})}"
    )
    tables = [t for t in {**TABLES, **FRESH, **FRESH2, **FRESH3} if t in args.tables]
    summary_recon(results, tables)
    summary_impute(results, tables)
    summary_timing(results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--tables",
        nargs="+",
        choices=[*TABLES, *FRESH, *FRESH2, *FRESH3],
        default=list(TABLES),
        help="the ten TABLES by default; the held-out FRESH, FRESH2, FRESH3 by name",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--max-rows", type=int, default=2000)
    parser.add_argument(
        "--timing-rows",
        nargs="+",
        type=int,
        help="time only the synthetic tables of these many rows",
    )
    parser.add_argument(
        "--cache", help="results folder (default benchmarks/results/tables)"
    )
    parser.add_argument("--force", action="store_true", help="recompute cached results")
    parser.add_argument("--quick", action="store_true", help="3 epochs a fit (smoke)")
    parser.add_argument(
        "--native-init",
        choices=["auto", "pca", "random"],
        default="auto",
        help="the native row's init (another than auto has its own folder)",
    )
    parser.add_argument(
        "--summary", action="store_true", help="print the cache's tables"
    )
    args = parser.parse_args(argv)
    if args.cache is None:
        # a smoke run or another row cap must not mix with the run's results
        folder = "tables" if args.max_rows == 2000 else f"tables-rows{args.max_rows}"
        folder += "-quick" if args.quick else ""
        folder += "" if args.native_init == "auto" else f"-init-{args.native_init}"
        args.cache = os.path.join(HERE, "results", folder)
    global NATIVE_INIT
    NATIVE_INIT = args.native_init
    if args.summary:
        summary(args)
        return 0
    warnings.simplefilter("ignore")  # IterativeImputer's ConvergenceWarning
    describe(__doc__.split("\n")[0])
    run(args)
    summary(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
