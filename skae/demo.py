"""skae's demo: PCA against AutoencoderTransformer on scikit-learn's digits.

Run ``python -m skae.demo``. It fits both on three quarters of the bundled
digits (1797 images of 8x8 pixels, values 0..16) and prints, on the held-out
quarter, the mean squared reconstruction error per pixel and the accuracy of a
LogisticRegression trained on the codes, for a few code widths. The header is
printed first and each row as soon as it is computed.

Its time depends on the cores, their other load and torch's threads; the
README's section "What the demo prints" gives the rows and the time of its
latest measured run, with the date and the machine.
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import AutoencoderTransformer

N_COMPONENTS = (2, 8, 16)


def _reducers(k):
    return {
        "PCA": PCA(n_components=k, random_state=0),
        "AutoencoderTransformer": AutoencoderTransformer(
            n_components=k, random_state=0
        ),
    }


def _print_now(line):
    """Print a line and flush, so each row shows as soon as it is computed."""
    print(line, flush=True)


def run(n_components=N_COMPONENTS, out=_print_now):
    """Fit and compare; print the table a row at a time and return its rows."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    out("Held-out quarter of sklearn's digits (1797 x 64, pixel values 0..16)")
    out(f"{'n_components':>12}  {'model':<24}{'recon MSE':>10}{'LR acc':>8}{'time':>8}")
    rows = []
    for k in n_components:
        for name, reducer in _reducers(k).items():
            start = time.perf_counter()
            reducer.fit(X_train)
            recon = reducer.inverse_transform(reducer.transform(X_test))
            error = float(np.mean((X_test - recon) ** 2))
            pipe = make_pipeline(
                MinMaxScaler(), _reducers(k)[name], LogisticRegression(max_iter=2000)
            )
            accuracy = pipe.fit(X_train, y_train).score(X_test, y_test)
            seconds = time.perf_counter() - start
            rows.append((k, name, error, accuracy, seconds))
            out(f"{k:>12}  {name:<24}{error:>10.3f}{accuracy:>8.3f}{seconds:>7.1f}s")
    return rows


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        run()
