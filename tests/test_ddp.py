"""Data-parallel training (``strategy="ddp"``) on 2 CPU processes.

The tests launch ``python -m torch.distributed.run --standalone
--nproc_per_node=2`` (a free port of its own, loopback only, gloo) on a
script written to a temporary folder: one launch for the training
scenarios (fit, early stopping, partial_fit), one for the failures. Every
rank writes what it saw to JSON files, and the tests (in a process without
a group) read them and the pickled estimators. The rank scripts start with
:data:`PRELUDE`. Tiny data and nets: the launches, with their imports of
torch, are most of the time.
"""

import inspect
import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

import skae

#: The directory holding the skae package under test (the rank processes
#: import this one, not another installed copy).
ROOT = Path(skae.__file__).resolve().parent.parent

#: The longest a launch may take before the test fails (not hangs).
LAUNCH_TIMEOUT = 150


def data(n=400, n_features=8, seed=0):
    """Rows near a 2-dimensional plane, in 8 dimensions."""
    rng = np.random.RandomState(seed)
    codes = rng.randn(n, 2)
    return codes @ rng.randn(2, n_features) + 0.3 * rng.randn(n, n_features)


PRELUDE = (
    """
import datetime, hashlib, json, os, pickle, sys, time
import numpy as np
import torch
import torch.distributed as dist
import skae

OUT = sys.argv[1]

"""
    + inspect.getsource(data)
    + """

def digest(est):  # a hash of the fitted module's weights and buffers
    state = est.net_.module_.state_dict()
    return hashlib.sha256(
        b"".join(state[k].cpu().numpy().tobytes() for k in sorted(state))
    ).hexdigest()


def error(est, X):  # the mean squared reconstruction error, in X's units
    return float(-est.score(X))


def report(name, **values):
    with open(f"{OUT}/{name}_rank{dist.get_rank()}.json", "w") as f:
        json.dump(values, f)
"""
)


def launch(tmp_path, body, timeout=LAUNCH_TIMEOUT, nproc=2):
    """Run ``PRELUDE + body`` on ``nproc`` processes; the finished process."""
    script = tmp_path / "ranks.py"
    script.write_text(PRELUDE + textwrap.dedent(body))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "GLOO_SOCKET_IFNAME": "lo",
        "PYTHONWARNINGS": "ignore",
    }
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={nproc}",
            str(script),
            str(tmp_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def reports(tmp_path, name, proc):
    """The two ranks' JSON reports of ``name``; a failure shows the output."""
    found = []
    for rank in (0, 1):
        path = tmp_path / f"{name}_rank{rank}.json"
        assert path.exists(), (
            f"rank {rank} wrote no {name!r}:\n{proc.stdout}\n{proc.stderr[:6000]}"
        )
        found.append(json.loads(path.read_text()))
    return found


# ------------------------------------------------------------------ fit


FIT = """
X = data()
# no init_process_group here: fit starts the group from torchrun's env
settings = dict(
    hidden_layer_sizes=(16,), max_iter=30, learning_rate_init=1e-2, dropout=0.0,
    random_state=0, device="cpu",
)
est = skae.AutoencoderTransformer(2, batch_size=16, strategy="ddp", **settings)
est.fit(X[int(os.environ["RANK"]) :: 2])  # each rank half the rows
rank, world = dist.get_rank(), dist.get_world_size()
digests = [None] * world
dist.all_gather_object(digests, digest(est))
single = None
if rank == 0:
    # one process, all rows, the same epochs and the same rows per step
    single = error(skae.AutoencoderTransformer(2, batch_size=32, **settings).fit(X), X)
    with open(f"{OUT}/fitted.pkl", "wb") as f:
        pickle.dump(est, f)
    skae.save(est, f"{OUT}/model")
# uneven shards under the one-cycle schedule: every rank makes the steps
# of the rank with the most rows, on one schedule
uneven = skae.AutoencoderTransformer(
    2, batch_size=16, strategy="ddp", **{**settings, "max_iter": 5}
).fit(X[:150] if os.environ["RANK"] == "0" else X[150:])
uneven_digests = [None] * world
dist.all_gather_object(uneven_digests, digest(uneven))
report(
    "fit", digests=digests, error=error(est, X), single=single,
    uneven_digests=uneven_digests,
    uneven_steps=uneven.net_.history[-1]["train_batch_count"],
    offset=est.offset_.tolist(), scale=est.scale_,
    n_samples_seen=est.n_samples_seen_, n_iter=est.n_iter_,
    loss_curve=est.loss_curve_, codes=est.transform(X[:5]).tolist(),
    has_group=est.net_.ranks_ is not None,
)
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One launch for the three scenarios of training (the launches, with
    their imports of torch, are most of the time): its folder and process."""
    folder = tmp_path_factory.mktemp("ddp")
    return folder, launch(folder, FIT + EARLY_STOPPING + PARTIAL_FIT)


def test_fit_on_two_ranks_is_one_model(trained):
    tmp_path, proc = trained
    first, second = reports(tmp_path, "fit", proc)
    assert proc.returncode == 0, proc.stderr[-4000:]
    # every rank holds the same fitted estimator
    assert first["digests"][0] == first["digests"][1]
    assert first["loss_curve"] == second["loss_curve"]
    assert first["codes"] == second["codes"]
    assert first["n_samples_seen"] == second["n_samples_seen"] == 400
    assert first["n_iter"] == 30
    # the normalisation of all the rows, from each rank's own statistics
    X = data()
    np.testing.assert_allclose(first["offset"], X.mean(axis=0), rtol=1e-12)
    centred = X - X.mean(axis=0)
    assert first["scale"] == pytest.approx(np.sqrt(np.mean(centred**2)), rel=1e-12)
    assert first["uneven_digests"][0] == first["uneven_digests"][1]
    # 250 rows in batches of 16 on rank 1: 16 steps an epoch on both ranks
    assert first["uneven_steps"] == second["uneven_steps"] == 16
    assert not first["has_group"] and not second["has_group"]
    # as good as one process on all the rows
    assert abs(first["error"] - first["single"]) <= 0.1 * first["single"]
    assert first["error"] == second["error"]
    # a plain estimator in this process, which has no group
    assert not torch.distributed.is_initialized()
    with open(tmp_path / "fitted.pkl", "rb") as f:
        fitted = pickle.load(f)
    np.testing.assert_array_equal(fitted.transform(X[:5]), first["codes"])
    loaded = skae.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.transform(X[:5]), first["codes"], rtol=1e-6)


