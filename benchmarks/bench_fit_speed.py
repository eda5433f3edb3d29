"""How much slower is ``AutoencoderTransformer.fit`` than a hand-written torch loop?

Question
--------
skae trains through skorch, whose per-batch bookkeeping (callbacks, history,
closures) can dominate the cost of a step on a small net. Does
``AutoencoderTransformer(loss="mse", weight_decay=0).fit(X)`` stay within
15 % of a minimal, competent PyTorch loop that trains the same net on the same
data, batch size and number of epochs, in the same process?

How to call it
--------------
::

    python benchmarks/bench_fit_speed.py            # full run (a few minutes)
    python benchmarks/bench_fit_speed.py --quick    # fewer repetitions
    python benchmarks/bench_fit_speed.py --threads 1   # torch.set_num_threads(1)

On a machine shared with other work, torch's default of one thread per core
can make every parallel region wait for a descheduled thread, so wall-clock
times swing by 10x or more between repetitions. ``--threads 1`` avoids that;
it also adds a "cpu ratio" column: the ratio of median ``time.thread_time``
(CPU time of the calling thread, which on one torch thread does all the work),
which other processes barely disturb.

What counts as a pass
---------------------
For every configuration marked as gated, the ratio of median wall-clock times
``skae / loop`` is at most 1.15. The script prints a table and exits with
status 1 if any gated configuration fails. One extra, ungated row ("per-sample
skorch") swaps skae's whole-tensor ``TensorBatches`` iterator for torch's
default ``DataLoader`` (per-sample ``__getitem__`` plus collation), to show what
that choice saves.

What is timed
-------------
Both sides are timed with ``time.perf_counter`` from the raw numpy array to a
trained model, interleaved (loop, skae, skae, loop, ...: the order flips each
repetition so neither side always runs second) after one short warm-up of
each; medians and minima over the repetitions are reported. The loop's
``max/min`` time is printed as "spread": far above 1 means the machine was
busy and the row should be rerun.

* skae: ``AutoencoderTransformer(..., loss="mse", weight_decay=0, max_iter=E,
  tol=0, n_iter_no_change=E, random_state=0, device="cpu").fit(X)`` -- input
  validation, normalisation, building the skorch net, training. With
  ``tol=0`` and ``n_iter_no_change=E`` it cannot stop early (checked:
  ``n_iter_ == E``); the resulting ``ConvergenceWarning`` is silenced.
* loop: the same normalisation (subtract feature means, divide by one global
  RMS, cast to float32), ``AutoencoderModule`` built with the arguments the
  estimator passes, ``Adam(lr=1e-3)`` (weight decay 0), ``MSELoss``, and per
  epoch: ``torch.randperm`` shuffle, gather each batch by index,
  ``zero_grad`` / forward / loss / ``backward`` / ``step``, and a
  ``loss.item()`` per batch to record the sample-weighted mean epoch loss
  (skorch records the same number). Seeded with the same seed skae derives
  from ``random_state=0``, inside ``torch.random.fork_rng``, like skae. Because
  both consume torch's generator in the same order, their loss curves agree;
  the table's last column shows the largest relative difference between them.
  The loop has no divergence guard, callbacks or history: whatever skae does
  per batch beyond the step itself counts against skae.

Configurations: sklearn's digits (1797 x 64) with batch sizes 32, 128 (the
default) and 512, and a generated float32 low-rank-plus-noise matrix
(20000 x 256, rank 16) with batch 128; all with the default net
``hidden_layer_sizes=(256,)``, ``n_components=8`` and 20 epochs.

Torch's thread count is left at its default unless ``--threads`` is given, and
is printed with the machine and the library versions.
"""

import argparse
import gc
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import sklearn
import skorch
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from torch.utils.data import DataLoader

import skae
from skae import AutoencoderTransformer
from skae._modules import AutoencoderModule
from skae._net import AutoencoderNet

N_COMPONENTS = 8
HIDDEN = (256,)
LR = 1e-3
RANDOM_STATE = 0
MAX_RATIO = 1.15


# ---------------------------------------------------------------- data


def digits():
    X, _ = load_digits(return_X_y=True)
    return X.astype(np.float64)


def low_rank(n_samples=20000, n_features=256, rank=16, noise=0.1, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n_samples, rank)) @ rng.standard_normal((rank, n_features))
    X += noise * rng.standard_normal((n_samples, n_features))
    return X.astype(np.float32)


# ------------------------------------------------------------ contenders


def skae_seed():
    """The seed ``AutoencoderTransformer`` derives from ``random_state``."""
    return int(np.random.RandomState(RANDOM_STATE).randint(np.iinfo(np.int32).max))


def make_estimator(cls, batch_size, epochs):
    return cls(
        n_components=N_COMPONENTS,
        hidden_layer_sizes=HIDDEN,
        loss="mse",
        weight_decay=0.0,
        batch_size=batch_size,
        learning_rate_init=LR,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs,
        random_state=RANDOM_STATE,
        device="cpu",
    )


