"""Does fit time grow linearly with the rows, and partial_fit memory with the chunk?

Question
--------
1. Time: is the cost of ``AutoencoderTransformer.fit`` per row and per epoch
   the same at 10k, 50k and 200k rows of 784 float32 features (generated
   MNIST-like pixels in [0, 1], ``loss="bce"``, ``n_components=30``,
   ``hidden_layer_sizes=(256,)``, batch 128)? Shuffled mini-batches gathered
   from a 627 MB array touch memory at random, which could make the big fit
   slower per row than the small one.
2. Memory: training over a 200k x 784 float32 ``np.memmap`` (627 MB on
   disk) with ``partial_fit``, one chunk at a time, does the process's peak
   resident memory stay bounded by about one chunk plus the model, whatever
   the number of chunks? Compared with ``fit`` on the whole array in memory.

How to call it
--------------
::

    python benchmarks/bench_scaling.py                 # ~7 min on 2 cores
    python benchmarks/bench_scaling.py --plot          # and write the figures
    python benchmarks/bench_scaling.py --part time --threads 1
    python benchmarks/bench_scaling.py --smoke --plot --plot-dir /tmp

``--plot`` writes ``docs/images/scaling_fit_time.png`` and
``docs/images/scaling_memory.png`` (or into ``--plot-dir``; needs matplotlib).
``--smoke`` checks that the script runs on small data (2k, 5k and 10k rows,
one epoch, one repetition; a 20k-row memmap): its numbers are no measurement
and are not gated. Torch's thread count is pinned (``--threads``, default:
torch's default) and printed with the machine, the versions and the load.
Linux only (``/proc``).

What counts as a pass
---------------------
1. Linear within 10 %: the seconds per 1000 rows per epoch at 50k and at
   200k rows are each within 10 % (either way) of the figure at 10k.
2. Bounded memory: the peak resident memory growth of ``partial_fit`` over
   10 chunks of the memmap, each chunk passed as a slice of the memmap and,
   separately, read into memory first (``np.array(chunk)``), is at most
   ``3 x one chunk's float32 size + 4 x the model's parameter bytes (weights,
   gradients, Adam's two moments) + 64 MiB`` (temporaries that do not grow
   with the chunk: skae computes statistics 8192 rows at a time, in float64,
   49 MiB at 784 columns). 10 chunks of 200k rows: 188 + 7 + 64 = 259 MiB,
   against 627 MiB of data. The growth at 5 and 20 chunks is printed (and
   plotted against the chunk size) to show that it follows the chunk, not
   the data. An extra, ungated row collects Python's cyclic garbage
   (``gc.collect()``) after each ``partial_fit`` call, to tell memory skae
   holds from garbage not yet collected.

Exit status 1 when a goal fails.

What is timed
-------------
1. ``time.perf_counter`` around ``fit(X[:n])`` (validation, normalisation,
   building the net, training), ``max_iter=E`` epochs (3 by default) with
   ``tol=0`` and ``n_iter_no_change=E`` so that it cannot stop early
   (checked); the sizes interleaved (the order reversed every other round),
   median of ``--repeats`` (3). The "epochs only" column is the sum of
   skorch's per-epoch durations (``history[:, "dur"]``), without the fixed
   costs around training.
2. Each memory measurement runs in a fresh subprocess, so that its peak
   (VmHWM) is its own. The subprocess first fits a 256-row model once (torch's
   one-time allocations: thread pools, kernels), then resets the peak to the
   current resident size (``/proc/self/clear_refs``) and measures
   ``VmHWM - VmRSS before``. For ``partial_fit`` each chunk is read through a
   fresh ``np.memmap`` of the file, unmapped after its call: resident
   file-backed pages count in VmHWM while they are mapped, so one mapping
   kept over all chunks would show the whole file however little skae
   copies. For ``fit`` the whole array is read into memory before the
   baseline (the data themselves are not counted) and trained for one epoch,
   the same pass over the data as ``partial_fit``'s 10 chunks.
"""

