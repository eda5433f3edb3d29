"""What the launcher tests share: a tiny estimator whose workers write
their weights' hash, a failing one, the data, a time limit, and the checks
on what a launcher returned.

The launchers' end-to-end tests start a local engine on loopback (Ray with
2 CPUs, ``tests/test_launch_ray.py``; Spark ``local[2]``,
``tests/test_launch_spark.py``), fit a tiny autoencoder on 2 workers with
one shard each, and check in the caller what came back: the weights every
worker ended with (a callback writes their hash to ``tmp_path`` from each
rank), rank 0's estimator, with no process group in the caller. Each engine
has its own test file, and CI runs each in its own pytest process: with a
local Ray still up in the process, its driver once crashed (a failed check
in Ray's GCS subscriber) while Spark started, and a Spark test once hung.
The workers unpickle this module's callbacks by value (each engine's
fixture registers it), since they cannot import it.
"""

import hashlib
import signal
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback

import skae

#: The longest one launch may take before the test fails instead of hanging
#: (a launch takes about 30 s on a loaded 2-core machine).
LAUNCH_TIMEOUT = 300


def weights_digest(module):
    """A hash of a module's weights and buffers."""
    state = module.state_dict()
    return hashlib.sha256(
        b"".join(state[k].cpu().numpy().tobytes() for k in sorted(state))
    ).hexdigest()


class WriteDigest(Callback):
    """At the end of training, write this rank's weights hash to
    ``folder/rank<r>.txt``."""

    def __init__(self, folder):
        self.folder = folder

    def on_train_end(self, net, **kwargs):
        rank = torch.distributed.get_rank()
        with open(f"{self.folder}/rank{rank}.txt", "w") as file:
            file.write(weights_digest(net.module_))


class FailOnRankOne(Callback):
    """Raise on rank 1 at the end of the second epoch: a worker that fails
    in the middle of the fit."""

    def on_epoch_end(self, net, **kwargs):
        if torch.distributed.get_rank() == 1 and len(net.history) == 2:
            raise ZeroDivisionError("rank 1 fails on purpose")


def failing():
    return skae.AutoencoderTransformer(
        hidden_layer_sizes=(8,), max_iter=5, callbacks=[FailOnRankOne()]
    )


def tiny(folder):
    return skae.AutoencoderTransformer(
        n_components=2,
        hidden_layer_sizes=(8,),
        max_iter=3,
        random_state=0,
        callbacks=[WriteDigest(str(folder))],
    )


def data(n=200, n_features=6, seed=0):
    rng = np.random.RandomState(seed)
    codes = rng.randn(n, 2)
    return (codes @ rng.randn(2, n_features) + 0.3 * rng.randn(n, n_features)).astype(
        np.float32
    )


@contextmanager
def time_limit(seconds):
    """Fail with a TimeoutError after ``seconds`` instead of hanging."""

    def expire(signum, frame):
        raise TimeoutError(f"the launch took over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check_returned(fitted, given, folder, X):
    """What a launcher returned is rank 0's fitted copy, the same weights as
    every worker's, usable in this process with no group."""
    with pytest.raises(NotFittedError):
        given.transform(X)  # the caller's estimator is left unfitted
    digests = {path.name: path.read_text() for path in folder.iterdir()}
    assert sorted(digests) == ["rank0.txt", "rank1.txt"]
    assert digests["rank0.txt"] == digests["rank1.txt"]
    assert weights_digest(fitted.net_.module_) == digests["rank0.txt"]
    assert fitted.strategy is None  # as the caller's estimator had it
    assert not torch.distributed.is_initialized()
    assert fitted.transform(X).shape == (len(X), 2)
    # the statistics of every worker's rows, not of rank 0's alone
    np.testing.assert_allclose(fitted.offset_, X.mean(axis=0), rtol=1e-5, atol=1e-5)


def fit_and_check(launcher, tmp_path, shards=None, **kwargs):
    """Fit the tiny autoencoder with ``launcher`` on 2 workers, by default
    on a ``.npy`` path (rows 0-99) and an array (rows 100-199), or on
    ``shards(X)``; check what came back; return it."""
    X = data()
    np.save(tmp_path / "shard0.npy", X[:100])  # a path, read by its worker
    folder = tmp_path / "digests"
    folder.mkdir()
    given = tiny(folder)
    rows = [str(tmp_path / "shard0.npy"), X[100:]] if shards is None else shards(X)
    with time_limit(LAUNCH_TIMEOUT):
        fitted = launcher(given, rows, timeout=120, **kwargs)
    check_returned(fitted, given, folder, X)
    return fitted
