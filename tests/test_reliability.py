"""Holes that sklearn's estimator checks leave open for neural nets, closed.

Each test here can fail: divergence, interrupts, best-weights restore, seeding
and global state, parallel search on read-only memmaps, the checks that
``check_estimator`` does not run, non-vacuous outputs, the bad-input
catalogue, tail batches, leaks and CUDA-free construction.
"""

import gc
import os
import pickle
import signal
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from conftest import fast_autoencoders
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_get_feature_names_out_error,
    check_global_output_transform_pandas,
    check_param_validation,
    check_set_output_transform,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
)

from skae import (
    AutoencoderTransformer,
    DenoisingAutoencoder,
    SparseAutoencoder,
    VAETransformer,
)
from skae._callbacks import TrainingDiverged, TrainingMonitor
from skae._data import Normalisation
from skae._net import VAENet

ESTIMATORS = fast_autoencoders()
IDS = [f"{type(e).__name__}-{i}" for i, e in enumerate(ESTIMATORS)]
SMALL = dict(hidden_layer_sizes=(16,), max_iter=10, batch_size=32, random_state=0)


def _data(n=120, d=6, seed=0):
    return np.random.RandomState(seed).normal(size=(n, d))


def _quiet_fit(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X)


# 1. divergence --------------------------------------------------------------


def _poison(monkeypatch, estimator, wrap):
    """Patch the estimator's own net class (VAENet overrides ``get_loss``, so
    patching ``AutoencoderNet`` would miss the VAE) to return
    ``wrap(loss, call_number)`` from ``get_loss``; returns the calls seen."""
    net_class = type(estimator)._net_class(estimator)
    real = net_class.get_loss
    seen = []

    def poisoned(self, y_pred, y_true, X=None, training=False):
        seen.append(training)
        loss = real(self, y_pred, y_true, X=X, training=training)
        return wrap(loss, len(seen))

    monkeypatch.setattr(net_class, "get_loss", poisoned)
    return seen


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_huge_learning_rate_raises_and_keeps_model(estimator):
    X = _data()
    model = _quiet_fit(clone(estimator).set_params(n_components=2, **SMALL), X)
    before = model.transform(X)
    state = dict(model.__dict__)
    with pytest.raises(
        ValueError, match="Training diverged in epoch .*learning_rate_init"
    ) as excinfo:
        model.set_params(learning_rate_init=1e20, activation="elu").fit(1e3 * X)
    assert excinfo.type is TrainingDiverged  # a ValueError, as documented
    np.testing.assert_array_equal(model.transform(X), before)
    assert np.all(np.isfinite(before))
    assert model.net_ is state["net_"] and model.n_iter_ == state["n_iter_"]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize(
    "poison",
    [
        # a non-finite constant: the gradient stays finite, the loss does not
        lambda loss: loss + float("inf"),
        # NaN through the graph: the loss and the gradient
        lambda loss: loss * float("nan"),
    ],
    ids=["inf-loss", "nan-loss"],
)
def test_non_finite_loss_stops_at_once(monkeypatch, estimator, poison):
    seen = _poison(
        monkeypatch, estimator, lambda loss, n: poison(loss) if n == 3 else loss
    )
    with pytest.raises(ValueError, match="train loss became (inf|nan)") as excinfo:
        clone(estimator).set_params(n_components=2, **SMALL).fit(_data())
    assert excinfo.type is TrainingDiverged
    assert seen == [True] * 3  # training batches only, none after the bad one


def _count_steps(monkeypatch):
    """Count the optimizer steps that returned (were applied)."""
    steps = []
    real_step = torch.optim.Adam.step

    def counted_step(self, *args, **kwargs):
        out = real_step(self, *args, **kwargs)
        steps.append(1)
        return out

    monkeypatch.setattr(torch.optim.Adam, "step", counted_step)
    return steps