import argparse
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _env import describe, label, mnist_like, pin_threads, verdict
from _proc import status_kb
from sklearn.exceptions import ConvergenceWarning

from skae import AutoencoderTransformer

N_FEATURES = 784
N_COMPONENTS = 30
BATCH_SIZE = 128
LINEAR_TOL = 0.10
#: the partial_fit bound: CHUNK_FACTOR x one chunk + 4 x parameter bytes + SLACK
CHUNK_FACTOR = 3
SLACK = 64 * 2**20
GATED_CHUNKS = 10
GATED = ("partial_fit, memmap", "partial_fit, read")
MiB = 2**20
IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"


def estimator(epochs):
    return AutoencoderTransformer(
        n_components=N_COMPONENTS,
        loss="bce",
        # the net and rate of the published figures (the defaults until
        # learning_rate="one_cycle" came): per-row cost, not quality
        hidden_layer_sizes=(256,),
        dropout=0.0,
        learning_rate="constant",
        learning_rate_init=1e-3,
        batch_size=BATCH_SIZE,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs,
        random_state=0,
        device="cpu",
    )


# --------------------------------------------------------------- part 1


def fit_time(X, epochs):
    """(wall seconds of fit, seconds of its epochs alone)."""
    model = estimator(epochs)
    gc.collect()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    seconds = time.perf_counter() - start
    assert model.n_iter_ == epochs, (model.n_iter_, epochs)
    return seconds, float(sum(model.net_.history[:, "dur"]))


def time_part(sizes, epochs, repeats, smoke=False):
    print(
        f"\n## Fit time against rows: {N_FEATURES} float32 features, {epochs} "
        f"epochs, batch {BATCH_SIZE}, median of {repeats} (sizes interleaved)\n"
    )
    X = mnist_like(max(sizes))
    fit_time(X[:1000], 1)  # warm-up
    times = {n: ([], []) for n in sizes}
    for i in range(repeats):
        for n in sizes if i % 2 == 0 else sizes[::-1]:
            wall, epochs_only = fit_time(X[:n], epochs)
            times[n][0].append(wall)
            times[n][1].append(epochs_only)
    print(
        "| rows | fit (s) | epochs only (s) | s / 1000 rows / epoch "
        "| epochs only | vs smallest | result |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|")
    base = None
    ok = True
    results = []
    for n in sizes:
        wall, only = (statistics.median(t) for t in times[n])
        cost, cost_only = (t / (n / 1000) / epochs for t in (wall, only))
        base = base or cost
        ratio = cost / base
        verdict = "-"
        if n != sizes[0]:
            passed = abs(ratio - 1) <= LINEAR_TOL
            ok &= passed
            verdict = label(passed, smoke)
        results.append(dict(rows=n, seconds=wall, cost=cost, cost_only=cost_only))
        print(
            f"| {n} | {wall:.2f} | {only:.2f} | {cost:.4f} | {cost_only:.4f} "
            f"| {ratio:.3f} | {verdict} |",
            flush=True,
        )
    print(
        f"\nGoal: every 's / 1000 rows / epoch' within {LINEAR_TOL:.0%} of the first."
    )
    return ok, results


# --------------------------------------------------------------- part 2


def child(args):
    """One memory measurement, in this fresh process; prints a JSON line."""
    warnings.simplefilter("ignore")
    shape = (args.rows, N_FEATURES)
    warm = np.random.RandomState(0).rand(256, N_FEATURES).astype(np.float32)
    estimator(1).fit(warm)  # torch's one-time allocations, before the baseline
    X = (
        np.fromfile(args.path, np.float32).reshape(shape)
        if args.child == "fit"
        else None
    )
    gc.collect()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset the peak (VmHWM) to the current RSS
    before = status_kb("VmRSS")
    start = time.perf_counter()
    model = estimator(1)
    if args.child == "fit":
        model.fit(X)
    else:
        bounds = np.linspace(0, args.rows, args.chunks + 1).astype(int)
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            data = np.memmap(args.path, np.float32, "r", shape=shape)
            chunk = data[lo:hi]
            if args.child == "partial_fit, read":
                chunk = np.array(chunk)
            # a slice keeps the mapping alive, a copy lets it go: either
            # way it is unmapped once the chunk is dropped
            del data
            model.partial_fit(chunk)
            del chunk
            if args.child.endswith("gc.collect()"):
                gc.collect()
    seconds = time.perf_counter() - start
    growth = (status_kb("VmHWM") - before) * 1024
    params = sum(p.numel() for p in model.net_.module_.parameters())
    print(json.dumps(dict(growth=growth, seconds=seconds, params=params)))