def fit_skae(X, batch_size, epochs, cls=AutoencoderTransformer):
    est = make_estimator(cls, batch_size, epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
    assert est.n_iter_ == epochs, (est.n_iter_, epochs)
    return est.loss_curve_


def fit_loop(X, batch_size, epochs):
    """A minimal torch training loop for the same model and objective."""
    offset = X.mean(axis=0, dtype=np.float64)
    centred = X - offset
    scale = math.sqrt(float(np.mean(centred * centred, dtype=np.float64)))
    Xt = torch.from_numpy((centred / scale).astype(np.float32))
    n = len(Xt)
    curve = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(skae_seed())
        module = AutoencoderModule(
            n_features=X.shape[1],
            n_components=N_COMPONENTS,
            hidden_layer_sizes=HIDDEN,
            activation="relu",
            dropout=0.0,
        )
        criterion = torch.nn.MSELoss()
        optimizer = torch.optim.Adam(module.parameters(), lr=LR, weight_decay=0.0)
        module.train()
        for _ in range(epochs):
            order = torch.randperm(n)
            total = 0.0
            for start in range(0, n, batch_size):
                xb = Xt[order[start : start + batch_size]]
                optimizer.zero_grad()
                reconstruction, _ = module(xb)
                loss = criterion(reconstruction, xb)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(xb)
            curve.append(total / n)
    return curve


class _PerSampleNet(AutoencoderNet):
    """skorch's default data path: a ``DataLoader`` over the dataset."""

    def get_iterator(self, dataset, training=False):
        return DataLoader(dataset, batch_size=self.batch_size, shuffle=training)


class _PerSampleAutoencoder(AutoencoderTransformer):
    def _net_class(self):
        return _PerSampleNet


def fit_skae_per_sample(X, batch_size, epochs):
    return fit_skae(X, batch_size, epochs, cls=_PerSampleAutoencoder)


# ------------------------------------------------------------- timing


def skae_revision():
    """skae's version, plus the git commit of its checkout when there is one."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(skae.__file__)))
    try:
        commit = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--", "skae"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return skae.__version__
    return f"{skae.__version__} (commit {commit}{', skae/ modified' if dirty else ''})"


def timed(fn, *args):
    """Run ``fn(*args)``; return (wall seconds, thread CPU seconds, result)."""
    gc.collect()
    cpu = time.thread_time()
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, time.thread_time() - cpu, out


def compare(X, batch_size, epochs, repeats, contender):
    """Interleave loop and contender; return their times and loss curves."""
    timed(fit_loop, X, batch_size, 2)  # warm-up
    timed(contender, X, batch_size, 2)
    times = {"loop": ([], []), "skae": ([], [])}
    curves = {}
    runs = {"loop": fit_loop, "skae": contender}
    for i in range(repeats):
        # alternate who goes first, so neither always runs on a warmer cache
        for side in ("loop", "skae") if i % 2 == 0 else ("skae", "loop"):
            wall, cpu, curves[side] = timed(runs[side], X, batch_size, epochs)
            times[side][0].append(wall)
            times[side][1].append(cpu)
    return times, curves


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="3 repetitions instead of 7"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads(THREADS) first (default: leave torch's default)",
    )
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    one_thread = torch.get_num_threads() == 1

    print(__doc__.split("\n")[0])
    print(
        f"machine: {platform.platform()}, processor={platform.processor()!r}, "
        f"os.cpu_count()={os.cpu_count()}, torch threads={torch.get_num_threads()}"
    )
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"skorch {skorch.__version__}, scikit-learn {sklearn.__version__}, "
        f"skae {skae_revision()}"
    )
    print(
        f"net: AutoencoderModule(hidden_layer_sizes={HIDDEN}, "
        f"n_components={N_COMPONENTS}, relu), Adam(lr={LR}), MSELoss; "
        f"repetitions={repeats} each after a 2-epoch warm-up, interleaved"
    )
    print()

    Xd = digits()
    Xl = low_rank()
    # name, X, batch size, epochs, contender, gated
    configs = [
        ("digits", Xd, 32, 20, fit_skae, True),
        ("digits", Xd, 128, 20, fit_skae, True),
        ("digits", Xd, 512, 20, fit_skae, True),
        ("low-rank", Xl, 128, 20, fit_skae, True),
        ("digits, per-sample skorch", Xd, 128, 20, fit_skae_per_sample, False),
    ]

    header = (
        f"{'config':<26} {'n_samples':>9} {'n_feat':>6} {'batch':>5} {'epochs':>6} "
        f"{'loop med s':>10} {'skae med s':>10} {'ratio':>6} {'min ratio':>9} "
        f"{'cpu ratio':>9} {'result':>6} {'spread':>6} {'curve diff':>10}"
    )
    print(header)
    print("-" * len(header))
    failed = False
    total_start = time.perf_counter()
    for name, X, bs, epochs, contender, gated in configs:
        times, curves = compare(X, bs, epochs, repeats, contender)
        (t_loop, c_loop), (t_skae, c_skae) = times["loop"], times["skae"]
        med_loop, med_skae = statistics.median(t_loop), statistics.median(t_skae)
        ratio = med_skae / med_loop
        min_ratio = min(t_skae) / min(t_loop)
        cpu_ratio = (
            f"{statistics.median(c_skae) / statistics.median(c_loop):9.3f}"
            if one_thread
            else "-"
        )
        spread = max(t_loop) / min(t_loop)
        if gated:
            ok = ratio <= MAX_RATIO
            failed |= not ok
            result = "PASS" if ok else "FAIL"
        else:
            result = "(info)"
        diff = max(
            abs(a - b) / abs(b)
            for a, b in zip(curves["skae"], curves["loop"], strict=True)
        )
        print(
            f"{name:<26} {X.shape[0]:>9} {X.shape[1]:>6} {bs:>5} {epochs:>6} "
            f"{med_loop:>10.3f} {med_skae:>10.3f} {ratio:>6.3f} {min_ratio:>9.3f} "
            f"{cpu_ratio:>9} {result:>6} {spread:>6.2f} {diff:>10.1e}",
            flush=True,
        )
    print()
    print(
        f"ratio = median(skae) / median(loop); min ratio = min(skae) / min(loop); "
        f"pass: ratio <= {MAX_RATIO}. cpu ratio (1 thread only): the same with "
        f"time.thread_time. spread: max/min of the loop's times. curve diff: "
        f"largest relative difference between the two per-epoch loss curves. "
        f"Total {time.perf_counter() - total_start:.0f} s."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
