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
from skae.distributed import _skip_finalization_at_exit

# a gloo rank sometimes aborts in Python's finalization after its work is
# done ("terminate called without an active exception"), and torchrun then
# kills the other rank mid-report: end at exit as fit_spark's workers do
_skip_finalization_at_exit()

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
    return folder, launch(
        folder, FIT + EARLY_STOPPING + SUPERVISED + DETECTOR + IMPUTER + PARTIAL_FIT
    )


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


def labels(X):
    """Three string classes of the rows of :func:`data`, 1 in 5 unknown."""
    label = np.where(X[:, 0] > np.median(X[:, 0]), "b", "a").astype(object)
    label[X[:, 1] > np.quantile(X[:, 1], 0.8)] = "c"
    label[np.arange(len(X)) % 5 == 0] = None
    return label


def regression_target(X, rank=None):
    """A float target of the rows of :func:`data`; NaN (unknown) on every
    7th row of ``rank``'s half (the rows ``rank::2``) when given."""
    target = X[:, 0] - X[:, 3]
    if rank is not None:
        target = target[rank::2].copy()
        target[::7] = np.nan
    return target


SUPERVISED = (
    inspect.getsource(labels)
    + inspect.getsource(regression_target)
    + """
from sklearn.linear_model import LogisticRegression

rank = dist.get_rank()
X = data()
label = labels(X)
# rank 0 holds one class alone; rank 1 the two others and every unknown row
mine = (label == "a") if rank == 0 else (label != "a")
sup = dict(
    hidden_layer_sizes=(16,), max_iter=30, learning_rate_init=1e-2, dropout=0.0,
    random_state=0, device="cpu", target_weight=1.0,
)
est = skae.AutoencoderTransformer(2, batch_size=16, strategy="ddp", **sup)
est.fit(X[mine], label[mine])
known = label != None


def accuracy(model):  # of a linear classifier on the codes of the known rows
    codes = model.transform(X[known])
    y = label[known].astype(str)
    return float(LogisticRegression().fit(codes, y).score(codes, y))


digests = [None] * 2
dist.all_gather_object(digests, digest(est))
single = single_accuracy = None
if rank == 0:
    one = skae.AutoencoderTransformer(2, batch_size=32, **sup).fit(X, label)
    single, single_accuracy = error(one, X), accuracy(one)
    with open(f"{OUT}/supervised.pkl", "wb") as f:
        pickle.dump(est, f)
# a regression target, unknown on some rows of each rank
reg = skae.AutoencoderTransformer(2, batch_size=16, strategy="ddp", **sup).fit(
    X[rank::2], regression_target(X, rank)
)
reg_digests = [None] * 2
dist.all_gather_object(reg_digests, digest(reg))
# partial_fit with classes: rank 1's first chunk has no known label at all
chunks = np.array_split(np.arange(rank, 400, 2), 2)
integer = (X[:, 0] > 0).astype(int)
part = skae.AutoencoderTransformer(2, batch_size=16, strategy="ddp", **sup)
first = integer[chunks[0]] if rank == 0 else np.full(len(chunks[0]), np.nan)
part.partial_fit(X[chunks[0]], first, classes=[0, 1, 2])
part.partial_fit(X[chunks[1]], integer[chunks[1]])
part_digests = [None] * 2
dist.all_gather_object(part_digests, digest(part))
# one class over both ranks' labels: every rank raises the same error
try:
    skae.AutoencoderTransformer(2, strategy="ddp", **sup).fit(
        X[rank::2], np.full(200, "a", dtype=object)
    )
    single_class = None
except ValueError as exc:
    single_class = str(exc)
report(
    "supervised", digests=digests, error=error(est, X), single=single,
    accuracy=accuracy(est), single_accuracy=single_accuracy,
    classes=est.classes_.tolist(), target_type=est.target_type_,
    codes=est.transform(X[:5]).tolist(),
    reg_digests=reg_digests, reg_mean=reg.target_mean_.tolist(),
    reg_scale=reg.target_scale_.tolist(), reg_type=reg.target_type_,
    part_digests=part_digests, part_classes=part.classes_.tolist(),
    single_class=single_class,
)
"""
)


