"""Is inference as fast as the bare network, and does fit copy the data?

Question
--------
1. Throughput: does ``AutoencoderTransformer.transform`` on 100k rows of
   784 float32 features run within 1.3x of the bare encoder's forward pass
   (the torch module applied to the same, already normalised, float32 tensor
   in one call, under ``torch.no_grad``)? ``PCA(30).transform`` on the same
   rows is printed for scale.
2. Memory: fitting on 200k x 784 float32 (627 MB), how much does the
   process's peak resident memory grow above what it held before ``fit``
   (the data included)? The bar: under 2x the data's size -- no float64
   copy of X, no copy per epoch. The peak is the kernel's VmHWM, reset just
   before ``fit`` through ``/proc/self/clear_refs`` (Linux only).

How to call it
--------------
::

    python benchmarks/bench_transform_memory.py

What counts as a pass
---------------------
transform / bare forward <= 1.3 (median of 11 timings each, interleaved),
and peak growth during fit < 2x the data's size. Exit status 1 otherwise.
"""

import statistics
import sys
import time
import warnings

import numpy as np
import torch
from _proc import status_kb
from sklearn.decomposition import PCA

from skae import AutoencoderTransformer

N_FEATURES = 784
N_COMPONENTS = 30


def throughput(n_rows=100_000, repeats=11):
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 255, size=(n_rows, N_FEATURES)).astype(np.float32)
    model = AutoencoderTransformer(N_COMPONENTS, max_iter=2, random_state=0)
    model.fit(X[:5000])
    pca = PCA(N_COMPONENTS, random_state=0).fit(X[:5000])
    module = model.net_.module_.eval()
    Xn = torch.from_numpy(((X - model.offset_) / model.scale_).astype(np.float32))

    def bare():
        with torch.no_grad():
            return module.encode(Xn)

    timings = {"skae transform": [], "bare encoder forward": [], "PCA transform": []}
    calls = {
        "skae transform": lambda: model.transform(X),
        "bare encoder forward": bare,
        "PCA transform": lambda: pca.transform(X),
    }
    for fn in calls.values():
        fn()  # warm-up
    for _ in range(repeats):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn()
            timings[name].append(time.perf_counter() - start)
    np.testing.assert_allclose(model.transform(X), bare().numpy(), rtol=1e-4, atol=1e-4)
    medians = {name: statistics.median(t) for name, t in timings.items()}
    print(f"transform throughput, {n_rows} x {N_FEATURES} float32, median of {repeats}")
    for name, seconds in medians.items():
        print(f"  {name:22s} {seconds:7.3f} s  {n_rows / seconds:12,.0f} rows/s")
    ratio = medians["skae transform"] / medians["bare encoder forward"]
    print(f"  skae / bare forward: {ratio:.3f} (bar 1.3)")
    return ratio <= 1.3


def peak_memory(n_rows=200_000):
    X = np.random.RandomState(0).uniform(0, 255, size=(n_rows, N_FEATURES))
    X = X.astype(np.float32)
    model = AutoencoderTransformer(N_COMPONENTS, max_iter=2, random_state=0)
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset the peak (VmHWM) to the current RSS
    before = status_kb("VmRSS")
    start = time.perf_counter()
    model.fit(X)
    seconds = time.perf_counter() - start
    growth = (status_kb("VmHWM") - before) * 1024
    print(
        f"fit on {n_rows} x {N_FEATURES} float32 ({X.nbytes / 2**20:.0f} MiB), "
        f"{model.n_iter_} epochs, {seconds:.1f} s: peak RSS grew by "
        f"{growth / 2**20:.0f} MiB = {growth / X.nbytes:.2f} x the data (bar 2)"
    )
    return growth < 2 * X.nbytes


def main():
    warnings.simplefilter("ignore")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    ok = throughput()
    ok &= peak_memory()
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