EARLY_STOPPING = """
rank = dist.get_rank()
X = data()
rows = X[:260] if rank == 0 else X[260:]  # uneven shards: unequal local scores
common = dict(
    hidden_layer_sizes=(16,), max_iter=60, early_stopping=True,
    validation_fraction=0.2, n_iter_no_change=3, tol=1e-3, dropout=0.0,
    learning_rate="constant", learning_rate_init=1e-2, random_state=0,
    device="cpu",
)
for name, cls, extra in [
    ("vae", skae.VAETransformer, dict(beta=0.1)),
    ("sparse", skae.SparseAutoencoder, dict(alpha=0.01)),
]:
    est = cls(2, batch_size=16, strategy="ddp", **common, **extra).fit(rows)
    digests = [None] * 2
    dist.all_gather_object(digests, digest(est))
    single = None
    if rank == 0:
        single = error(cls(2, batch_size=32, **common, **extra).fit(X), X)
        with open(f"{OUT}/{name}.pkl", "wb") as f:
            pickle.dump(est, f)
    report(
        name, digests=digests, error=error(est, X), single=single,
        n_iter=est.n_iter_, scores=est.validation_scores_,
        codes=est.transform(X[:5]).tolist(),
    )
"""


def test_early_stopping_is_agreed(trained):
    tmp_path, proc = trained
    for name in ("vae", "sparse"):
        first, second = reports(tmp_path, name, proc)
        assert first["digests"][0] == first["digests"][1], name
        # one held-out score over both ranks' rows, one stopping epoch
        assert first["scores"] == second["scores"], name
        assert first["n_iter"] == second["n_iter"] < 60, name
        assert abs(first["error"] - first["single"]) <= 0.1 * first["single"], name
        with open(tmp_path / f"{name}.pkl", "rb") as f:
            fitted = pickle.load(f)
        np.testing.assert_array_equal(fitted.transform(data()[:5]), first["codes"])
    assert proc.returncode == 0, proc.stderr[-4000:]