def test_supervised_on_two_ranks(trained):
    tmp_path, proc = trained
    first, second = reports(tmp_path, "supervised", proc)
    assert proc.returncode == 0, proc.stderr[-4000:]
    # classes: the union of the ranks' labels (rank 0 saw "a" alone)
    assert first["digests"][0] == first["digests"][1]
    assert first["classes"] == second["classes"] == ["a", "b", "c"]
    assert first["target_type"] == "multiclass"
    assert first["codes"] == second["codes"]
    # as good as one process on all the rows, at reconstructing and at the
    # codes' separation of the classes
    assert abs(first["error"] - first["single"]) <= 0.1 * first["single"]
    assert first["accuracy"] >= first["single_accuracy"] - 0.1
    # a regression target standardised over every rank's known rows
    assert first["reg_digests"][0] == first["reg_digests"][1]
    X = data()
    known = np.concatenate([regression_target(X, 0), regression_target(X, 1)])
    assert first["reg_type"] == "continuous"
    np.testing.assert_allclose(first["reg_mean"], [np.nanmean(known)], rtol=1e-12)
    np.testing.assert_allclose(first["reg_scale"], [np.nanstd(known)], rtol=1e-12)
    assert first["reg_mean"] == second["reg_mean"]
    # partial_fit's classes, a rank whose first chunk has no known label
    assert first["part_digests"][0] == first["part_digests"][1]
    assert first["part_classes"] == second["part_classes"] == [0, 1, 2]
    # a single class over both ranks is refused on both
    for rank in (first, second):
        assert "single class ('a') (all ranks together)" in rank["single_class"]
    with open(tmp_path / "supervised.pkl", "rb") as f:
        fitted = pickle.load(f)
    np.testing.assert_array_equal(fitted.transform(X[:5]), first["codes"])
    assert list(fitted.classes_) == ["a", "b", "c"]


DETECTOR = """
rank = dist.get_rank()
X = data()
rows = X[rank::2]
model = dict(
    hidden_layer_sizes=(16,), max_iter=30, learning_rate_init=1e-2, dropout=0.0,
    random_state=0, device="cpu",
)
detector = skae.AutoencoderOutlierDetector(
    skae.AutoencoderTransformer(2, batch_size=16, strategy="ddp", **model),
    contamination=0.1, validation_fraction=0.25, random_state=0,
).fit(rows)
_, held = detector._split(rows)
digests = [None] * 2
dist.all_gather_object(digests, digest(detector.estimator_))
single = None
if rank == 0:
    one = skae.AutoencoderOutlierDetector(
        skae.AutoencoderTransformer(2, batch_size=32, **model),
        contamination=0.1, validation_fraction=0.25, random_state=0,
    ).fit(X)
    single = error(one.estimator_, X)
    with open(f"{OUT}/detector.pkl", "wb") as f:
        pickle.dump(detector, f)
auto = skae.AutoencoderOutlierDetector(
    skae.AutoencoderTransformer(2, strategy="ddp", **{**model, "max_iter": 3}),
    contamination="auto",
).fit(rows)
report(
    "detector", digests=digests, offset=detector.offset_,
    held_scores=detector.score_samples(rows[held]).tolist(),
    error=error(detector.estimator_, X), single=single,
    predictions=detector.predict(X).tolist(), auto_offset=auto.offset_,
    auto_scores=auto.score_samples(rows).tolist(),
)
"""