def measure(kind, path, rows, chunks, threads):
    command = [sys.executable, __file__, "--child", kind, "--path", path]
    command += ["--rows", str(rows), "--chunks", str(chunks), "--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def memory_part(rows, threads, smoke=False):
    data_bytes = rows * N_FEATURES * 4
    print(
        f"\n## Peak memory: partial_fit over chunks of a {rows} x {N_FEATURES} "
        f"float32 memmap ({data_bytes / MiB:.0f} MiB), against fit (one epoch each, "
        "each run in a fresh process)\n"
    )
    runs = [("partial_fit, memmap", c) for c in (20, GATED_CHUNKS, 5)]
    runs += [
        ("partial_fit, read", GATED_CHUNKS),
        ("partial_fit, memmap, gc.collect()", GATED_CHUNKS),
        ("fit", 1),
    ]
    print(
        "| call | chunks | chunk (MiB) | time (s) | peak growth (MiB) | in chunks "
        "| bound (MiB) | result |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    ok = True
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "X.f32")
        mnist_like(
            rows, out=np.memmap(path, np.float32, "w+", shape=(rows, N_FEATURES))
        )
        for kind, chunks in runs:
            out = measure(kind, path, rows, chunks, threads)
            chunk = math.ceil(rows / chunks) * N_FEATURES * 4
            bound = CHUNK_FACTOR * chunk + 4 * 4 * out["params"] + SLACK
            verdict, bound_text = "(info)", "-"
            if kind in GATED and chunks == GATED_CHUNKS:
                passed = out["growth"] <= bound
                ok &= passed
                verdict, bound_text = label(passed, smoke), f"{bound / MiB:.0f}"
            results.append(
                dict(
                    kind=kind, rows=rows, chunks=chunks, chunk=chunk, bound=bound, **out
                )
            )
            print(
                f"| {kind} | {chunks} | {chunk / MiB:.0f} | {out['seconds']:.1f} "
                f"| {out['growth'] / MiB:.0f} | {out['growth'] / chunk:.2f} "
                f"| {bound_text} | {verdict} |",
                flush=True,
            )
    print(
        f"\nBound ({GATED_CHUNKS} chunks): {CHUNK_FACTOR} x chunk + 4 x parameter "
        f"bytes + {SLACK // MiB} MiB. 'in chunks': peak growth / chunk size."
    )
    return ok, results


# ----------------------------------------------------------------- plots


#: single-point memory runs: marker, legend label
MARKERS = {
    "partial_fit, read": ("s", "partial_fit, chunks read into memory"),
    "partial_fit, memmap, gc.collect()": (
        "^",
        "partial_fit, memmap, gc.collect() after each call",
    ),
}


def plot(times, memory, directory):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    if times:
        rows = np.array([r["rows"] for r in times])
        k = rows / 1000
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        seconds = np.array([r["seconds"] for r in times])
        left.plot(k, seconds, "o-", label="skae fit (median)")
        left.plot(
            k,
            seconds[0] * rows / rows[0],
            "--",
            color="grey",
            label=f"linear from {k[0]:g}k rows",
        )
        left.set(
            xlabel="training rows (thousands)",
            ylabel="fit time (s)",
            title="Fit time against rows",
        )
        left.legend()
        cost = np.array([r["cost"] for r in times]) * 1000
        right.plot(k, cost, "o-", label="whole fit")
        right.plot(
            k,
            np.array([r["cost_only"] for r in times]) * 1000,
            "s-",
            label="epochs only",
        )
        right.axhspan(
            cost[0] * (1 - LINEAR_TOL),
            cost[0] * (1 + LINEAR_TOL),
            color="green",
            alpha=0.15,
            label=f"goal: ±{LINEAR_TOL:.0%}",
        )
        right.set(
            xlabel="training rows (thousands)",
            ylabel="ms per 1000 rows per epoch",
            title="Cost per row",
            ylim=(0, 1.4 * max(cost)),
        )
        right.legend()
        fig.suptitle(
            f"{N_FEATURES} float32 features, batch {BATCH_SIZE}, "
            f"{torch.get_num_threads()} torch thread(s)"
        )
        fig.tight_layout()
        written.append(directory / "scaling_fit_time.png")
        fig.savefig(written[-1], dpi=120)
    if memory:
        fig, ax = plt.subplots(figsize=(8, 6))
        sweep = [r for r in memory if r["kind"] == "partial_fit, memmap"]
        chunk = np.array([r["chunk"] for r in sweep]) / MiB
        ax.plot(
            chunk,
            [r["growth"] / MiB for r in sweep],
            "o-",
            label="partial_fit, chunks sliced from the memmap",
        )
        for r in sweep:
            ax.annotate(
                f"{r['chunks']} chunks",
                (r["chunk"] / MiB, r["growth"] / MiB),
                textcoords="offset points",
                xytext=(6, 6),
                fontsize=8,
            )
        for r in memory:
            if r["kind"] in MARKERS:
                marker, label = MARKERS[r["kind"]]
                ax.plot(
                    r["chunk"] / MiB,
                    r["growth"] / MiB,
                    marker,
                    markersize=8,
                    label=label,
                )
            if r["kind"] == "fit":
                ax.axhline(
                    r["growth"] / MiB,
                    color="red",
                    linestyle=":",
                    label="fit on the whole array (in memory)",
                )
        ax.plot(
            chunk,
            [r["bound"] / MiB for r in sweep],
            "--",
            color="grey",
            label=f"bound: {CHUNK_FACTOR} × chunk + model + {SLACK // MiB} MiB",
        )
        ax.plot(chunk, chunk, ":", color="black", label="1 × chunk")
        ax.set(
            xlabel="chunk size (MiB of float32)",
            ylabel="peak RSS growth (MiB)",
            title=f"Peak memory of one pass over {memory[0]['rows']:,} rows x "
            f"{N_FEATURES} float32, one fresh process per point",
            ylim=(0, None),
            xlim=(0, None),
        )
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
        fig.tight_layout()
        written.append(directory / "scaling_memory.png")
        fig.savefig(written[-1], dpi=120)
    for path in written:
        print(f"wrote {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("time", "memory", "all"), default="all")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="check that it runs: small data, 1 epoch; not gated",
    )
    parser.add_argument("--plot", action="store_true", help="write the two figures")
    parser.add_argument("--plot-dir", type=Path, default=IMAGES)
    # a memory measurement in a fresh process (used by the script itself)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--chunks", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    threads = pin_threads(args.threads)
    if args.child:
        return child(args)
    describe(__doc__.split("\n")[0])
    if args.smoke:
        print("SMOKE RUN: small data, the results are not gated")
        sizes, epochs, repeats, memmap_rows = (2_000, 5_000, 10_000), 1, 1, 20_000
    else:
        sizes, epochs, repeats = (10_000, 50_000, 200_000), args.epochs, args.repeats
        memmap_rows = 200_000
    ok, times, memory = True, None, None
    if args.part in ("time", "all"):
        passed, times = time_part(sizes, epochs, repeats, args.smoke)
        ok &= passed
    if args.part in ("memory", "all"):
        passed, memory = memory_part(memmap_rows, threads, args.smoke)
        ok &= passed
    if args.plot:
        plot(times, memory, args.plot_dir)
    return verdict(ok, args.smoke)


if __name__ == "__main__":
    sys.exit(main())
