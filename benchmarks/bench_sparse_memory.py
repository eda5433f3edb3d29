"""Does fitting on a large sparse matrix stay far below its dense size?

Question
--------
``fit`` on a 20 000 x 50 000 scipy.sparse CSR matrix at 0.1% density
(TF-IDF-like) must densify one batch at a time. How much does the process's
peak resident memory (VmHWM, reset through ``/proc/self/clear_refs`` just
before ``fit``; Linux only) grow during ``fit`` and a ``transform``, against
the matrix's dense float32 size (4 GB)?

How to call it
--------------
::

    python benchmarks/bench_sparse_memory.py

The same fit on a tenth of the rows, in a fresh process, separates what
grows with the data from what the network itself takes (weights, gradients,
Adam's moments and its temporaries do not depend on the number of rows).

What counts as a pass
---------------------
Peak growth below 1/4 of the dense float32 size, and the part that grows with
the rows (the difference between the two runs) below 1/20 of it. Exit status
1 otherwise.
"""

import json
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from _proc import run_fresh, status_kb

from skae import AutoencoderTransformer


def measure(n_samples, n_features=50_000, density=1e-3):
    """Fit and transform in this process; print and return the figures."""
    warnings.simplefilter("ignore")
    X = sp.random(
        n_samples,
        n_features,
        density=density,
        format="csr",
        # a Generator draws the positions without a 1e9-long permutation
        random_state=np.random.default_rng(0),
        dtype=np.float32,
    )
    dense_bytes = n_samples * n_features * 4
    model = AutoencoderTransformer(30, max_iter=1, random_state=0)
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = status_kb("VmRSS")
    start = time.perf_counter()
    model.fit(X)
    fit_seconds = time.perf_counter() - start
    codes = model.transform(X)
    growth = (status_kb("VmHWM") - before) * 1024
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(
        f"{n_samples} x {n_features} CSR, density {density:g} ({X.nnz} stored, "
        f"{(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20:.0f} MiB); "
        f"dense float32 would be {dense_bytes / 2**30:.2f} GiB"
    )
    print(
        f"fit (1 epoch, loss_={model.loss_!r}) {fit_seconds:.1f} s, transform -> "
        f"{codes.shape}; peak RSS grew by {growth / 2**20:.0f} MiB = "
        f"{growth / dense_bytes:.3f} x the dense size (bar 0.25)"
    )
    n_params = sum(p.numel() for p in model.net_.module_.parameters())
    print(
        f"the net itself: {n_params / 1e6:.1f}M parameters = "
        f"{n_params * 4 / 2**20:.0f} MiB; weights, gradients and Adam's two "
        f"moments during fit: {4 * n_params * 4 / 2**20:.0f} MiB of the growth"
    )
    return {"growth": growth, "dense_bytes": dense_bytes}


def main(n_samples=20_000):
    runs = {}
    for rows in (n_samples, n_samples // 10):
        out = run_fresh(__file__, "--measure", rows)
        print(out.rsplit("\n", 2)[0])
        runs[rows] = json.loads(out.rsplit("\n", 2)[1])
    big, small = runs[n_samples], runs[n_samples // 10]
    with_rows = big["growth"] - small["growth"]
    print(
        f"growth with {n_samples} rows minus growth with {n_samples // 10}: "
        f"{with_rows / 2**20:.0f} MiB = {with_rows / big['dense_bytes']:.3f} x "
        f"the dense size of the {n_samples} rows (bar 0.05)"
    )
    ok = big["growth"] < big["dense_bytes"] / 4 and with_rows < big["dense_bytes"] / 20
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(int(sys.argv[2]))))
    else:
        sys.exit(main())