def test_outlier_detector_on_two_ranks(trained):
    tmp_path, proc = trained
    first, second = reports(tmp_path, "detector", proc)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert first["digests"][0] == first["digests"][1]
    # the threshold of the held-out rows of both ranks (50 each)
    assert first["offset"] == second["offset"]
    held = first["held_scores"] + second["held_scores"]
    assert len(held) == 100
    assert first["offset"] == pytest.approx(np.percentile(held, 10), rel=1e-12)
    assert abs(first["error"] - first["single"]) <= 0.1 * first["single"]
    assert first["auto_offset"] == second["auto_offset"]
    scores = np.array(first["auto_scores"] + second["auto_scores"])
    median = np.median(scores)
    robust = 1.4826 * np.median(np.abs(scores - median))
    assert first["auto_offset"] == pytest.approx(median - 3 * robust, rel=1e-12)
    with open(tmp_path / "detector.pkl", "rb") as f:
        fitted = pickle.load(f)
    np.testing.assert_array_equal(fitted.predict(data()), first["predictions"])


def with_missing(X, rank):
    """Rank ``rank``'s half of X (the rows ``rank::2``) with 1 entry in 5
    missing (NaN); rank 1's last feature missing on every row."""
    rows = X[rank::2].copy()
    rows[np.random.RandomState(rank).rand(*rows.shape) < 0.2] = np.nan
    if rank == 1:
        rows[:, -1] = np.nan
    return rows


IMPUTER = (
    inspect.getsource(with_missing)
    + """
rank = dist.get_rank()
X = data()
rows = with_missing(X, rank)
both = np.concatenate([with_missing(X, 0), with_missing(X, 1)])
truth = np.concatenate([X[0::2], X[1::2]])


def imputation_error(imputer):  # on the missing entries of both ranks' rows
    missing = np.isnan(both)
    imputed = imputer.transform(both)[:, :8]
    return float(np.mean((imputed[missing] - truth[missing]) ** 2))


imp = dict(
    n_components=2, hidden_layer_sizes=(16,), noise="masking", noise_level=0.1,
    dropout=0.0, learning_rate_init=1e-2, max_iter=30, random_state=0, device="cpu",
)
imputer = skae.AutoencoderImputer(
    skae.DenoisingAutoencoder(batch_size=16, strategy="ddp", **imp),
    add_indicator=True,
).fit(rows)
digests = [None] * 2
dist.all_gather_object(digests, digest(imputer.estimator_))
single = None
if rank == 0:
    one = skae.AutoencoderImputer(
        skae.DenoisingAutoencoder(batch_size=32, **imp), add_indicator=True
    ).fit(both)
    single = imputation_error(one)
    with open(f"{OUT}/imputer.pkl", "wb") as f:
        pickle.dump(imputer, f)
report(
    "imputer", digests=digests, error=imputation_error(imputer), single=single,
    offset=imputer.estimator_.offset_.tolist(), scale=imputer.estimator_.scale_,
    fill=imputer.estimator_.net_.missing.fill.tolist(),
    indicator=imputer.indicator_.features_.tolist(),
    imputed=imputer.transform(both[:5]).tolist(),
)
"""
)


def test_imputer_on_two_ranks(trained):
    tmp_path, proc = trained
    first, second = reports(tmp_path, "imputer", proc)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert first["digests"][0] == first["digests"][1]
    X = data()
    both = np.concatenate([with_missing(X, 0), with_missing(X, 1)])
    # the normalisation of the observed entries of both ranks' rows (the
    # last feature observed on rank 0 only)
    offset = np.nanmean(both, axis=0)
    np.testing.assert_allclose(first["offset"], offset, rtol=1e-12)
    scale = np.sqrt(np.nanmean((both - offset) ** 2))
    assert first["scale"] == pytest.approx(scale, rel=1e-12)
    # the fill: each feature's mean over the observed (normalised) entries
    # of both ranks, about 0 after centring by the pooled means
    assert first["fill"] == second["fill"]
    np.testing.assert_allclose(first["fill"], 0.0, atol=1e-6)
    assert first["indicator"] == second["indicator"] == list(range(8))
    assert first["imputed"] == second["imputed"]
    assert abs(first["error"] - first["single"]) <= 0.1 * first["single"]
    with open(tmp_path / "imputer.pkl", "rb") as f:
        fitted = pickle.load(f)
    np.testing.assert_array_equal(fitted.transform(both[:5]), first["imputed"])


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