def _nan_gradient(loss):
    """The same (finite) loss with a NaN gradient: d/dx sqrt(x) at 0 is
    infinite, times the 0 that the chain rule carries."""
    return loss + torch.sqrt(torch.zeros((), requires_grad=True) * loss)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_nan_gradient_stops_at_the_next_batch(monkeypatch, estimator):
    steps = _count_steps(monkeypatch)
    seen = _poison(
        monkeypatch, estimator, lambda loss, n: _nan_gradient(loss) if n == 3 else loss
    )
    with pytest.raises(ValueError, match="train loss became nan") as excinfo:
        clone(estimator).set_params(n_components=2, **SMALL).fit(_data())
    assert excinfo.type is TrainingDiverged
    # the third step made the weights NaN, so the fourth batch's loss is NaN
    # and stops training, no batch later
    assert len(steps) == 4 and seen == [True] * 4


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_nan_gradient_in_the_last_batch_is_caught_by_the_weights(
    monkeypatch, estimator
):
    model = _quiet_fit(clone(estimator).set_params(n_components=2, **SMALL), _data())
    batches = model.net_.history[-1]["train_batch_count"]
    last = SMALL["max_iter"] * batches  # no validation split: training only
    steps = _count_steps(monkeypatch)
    before = model.transform(_data())
    seen = _poison(
        monkeypatch,
        estimator,
        lambda loss, n: _nan_gradient(loss) if n == last else loss,
    )
    with pytest.raises(ValueError, match="weights' norm became nan") as excinfo:
        model.fit(_data())
    assert excinfo.type is TrainingDiverged
    assert len(steps) == last and seen == [True] * last  # no batch saw it
    np.testing.assert_array_equal(model.transform(_data()), before)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_extreme_input_never_gives_inf_or_nan(estimator):
    model = _quiet_fit(clone(estimator).set_params(n_components=2, **SMALL), _data())
    for dtype in (np.float32, np.float64):
        for value in (1e20, 1e30, 3e38, -3e38):
            X = np.full((3, 6), value, dtype=dtype)
            X[1, ::2] = -value
            for method in (model.transform, model.score_samples):
                try:
                    out = method(X)
                except ValueError as exc:
                    # the overflow error, or (Bernoulli) data outside the
                    # training range
                    msg = str(exc)
                    assert "overflowed" in msg or (
                        _bce(estimator) and "outside the range" in msg
                    )
                else:
                    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_overflowing_network_output_is_an_error(monkeypatch, estimator):
    model = _quiet_fit(clone(estimator).set_params(n_components=2, **SMALL), _data())
    monkeypatch.setattr(type(model), "_encode", lambda self, m, x: m.encode(x) * np.inf)
    with pytest.raises(ValueError, match="overflowed.*extreme values") as excinfo:
        model.transform(_data())
    assert excinfo.type is ValueError


# 2. interrupts ------------------------------------------------------------------