PARTIAL_FIT = """
rank = dist.get_rank()
X = data(480)
rows = X[rank::2]
chunks = np.array_split(rows, 4)
est = skae.SparseAutoencoder(
    2, hidden_layer_sizes=(16,), batch_size=10, alpha=0.01, dropout=0.0,
    learning_rate_init=1e-2, random_state=0, strategy="ddp", device="cpu",
)
for epoch in range(6):
    for chunk in chunks:
        est.partial_fit(chunk)
digests = [None] * 2
dist.all_gather_object(digests, digest(est))
single = None
if rank == 0:
    one = skae.SparseAutoencoder(
        2, hidden_layer_sizes=(16,), batch_size=20, alpha=0.01, dropout=0.0,
        learning_rate_init=1e-2, random_state=0, device="cpu",
    )
    both = np.array_split(X, 4)
    for epoch in range(6):
        for chunk in both:
            one.partial_fit(chunk)
    single = error(one, X)
report(
    "partial", digests=digests, error=error(est, X), single=single,
    n_samples_seen=est.n_samples_seen_, n_iter=est.n_iter_,
)
dist.destroy_process_group()
"""


def test_partial_fit_on_two_ranks(trained):
    tmp_path, proc = trained
    first, second = reports(tmp_path, "partial", proc)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert first["digests"][0] == first["digests"][1]
    assert first["n_samples_seen"] == second["n_samples_seen"] == 6 * 480
    assert first["n_iter"] == second["n_iter"] == 24
    assert abs(first["error"] - first["single"]) <= 0.1 * first["single"]


# ------------------------------------------------------------- failures


FAILURES = """
from skorch.callbacks import Callback

dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=5))
rank = dist.get_rank()
X = data()
rows = X[rank::2]
small = dict(
    hidden_layer_sizes=(8,), max_iter=6, random_state=0, strategy="ddp", device="cpu"
)


def attempt(name, est, X):
    start = time.time()
    try:
        est.fit(X)
        outcome = dict(error=None)
    except Exception as exc:
        outcome = dict(error=type(exc).__name__, message=str(exc))
    report(name, fitted=hasattr(est, "net_"), seconds=time.time() - start, **outcome)


# one rank's rows are bad: every rank raises before training
bad = rows.copy()
if rank == 1:
    bad[3, 2] = np.nan
attempt("nan", skae.AutoencoderTransformer(2, **small), bad)
# the ranks' parameters differ
differs = skae.AutoencoderTransformer(2, batch_size=16 * (rank + 1), **small)
attempt("params", differs, rows)
# the group is still usable: a fit now succeeds
attempt("after", skae.AutoencoderTransformer(2, **small), rows)


class NaNOnRank1(torch.nn.Module):
    # an encoder whose fifth training batch on rank 1 is NaN
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(8, 8)
        self.calls = 0

    def forward(self, x):
        self.calls += self.training
        out = torch.relu(self.linear(x))
        if self.training and dist.get_rank() == 1 and self.calls == 5:
            out = out * float("nan")
        return out


# a loss that turns NaN on one rank: every rank raises at the epoch's end
attempt("nan_loss", skae.AutoencoderTransformer(2, encoder=NaNOnRank1(), **small), rows)


class Boom(Callback):
    def on_train_begin(self, net, **kwargs):
        self.epochs_ = 0

    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1
        if dist.get_rank() == 1 and self.epochs_ == 3:
            raise ValueError("boom on rank 1")


fitted = skae.AutoencoderTransformer(2, **small).fit(rows)
before = digest(fitted)
fitted.set_params(warm_start=True, callbacks=[Boom()])
# rank 1 raises in its third epoch and stays alive: rank 0 waits for the
# group's timeout (5 s), then raises
attempt("midfit", fitted, rows)
report("unchanged", same=digest(fitted) == before, n_iter=fitted.n_iter_)
if rank == 1:
    time.sleep(2)
"""


