"""What every speed benchmark prints and sets first: the machine, the library
versions, the thread count (pinned) and the load; and the generated
MNIST-like data they share."""

import os
import platform
import subprocess

import numpy as np
import sklearn
import skorch
import torch

import skae


def pin_threads(threads=None):
    """Fix torch's intra-op thread count for the whole run and return it.

    ``torch.set_num_threads`` plus ``OMP_NUM_THREADS`` in ``os.environ``: skae's
    training thread policy (``skae/_threads.py``) leaves an explicit choice
    alone, but takes a count equal to torch's default for no choice unless the
    variable is set, and would then pick its own count for skae's side only.
    ``None`` pins torch's current count.
    """
    threads = torch.get_num_threads() if threads is None else int(threads)
    torch.set_num_threads(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    return threads


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


def cpu_model():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load():
    """The 1-minute load average, or "n/a" where the OS has none."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


def describe(title):
    """Print the title, the machine, the versions, the threads and the load."""
    print(title)
    print(
        f"machine: {platform.platform()}, {cpu_model()}, "
        f"os.cpu_count()={os.cpu_count()}; load average (1 min) {load()}"
    )
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"skorch {skorch.__version__}, scikit-learn {sklearn.__version__}, "
        f"numpy {np.__version__}, skae {skae_revision()}"
    )
    print(
        f"torch threads: {torch.get_num_threads()} "
        f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')!r})"
    )


def label(passed, smoke=False):
    """A gated row's result column: PASS, FAIL, or (smoke) on a smoke run."""
    if smoke:
        return "(smoke)"
    return "PASS" if passed else "FAIL"


def verdict(ok, smoke=False):
    """Print the load and the verdict; return the exit status (0 on a smoke
    run, whose numbers are not gated)."""
    print(f"\nload average at end {load()}")
    if smoke:
        print("SMOKE RUN: not gated")
        return 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


#: Rows generated per block: the same seed gives the same first rows whatever
#: the total, so the 10k set is the start of the 200k one.
_BLOCK = 10_000


def mnist_like(n_rows, n_features=784, rank=20, noise=0.1, seed=0, out=None):
    """Pixel-like float32 rows in [0, 1]: low rank plus noise, clipped, so that
    about half the entries sit at 0 and a few at 1 (as MNIST's do).

    Generated a block of rows at a time (no float64 copy of the whole); with
    ``out`` (an array or ``np.memmap`` of shape (n_rows, n_features)) the rows
    are written into it.
    """
    rng = np.random.RandomState(seed)
    basis = rng.standard_normal((rank, n_features)).astype(np.float32)
    basis /= np.sqrt(rank)
    X = np.empty((n_rows, n_features), np.float32) if out is None else out
    for i, start in enumerate(range(0, n_rows, _BLOCK)):
        block = np.random.RandomState(seed + 1 + i)
        rows = min(_BLOCK, n_rows - start)
        codes = block.standard_normal((rows, rank)).astype(np.float32)
        values = codes @ basis * 0.35
        values += noise * block.standard_normal(values.shape).astype(np.float32)
        np.clip(values, 0.0, 1.0, out=values)
        X[start : start + rows] = values
    return X