def _interrupt_at_batch(monkeypatch, k):
    from skae import _net

    real_iter = _net.TensorBatches.__iter__

    def interrupted(self):
        for i, batch in enumerate(real_iter(self)):
            if i == k:
                os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C
            yield batch

    monkeypatch.setattr(_net.TensorBatches, "__iter__", interrupted)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_interrupt_propagates_and_keeps_model(monkeypatch, estimator, method):
    X = _data()
    model = _quiet_fit(clone(estimator).set_params(n_components=2, **SMALL), X)
    before = model.transform(X)
    state = dict(model.__dict__)
    history = len(model.net_.history)
    _interrupt_at_batch(monkeypatch, 2)
    # fit on another width; partial_fit continues on the same X (the width
    # and, for a Bernoulli VAE, the range must match)
    new = _data(d=4, seed=1) if method == "fit" else X
    with pytest.raises(KeyboardInterrupt) as excinfo:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            getattr(model, method)(new)
    assert excinfo.type is KeyboardInterrupt
    assert model.n_features_in_ == 6
    assert model.__dict__.keys() == state.keys()
    assert all(model.__dict__[k] is v for k, v in state.items())
    assert len(model.net_.history) == history
    np.testing.assert_array_equal(model.transform(X), before)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_early_stopping_is_not_an_interrupt(estimator):
    # a constant rate: a one-cycle fit judges only the epochs after its peak
    est = clone(estimator).set_params(
        n_components=2,
        early_stopping=True,
        n_iter_no_change=2,
        tol=1e6,
        learning_rate="constant",
        **SMALL,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converged: no ConvergenceWarning either
        model = est.fit(_data())
    # epoch 1 improves on nothing; epochs 2 and 3 miss by tol -> stop
    assert model.n_iter_ == 3


# 3. early stopping restores the best epoch ----------------------------------


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_early_stopping_restores_best_after_injected_blow_up(monkeypatch, estimator):
    X = _data(300)
    snapshots = []  # the weights at the end of every epoch
    real_epoch_begin = TrainingMonitor.on_epoch_begin
    real_epoch_end = TrainingMonitor.on_epoch_end

    def blow_up_after_epoch_4(self, net, **kwargs):
        if self.epochs_ >= 4:  # from epoch 5 on, wreck the weights (finitely)
            with torch.no_grad():
                for p in net.module_.parameters():
                    p.mul_(3.0)
        return real_epoch_begin(self, net, **kwargs)

    def snapshot_then_judge(self, net, **kwargs):
        state = net.module_.state_dict()
        snapshots.append({k: v.detach().clone() for k, v in state.items()})
        return real_epoch_end(self, net, **kwargs)

    monkeypatch.setattr(TrainingMonitor, "on_epoch_begin", blow_up_after_epoch_4)
    monkeypatch.setattr(TrainingMonitor, "on_epoch_end", snapshot_then_judge)
    est = clone(estimator).set_params(
        n_components=2,
        early_stopping=True,
        n_iter_no_change=3,
        learning_rate="constant",  # every epoch judged, as the test needs
        **SMALL,
    )
    model = est.set_params(max_iter=50).fit(X)
    valid = [-s for s in model.validation_scores_]
    best = int(np.argmin(valid))
    assert best <= 4 and model.n_iter_ < 50 and len(snapshots) == model.n_iter_
    assert best < model.n_iter_ - 1  # the last epoch's weights are not the best
    # the returned weights are the best epoch's, exactly
    returned = model.net_.module_.state_dict()
    assert returned.keys() == snapshots[best].keys()
    for key, value in returned.items():
        assert torch.equal(value, snapshots[best][key]), key
    # recompute the validation loss of the returned weights on the same split
    from skae._data import ShuffledSplit, TensorDataset

    seed_split = model.net_.train_split
    assert isinstance(seed_split, ShuffledSplit)
    Xn = torch.from_numpy(
        Normalisation(model.offset_, model.scale_).apply(X, np.float32)
    )
    _, valid_set = seed_split(TensorDataset(Xn))
    net = model.net_
    if isinstance(net, VAENet):
        return  # its loss draws z at random: the weights' equality is the check
    with torch.no_grad():
        net.module_.eval()
        Xv = valid_set.X
        loss = net.get_loss(net.module_(Xv), Xv, X=Xv).item()
    assert loss == pytest.approx(valid[best], rel=1e-5)


def test_validation_split_is_shuffled_and_seeded():
    from skae._data import ShuffledSplit, TensorDataset

    data = TensorDataset(torch.arange(100.0).reshape(100, 1))
    _, valid = ShuffledSplit(0.1, seed=0)(data)
    _, again = ShuffledSplit(0.1, seed=0)(data)
    _, other = ShuffledSplit(0.1, seed=1)(data)
    assert torch.equal(valid.X, again.X) and not torch.equal(valid.X, other.X)
    assert sorted(valid.X.ravel().tolist()) != list(range(90, 100))  # not the tail


# 4. seeding and global state ------------------------------------------------


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_bitwise_reproducible_and_global_state_untouched(estimator):
    X = _data()
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    a = _quiet_fit(clone(estimator).set_params(random_state=3), X)
    b = _quiet_fit(clone(estimator).set_params(random_state=3), X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state)


def test_random_state_none_and_instance():
    X = _data()
    est = AutoencoderTransformer(2, **{**SMALL, "random_state": None})
    assert not np.array_equal(
        _quiet_fit(clone(est), X).transform(X), _quiet_fit(clone(est), X).transform(X)
    )
    # a RandomState instance is drawn from, as in sklearn: same start, same result
    first = _quiet_fit(clone(est).set_params(random_state=np.random.RandomState(7)), X)
    second = _quiet_fit(clone(est).set_params(random_state=np.random.RandomState(7)), X)
    np.testing.assert_array_equal(first.transform(X), second.transform(X))
    shared = np.random.RandomState(7)
    one = _quiet_fit(clone(est).set_params(random_state=shared), X).transform(X)
    two = _quiet_fit(clone(est).set_params(random_state=shared), X).transform(X)
    assert not np.array_equal(one, two)


# 5. parallel search on read-only memmaps -------------------------------------


def test_grid_search_same_results_serial_and_loky():
    # What this checks: loky workers (X over joblib's 1 MB max_nbytes, so X
    # itself reaches them as a read-only memmap) fit and score without
    # crashing, and give the same cv_results_ as n_jobs=1. What it cannot
    # check: warnings raised in the workers never reach this process's
    # catch_warnings, and the CV splits index X (a copy), so the estimators
    # never see the memmap itself. test_read_only_memmap_in_process covers
    # that, in this process, where warnings are errors.
    X = _data(n=1500, d=100)
    assert X.nbytes > 1e6
    grid = {"n_components": [2, 4], "activation": ["relu", "tanh"]}
    base = AutoencoderTransformer(hidden_layer_sizes=(16,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        serial = GridSearchCV(base, grid, cv=2, n_jobs=1, error_score="raise").fit(X)
        parallel = GridSearchCV(base, grid, cv=2, n_jobs=2, error_score="raise").fit(X)
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(
            serial.cv_results_[key], parallel.cv_results_[key]
        )


def _refuse_read_only(monkeypatch):
    """Make torch's numpy bridges fail on read-only arrays: torch's own "not
    writable" warning is issued once per process, so only the first offender
    in a session would trip it."""
    for name in ("from_numpy", "as_tensor"):
        real = getattr(torch, name)

        def checked(data, *args, _real=real, _name=name, **kwargs):
            if isinstance(data, np.ndarray) and not data.flags.writeable:
                raise AssertionError(f"torch.{_name} got a read-only array")
            return _real(data, *args, **kwargs)

        monkeypatch.setattr(torch, name, checked)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_read_only_memmap_in_process(estimator, tmp_path, monkeypatch):
    _refuse_read_only(monkeypatch)
    X = _data(n=300, d=8)
    path = tmp_path / "X.joblib"
    joblib.dump(X, path)
    # what joblib hands its workers for a large array
    Xm = joblib.load(path, mmap_mode="r")
    assert isinstance(Xm, np.memmap) and not Xm.flags.writeable
    est = clone(estimator).set_params(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. torch's "not writable" UserWarning
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        model = est.fit(Xm)
        Z = model.transform(Xm)
        outs = [Z, model.score_samples(Xm), model.score(Xm)]
        outs.append(model.inverse_transform(Z))
    for out in outs:
        assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(Xm, X)  # unchanged
    assert Z.shape == (300, model.n_components_)
    # the memmap (read a batch at a time) trains like the in-memory array
    in_memory = _quiet_fit(clone(est), X)
    np.testing.assert_allclose(in_memory.transform(X), Z, rtol=1e-4, atol=1e-5)


def _torch_threads(estimator, X, y=None):
    return torch.get_num_threads()


def test_loky_workers_share_the_cores_between_torch_threads():
    # joblib's loky backend caps each worker's OpenMP threads at
    # cpu_count // n_jobs; torch must start with that cap, not one thread per
    # core in every worker (oversubscription)
    X = _data(n=60, d=4)
    base = AutoencoderTransformer(hidden_layer_sizes=(4,), max_iter=1)
    grid = GridSearchCV(
        base, {"n_components": [1, 2]}, cv=2, n_jobs=2, scoring=_torch_threads
    ).fit(X)
    expected = max(1, joblib.cpu_count() // 2)
    assert set(grid.cv_results_["mean_test_score"]) == {expected}


# 6. checks that check_estimator does not run ---------------------------------


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize(
    "check",
    [
        check_set_output_transform,
        check_global_output_transform_pandas,
        check_get_feature_names_out_error,
        check_transformer_get_feature_names_out,
        check_transformer_get_feature_names_out_pandas,
        check_dataframe_column_names_consistency,
        check_param_validation,
    ],
    ids=lambda c: c.__name__,
)
def test_checks_run_explicitly(estimator, check):
    pytest.importorskip("pandas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        check(type(estimator).__name__, clone(estimator))


# 7. no vacuous passes ----------------------------------------------------------


def _datasets():
    rng = np.random.RandomState(0)
    blobs, _ = make_blobs(
        n_samples=30,
        centers=[[1, 1], [-1, -1], [2, -2]],
        cluster_std=0.1,
        random_state=0,
    )
    return {
        "loc100": rng.normal(loc=100, size=(100, 2)),
        "blobs": blobs,
        "blobs_shifted_positive": blobs - blobs.min(),
        "uniform_int": rng.randint(0, 5, size=(40, 3)),
        "float32": rng.uniform(size=(20, 3)).astype(np.float32),
        # check_fit2d_1feature's data
        "1feature": 3 * rng.uniform(size=(10, 1)),
        "sparse_csr": sp.random(40, 5, density=0.3, format="csr", random_state=0),
    }


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize("name", list(_datasets()))
def test_outputs_finite_and_not_constant(estimator, name):
    X = _datasets()[name]
    est = clone(estimator).set_params(random_state=0)
    if X.shape[1] < est.n_components:
        # the nets accept n_components > n_features (an overcomplete code),
        # but a code as wide as the data is the case to check here
        est.set_params(n_components=X.shape[1])
    model = _quiet_fit(est, X)
    Z = model.transform(X)
    recon = model.inverse_transform(Z)
    for out in (Z, recon, model.score_samples(X)):
        assert np.all(np.isfinite(out))
    assert Z.var(axis=0).max() > 0
    assert recon.var(axis=0).max() > 0


# 8. the bad-input catalogue ------------------------------------------------------


def _pandas_na():
    pd = pytest.importorskip("pandas")
    return pd.DataFrame({"a": pd.array([1, None] * 5, dtype="Int64"), "b": _GOOD[:, 0]})


def _sparse_nan():
    return sp.csr_matrix(np.where(_GOOD > 0.5, np.nan, _GOOD))


_GOOD = np.random.RandomState(0).normal(size=(10, 3))

#: name -> (a function making X, the exact exception type, message pattern)
CATALOGUE = {
    "nan": (
        lambda: np.where(_GOOD > 1, np.nan, _GOOD),
        ValueError,
        "Input X contains NaN",
    ),
    "inf": (
        lambda: np.where(_GOOD > 1, np.inf, _GOOD),
        ValueError,
        "Input X contains infinity",
    ),
    "0 samples": (lambda: np.empty((0, 3)), ValueError, r"0 sample\(s\)"),
    "0 features": (lambda: np.empty((10, 0)), ValueError, r"0 feature\(s\)"),
    "1 sample": (lambda: _GOOD[:1], ValueError, r"1 sample\(s\).*minimum of 2"),
    "1-D": (lambda: _GOOD[:, 0], ValueError, "Expected 2D array, got 1D array"),
    "3-D": (lambda: _GOOD.reshape(10, 3, 1), ValueError, "Found array with dim 3"),
    "strings": (
        lambda: np.array([["a", "b"], ["c", "d"]]),
        ValueError,
        "OneHotEncoder",
    ),
    "complex": (lambda: _GOOD + 1j, ValueError, "Complex data not supported"),
    "sparse with NaN": (_sparse_nan, ValueError, "Input X contains NaN"),
    "pandas NA": (_pandas_na, ValueError, "Input X contains NaN"),
    # too large for the "mse" normalisation (its mean overflows float64);
    # "bce" maps [min, max] onto [0, 1], which does not overflow
    "mean over float64": (
        lambda: np.full((10, 3), 1.7e308),
        ValueError,
        "too large to normalise",
    ),
    # too large for either: max - min overflows float64
    "spread over float64": (
        lambda: np.where(_GOOD > 0, 1e308, -1e308),
        ValueError,
        "too large to normalise",
    ),
}


def _bce(estimator):
    params = estimator.get_params()
    return params["loss"] == "bce" or params.get("likelihood") == "bernoulli"


# every entry for every estimator (derived from CATALOGUE: a new entry is
# tested without touching this list), but "mean over float64" only where it overflows
CATALOGUE_CASES = [
    pytest.param(case, estimator, id=f"{case}-{id_}")
    for case in CATALOGUE
    for estimator, id_ in zip(ESTIMATORS, IDS)
    if not (case == "mean over float64" and _bce(estimator))
]


@pytest.mark.parametrize("case, estimator", CATALOGUE_CASES)
def test_bad_input_catalogue(case, estimator):
    make_X, error, match = CATALOGUE[case]
    X = make_X()
    with pytest.raises(error, match=match) as excinfo:
        clone(estimator).set_params(n_components=2, **SMALL).fit(X)
    assert excinfo.type is error  # exactly, not a subclass


@pytest.mark.parametrize(
    "estimator",
    [
        AutoencoderTransformer(2, loss="bce"),
        SparseAutoencoder(2, loss="bce"),
        DenoisingAutoencoder(2, loss="bce"),
        VAETransformer(2, likelihood="bernoulli"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_bce_on_1e300_data_is_finite_or_says_why(estimator):
    # the "bce" normalisation of 1e300 data is finite, and so are the codes
    # and reconstructions; a squared error in X's units (about 1e598) is not
    # representable: the autoencoders' scores say so, the VAE's Bernoulli
    # scores are in the [0, 1] units and stay finite
    X = _GOOD * 1e300
    model = _quiet_fit(clone(estimator).set_params(**SMALL), X)
    Z = model.transform(X)
    for out in (Z, model.inverse_transform(Z)):
        assert np.all(np.isfinite(out))
    if isinstance(model, VAETransformer):
        assert np.all(np.isfinite(model.score_samples(X)))
        assert np.isfinite(model.score(X))
    else:
        for method in (model.score_samples, model.score):
            with pytest.raises(ValueError, match="overflow float64. Rescale X"):
                method(X)


@pytest.mark.parametrize(
    "dtype, expected",
    [(np.float16, np.float64), (bool, np.float64), (object, np.float64)],
)
def test_odd_dtypes_are_accepted_like_pca(dtype, expected):
    X = np.random.RandomState(0).uniform(size=(30, 3)).round(1)
    X = (X > 0.5).astype(dtype) if dtype is bool else X.astype(dtype)
    model = _quiet_fit(AutoencoderTransformer(2, **SMALL), X)
    assert model.transform(X).dtype == expected


def test_dataframe_columns_renamed_reordered_and_ndarray():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(_data(), columns=list("abcdef"))
    model = _quiet_fit(AutoencoderTransformer(2, **SMALL), X)
    with pytest.raises(ValueError, match="feature names should match"):
        model.transform(X.rename(columns={"a": "z"}))
    with pytest.raises(ValueError, match="feature names should match"):
        model.transform(X[list("fedcba")])
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        model.transform(X.to_numpy())


def test_wrong_width_messages():
    model = _quiet_fit(AutoencoderTransformer(2, **SMALL), _data())
    with pytest.raises(
        ValueError,
        match="X has 5 features, but AutoencoderTransformer "
        "is expecting 6 features as input",
    ):
        model.transform(_data(d=5))
    with pytest.raises(ValueError, match="X has 3 features.*expecting 2 features"):
        model.inverse_transform(np.ones((2, 3)))


def test_constant_columns_no_nan_no_warnings():
    X = np.column_stack([np.ones(50), _data(50, 2)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from the zero variance
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        model = AutoencoderTransformer(2, **{**SMALL, "max_iter": 200}).fit(X)
        out = model.inverse_transform(model.transform(X))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[:, 0], 1.0, atol=0.15)
    constant = _quiet_fit(AutoencoderTransformer(2, **SMALL), np.full((20, 3), 7.0))
    np.testing.assert_allclose(
        constant.inverse_transform(constant.transform(np.full((2, 3), 7.0))),
        7.0,
        atol=0.5,
    )


# 9. tail batches -------------------------------------------------------------


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_tail_batch_of_one(estimator):
    X = _data(n=33)
    model = _quiet_fit(clone(estimator).set_params(batch_size=16, random_state=0), X)
    assert np.all(np.isfinite(model.transform(X)))


# 10. no leaks --------------------------------------------------------------------


def _rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status")


def test_hundred_fit_transform_cycles_do_not_leak():
    X = _data(200, 20)
    est = AutoencoderTransformer(
        4, hidden_layer_sizes=(32,), max_iter=2, random_state=0
    )
    for _ in range(10):  # warm up allocators and caches
        _quiet_fit(clone(est), X).transform(X)
    gc.collect()
    start = _rss_mb()
    for _ in range(100):
        _quiet_fit(clone(est), X).transform(X)
    gc.collect()
    assert _rss_mb() - start < 50


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_pickle_is_about_the_weights(estimator):
    X = _data(500, 30)
    model = _quiet_fit(
        clone(estimator).set_params(
            hidden_layer_sizes=(128,), max_iter=20, batch_size=16, random_state=0
        ),
        X,
    )
    weights = sum(
        t.numel() * t.element_size() for t in model.net_.module_.state_dict().values()
    )
    size = len(pickle.dumps(model))
    assert weights < size < 1.3 * weights + 30_000
    assert not model.net_.optimizer_.state  # no Adam moments kept


# 11. CUDA ----------------------------------------------------------------------


def test_init_set_params_clone_never_touch_cuda(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("CUDA was touched")

    for name in ("is_available", "device_count", "init", "current_device"):
        monkeypatch.setattr(torch.cuda, name, forbidden)
    est = AutoencoderTransformer(device="cuda")
    est.set_params(device="cuda:1")
    clone(est)
    repr(est)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_gpu_names_the_device(device):
    with pytest.raises(ValueError, match=f"device='{device}' was requested"):
        AutoencoderTransformer(device=device, **SMALL).fit(_data())


def test_cuda_device_mapping_with_cuda_patched(monkeypatch):
    from skae._device import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(ValueError, match="only 2 CUDA device"):
        resolve_device("cuda:2")


def test_workers_environment_documented():
    # the thread policy is documented where users look for it
    guide = open(os.path.join(os.path.dirname(__file__), "..", "docs", "user_guide.md"))
    text = guide.read()
    assert "OMP_NUM_THREADS" in text and "dask" in text
