"""Does ``torch.compile`` make CPU training of an MNIST-size autoencoder faster?

Question
--------
A measurement for the "measured and rejected levers" list, not a feature:
if skae compiled its module, would a CPU fit get faster, and what would the
compilation cost? A hand-written training loop trains skae's default network
shape for MNIST (784 -> 256 -> 30 -> 256 -> 784, ReLU, ``skae.nn`` MLP blocks
in skae's ``Autoencoder`` module) with ``BCEWithLogitsLoss`` and Adam, on
generated MNIST-like pixels (10000 x 784 float32 in [0, 1]), once eager and
once with ``torch.compile(module)``: the same initial weights, the same
shuffles.

How to call it
--------------
::

    python benchmarks/bench_compile.py                  # ~2 min on 2 cores
    python benchmarks/bench_compile.py --threads 1
    python benchmarks/bench_compile.py --mode max-autotune-no-cudagraphs
    python benchmarks/bench_compile.py --smoke          # does it run?

Torch's thread count is pinned (``--threads``, default: torch's default) and
printed with the machine, the versions and the load. ``--smoke``: 2000 rows
and 2 timed epochs, no measurement.

What counts as a pass
---------------------
Nothing: it is a measurement, and the script exits 0 whatever it finds. It
prints the compile time, the steady-state epoch times eager and compiled,
their ratio (below 1: compiling helps), and after how many epochs the
compile time would be paid back. If ``torch.compile`` fails here (no C++
compiler, an unsupported platform, ...), the script prints the error and
exits 0: that too is the answer for this machine.

What is timed
-------------
``time.perf_counter`` around whole epochs of the loop (shuffle with
``torch.randperm`` from a seeded generator, gather each batch by index,
``zero_grad`` / forward / loss / ``backward`` / ``step``, ``loss.item()`` per
batch), batch 128. The first epoch of each side is timed alone: the eager
one warms the allocator and kernels; the compiled one includes the
compilation of the forward and backward graphs (and a recompilation for the
epoch's last, smaller batch: 10000 = 78 x 128 + 16). Then ``--epochs`` more
epochs of each, interleaved (eager, compiled, compiled, eager, ...), medians.
Compile time = first compiled epoch - median steady compiled epoch, with a
fresh (empty) inductor cache directory: what the first compiled fit on a
machine pays (``--warm-cache`` uses inductor's default directory, as a later
process would, where kernels compiled before are reused). The two
sides' mean losses per epoch are compared (compiled kernels may round
differently, so they agree closely, not exactly).
"""

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
import traceback

import numpy as np
import torch
from _env import describe, load, mnist_like, pin_threads

from skae._modules import Autoencoder
from skae.nn import MLPDecoder, MLPEncoder

N_FEATURES = 784
HIDDEN = (256,)
N_COMPONENTS = 30
BATCH_SIZE = 128
LR = 1e-3
SEED = 0


class Side:
    """One contender: a module (eager or compiled), its optimizer and its
    shuffling generator, trained an epoch at a time."""

    def __init__(self, module, forward):
        self.module = module
        self.forward = forward
        self.optimizer = torch.optim.Adam(module.parameters(), lr=LR)
        self.generator = torch.Generator().manual_seed(SEED)
        self.criterion = torch.nn.BCEWithLogitsLoss()
        self.times, self.losses = [], []

    def epoch(self, Xt):
        n = len(Xt)
        start = time.perf_counter()
        order = torch.randperm(n, generator=self.generator)
        total = 0.0
        for lo in range(0, n, BATCH_SIZE):
            xb = Xt[order[lo : lo + BATCH_SIZE]]
            self.optimizer.zero_grad()
            logits, _ = self.forward(xb)
            loss = self.criterion(logits, xb)
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(xb)
        self.times.append(time.perf_counter() - start)
        self.losses.append(total / n)


def base_module():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        module = Autoencoder(
            MLPEncoder(HIDDEN, "relu", 0.0),
            MLPDecoder(HIDDEN[::-1], "relu", 0.0, N_FEATURES),
            N_FEATURES,
            N_COMPONENTS,
        )
    return module.train()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per side")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--mode", default=None, help="torch.compile's mode")
    parser.add_argument("--smoke", action="store_true", help="2000 rows, 2 epochs")
    parser.add_argument(
        "--warm-cache",
        action="store_true",
        help="use inductor's default cache directory (default: a fresh one)",
    )
    args = parser.parse_args(argv)
    if args.warm_cache:
        return measure(args)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache  # read at each use
        return measure(args)


def measure(args):
    rows, epochs = (2000, 2) if args.smoke else (args.rows, args.epochs)
    pin_threads(args.threads)
    describe(__doc__.split("\n")[0])
    print(
        f"net: {N_FEATURES} -> {HIDDEN} -> {N_COMPONENTS} -> {HIDDEN[::-1]} -> "
        f"{N_FEATURES}, relu, BCEWithLogitsLoss, Adam(lr={LR}), batch {BATCH_SIZE}; "
        f"{rows} rows; torch.compile(mode={args.mode!r}), "
        f"{'warm' if args.warm_cache else 'cold (fresh)'} inductor cache"
        + ("; SMOKE RUN: no measurement" if args.smoke else "")
    )
    Xt = torch.from_numpy(mnist_like(rows))
    module = base_module()
    eager = Side(module, module)
    twin = copy.deepcopy(module)
    eager.epoch(Xt)  # warm-up (and the eager side's first epoch)
    try:
        compiled = Side(twin, torch.compile(twin, mode=args.mode))
        compiled.epoch(Xt)  # compiles the forward and backward graphs
    except Exception as exc:  # noqa: BLE001 -- any failure is the answer
        lines = traceback.format_exception_only(type(exc), exc)
        print("\ntorch.compile FAILED on this machine:")
        print("".join(lines)[-3000:].rstrip())
        print(f"\nload average at end {load()}")
        return 0
    for i in range(epochs):
        for side in (eager, compiled) if i % 2 == 0 else (compiled, eager):
            side.epoch(Xt)
    steady_eager = statistics.median(eager.times[1:])
    steady_compiled = statistics.median(compiled.times[1:])
    compile_s = compiled.times[0] - steady_compiled
    gain = steady_eager - steady_compiled
    loss_diff = max(
        abs(a - b) / abs(b) for a, b in zip(compiled.losses, eager.losses, strict=True)
    )
    print()
    print("| | first epoch (s) | steady epoch, median (s) |")
    print("|---|---:|---:|")
    print(f"| eager | {eager.times[0]:.3f} | {steady_eager:.3f} |")
    print(f"| torch.compile | {compiled.times[0]:.3f} | {steady_compiled:.3f} |")
    print()
    print(f"compile time (first compiled epoch - steady one): {compile_s:.1f} s")
    print(f"steady epoch, compiled / eager: {steady_compiled / steady_eager:.3f}")
    if gain > 0:
        print(f"the compile time is paid back after {compile_s / gain:.0f} epochs")
    else:
        print("compiling does not pay back: the compiled epochs are not faster")
    print(f"largest relative difference of the per-epoch mean losses: {loss_diff:.1e}")
    print(f"per-epoch times: eager {np.round(eager.times, 3).tolist()}")
    print(f"                 compiled {np.round(compiled.times, 3).tolist()}")
    print(f"\nload average at end {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