def test_failures_end_every_rank_clearly(tmp_path):
    proc = launch(tmp_path, FAILURES)
    first, second = reports(tmp_path, "nan", proc)
    assert second["error"] == "ValueError" and "NaN" in second["message"]
    assert first["error"] == "RuntimeError"
    assert "rank 1 of 2 failed before training" in first["message"]
    assert "NaN" in first["message"]
    assert not first["fitted"] and not second["fitted"]

    first, second = reports(tmp_path, "params", proc)
    for rank in (first, second):
        assert rank["error"] == "ValueError"
        assert "rank 1's estimator differs from rank 0's" in rank["message"]
        assert "batch_size=32 (rank 0: 16)" in rank["message"]
    assert not first["fitted"] and not second["fitted"]

    first, second = reports(tmp_path, "after", proc)
    assert first["error"] is second["error"] is None

    epochs = set()
    for rank in reports(tmp_path, "nan_loss", proc):
        assert rank["error"] == "TrainingDiverged", rank
        epochs.add(re.match(r"Training diverged in epoch (\d+)", rank["message"])[1])
        assert not rank["fitted"]
    assert epochs == {"3"}  # rank 1's fifth batch, in batches of 128 rows

    first, second = reports(tmp_path, "midfit", proc)
    assert second["error"] == "ValueError" and second["message"] == "boom on rank 1"
    assert first["error"] == "RuntimeError"
    assert "collective operation failed" in first["message"]
    assert "another rank" in first["message"]
    assert first["seconds"] < 60  # the group's 5 s timeout, not a hang
    # neither rank's estimator was changed by the failed call
    for rank in reports(tmp_path, "unchanged", proc):
        assert rank["same"] and rank["n_iter"] == 6


# ----------------------------------------------------- in this process


@pytest.fixture
def no_torchrun_env(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)


def test_ddp_without_a_group_names_the_launch_command(no_torchrun_env):
    assert not torch.distributed.is_initialized()
    est = skae.AutoencoderTransformer(strategy="ddp")
    # raised first, before X is even looked at
    with pytest.raises(RuntimeError, match=r"torchrun --nproc_per_node=N script\.py"):
        est.fit("not an array")
    with pytest.raises(RuntimeError, match="torchrun"):
        est.partial_fit(data(20))
    assert not hasattr(est, "net_")


def test_strategy_is_validated():
    with pytest.raises(InvalidParameterError, match="strategy"):
        skae.AutoencoderTransformer(strategy="fsdp").fit(data(20))


def test_unsupported_combinations_are_refused_before_work(no_torchrun_env):
    X = data(40)
    with pytest.raises(ValueError, match="supervised option"):
        skae.AutoencoderTransformer(strategy="ddp", target_weight=1.0).fit(
            X, np.arange(40) % 2
        )
    with pytest.raises(ValueError, match="AutoencoderOutlierDetector"):
        skae.AutoencoderOutlierDetector(
            skae.AutoencoderTransformer(strategy="ddp")
        ).fit(X)
    X_missing = X.copy()
    X_missing[0, 0] = np.nan
    with pytest.raises(ValueError, match="AutoencoderImputer"):
        skae.AutoencoderImputer(
            skae.DenoisingAutoencoder(
                noise="masking", noise_level=0.25, strategy="ddp", max_iter=2
            )
        ).fit(X_missing)


def test_strategy_none_is_the_default_fit():
    X = data(60)
    settings = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    a = skae.AutoencoderTransformer(2, **settings).fit(X)
    b = skae.AutoencoderTransformer(2, strategy=None, **settings).fit(X)
    for p, q in zip(a.net_.module_.parameters(), b.net_.module_.parameters()):
        assert torch.equal(p, q)


@pytest.mark.gpu
def test_ddp_on_a_gpu_trains_on_cuda_local_rank(tmp_path):
    # one process on one GPU: skae starts the group with NCCL, cuda:LOCAL_RANK
    gpu = """
    X = data()
    est = skae.AutoencoderTransformer(
        2, hidden_layer_sizes=(16,), max_iter=3, random_state=0,
        strategy="ddp", device="cuda",
    ).fit(X)
    report("gpu", device=str(est.net_.device), backend=dist.get_backend())
    """
    proc = launch(tmp_path, gpu, nproc=1)
    assert proc.returncode == 0, proc.stderr[-4000:]
    found = json.loads((tmp_path / "gpu_rank0.json").read_text())
    assert found == {"device": "cuda:0", "backend": "nccl"}