def attempt(name, est, X, *args, method="fit", **kwargs):
    start = time.time()
    try:
        getattr(est, method)(X, *args, **kwargs)
        outcome = dict(error=None)
    except Exception as exc:
        outcome = dict(error=type(exc).__name__, message=str(exc))
    fitted = hasattr(est, "net_") or hasattr(est, "estimator_")
    report(name, fitted=fitted, seconds=time.time() - start, **outcome)


# one rank's rows are bad: every rank raises before training
bad = rows.copy()
if rank == 1:
    bad[3, 2] = np.nan
attempt("nan", skae.AutoencoderTransformer(2, **small), bad)
# the ranks' parameters differ
differs = skae.AutoencoderTransformer(2, batch_size=16 * (rank + 1), **small)
attempt("params", differs, rows)
# the ranks' targets disagree: every rank raises the same error
sup = dict(small, target_weight=1.0)
y = X[rank::2, 0] if rank == 0 else (X[rank::2, 0] > 0).astype(int)
attempt("target_types", skae.AutoencoderTransformer(2, **sup), rows, y)
labels = (X[rank::2, 0] > 0).astype(int)
attempt(
    "classes", skae.AutoencoderTransformer(2, **sup), rows, labels,
    method="partial_fit", classes=[0, 1] if rank == 0 else [0, 1, 2],
)
# the detector's and the imputer's own checks of one rank's rows
attempt("detector", skae.AutoencoderOutlierDetector(
    skae.AutoencoderTransformer(2, **small)), bad)
infinite = rows.copy()
infinite[0, 0] = np.nan
if rank == 1:
    infinite[3, 2] = np.inf
attempt("imputer", skae.AutoencoderImputer(
    skae.DenoisingAutoencoder(2, noise="masking", **small)), infinite)
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

    for name, words in [
        ("target_types", "float (a regression target) and others' holds labels"),
        ("classes", "partial_fit's classes differ between ranks"),
    ]:
        for rank in reports(tmp_path, name, proc):
            assert rank["error"] == "ValueError" and words in rank["message"], rank
            assert not rank["fitted"]
    for name, words in [("detector", "NaN"), ("imputer", "infinity")]:
        first, second = reports(tmp_path, name, proc)
        assert second["error"] == "ValueError" and words in second["message"]
        assert first["error"] == "RuntimeError"
        assert "rank 1 of 2 failed before training" in first["message"]
        assert words in first["message"] and first["seconds"] < 5
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


def test_detector_refuses_a_ddp_model_inside_another_estimator(no_torchrun_env):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    inner = skae.AutoencoderTransformer(strategy="ddp")
    detector = skae.AutoencoderOutlierDetector(make_pipeline(StandardScaler(), inner))
    with pytest.raises(ValueError, match="autoencodertransformer__strategy='ddp'"):
        detector.fit(data(40))
    assert not hasattr(detector, "estimator_")


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
    # the supervised option's gather and the imputer's pooled statistics
    # through NCCL, on the GPU
    small = dict(max_iter=2, random_state=0, strategy="ddp", device="cuda")
    sup = skae.AutoencoderTransformer(2, target_weight=1.0, **small)
    sup.fit(X, (X[:, 0] > 0).astype(int))
    X_missing = X.copy()
    X_missing[::3, 1] = np.nan
    imputer = skae.AutoencoderImputer(
        skae.DenoisingAutoencoder(2, noise="masking", **small)
    ).fit(X_missing)
    report(
        "gpu", device=str(est.net_.device), backend=dist.get_backend(),
        classes=sup.classes_.tolist(),
        imputed=bool(np.isfinite(imputer.transform(X_missing)).all()),
    )
    """
    proc = launch(tmp_path, gpu, nproc=1)
    assert proc.returncode == 0, proc.stderr[-4000:]
    found = json.loads((tmp_path / "gpu_rank0.json").read_text())
    assert found == {
        "device": "cuda:0",
        "backend": "nccl",
        "classes": [0, 1],
        "imputed": True,
    }
