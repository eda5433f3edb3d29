"""Holes that sklearn's estimator checks leave open for neural nets, closed.

Each test here can fail: divergence, interrupts, best-weights restore, seeding
and global state, parallel search on read-only memmaps, the checks that
``check_estimator`` does not run, non-vacuous outputs, the bad-input
catalogue, tail batches, leaks and CUDA-free construction.
"""

import gc
import os
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from conftest import fast_estimators
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

from skae import AutoencoderTransformer
from skae._net import TrainingMonitor

ESTIMATORS = fast_estimators()
IDS = [f"{type(e).__name__}-{i}" for i, e in enumerate(ESTIMATORS)]
SMALL = dict(hidden_layer_sizes=(16,), max_iter=10, batch_size=32, random_state=0)


def _data(n=120, d=6, seed=0):
    return np.random.RandomState(seed).normal(size=(n, d))


def _quiet_fit(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X)


# 1. divergence --------------------------------------------------------------


def test_huge_learning_rate_raises_and_keeps_model():
    X = _data()
    model = _quiet_fit(AutoencoderTransformer(2, **SMALL), X)
    before = model.transform(X)
    with pytest.raises(
        ValueError, match="Training diverged in epoch .*learning_rate_init"
    ):
        model.set_params(learning_rate_init=1e6, activation="elu").fit(1e3 * X)
    np.testing.assert_array_equal(model.transform(X), before)
    assert np.all(np.isfinite(before))


@pytest.mark.parametrize(
    "poison, match",
    [
        # a non-finite constant: the gradient stays finite, the loss does not
        (lambda loss: loss + float("inf"), "train loss became inf"),
        # NaN through the graph: caught at the gradient, before the step
        (lambda loss: loss * float("nan"), "gradient norm became nan"),
    ],
    ids=["inf-loss", "nan-loss"],
)
def test_non_finite_loss_stops_at_once(monkeypatch, poison, match):
    from skae._net import AutoencoderNet

    seen = []
    real = AutoencoderNet.get_loss

    def poisoned(self, y_pred, y_true, X=None, training=False):
        seen.append(training)
        loss = real(self, y_pred, y_true, X=X, training=training)
        return poison(loss) if len(seen) == 3 else loss

    monkeypatch.setattr(AutoencoderNet, "get_loss", poisoned)
    with pytest.raises(ValueError, match=match):
        AutoencoderTransformer(2, **SMALL).fit(_data())
    assert len(seen) == 3  # no batch after the bad one


def test_nan_gradient_stops_before_the_step(monkeypatch):
    from skae._net import AutoencoderNet

    real = AutoencoderNet.get_loss

    def bad_grad(self, y_pred, y_true, X=None, training=False):
        loss = real(self, y_pred, y_true, X=X, training=training)
        # finite value, infinite gradient: d/dx sqrt(x) at 0
        return loss + torch.sqrt(torch.zeros((), requires_grad=True) * loss)

    monkeypatch.setattr(AutoencoderNet, "get_loss", bad_grad)
    with pytest.raises(ValueError, match="gradient norm became"):
        AutoencoderTransformer(2, **SMALL).fit(_data())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", [1e20, 1e30, 3e38, -3e38])
def test_extreme_input_never_gives_inf_or_nan(dtype, value):
    model = _quiet_fit(AutoencoderTransformer(2, **SMALL), _data())
    X = np.full((3, 6), value, dtype=dtype)
    X[1, ::2] = -value
    for method in (model.transform, model.score_samples):
        try:
            out = method(X)
        except ValueError as exc:
            assert "overflowed" in str(exc)
        else:
            assert np.all(np.isfinite(out))


def test_overflowing_network_output_is_an_error(monkeypatch):
    model = _quiet_fit(AutoencoderTransformer(2, **SMALL), _data())
    monkeypatch.setattr(type(model), "_encode", lambda self, m, x: m.encode(x) * np.inf)
    with pytest.raises(ValueError, match="overflowed.*extreme values"):
        model.transform(_data())


# 2. interrupts: see test_autoencoder.py::test_interrupt_propagates_and_keeps_model


# 3. early stopping restores the best epoch ----------------------------------


def test_early_stopping_restores_best_after_injected_blow_up(monkeypatch):
    X = _data(300)

    def blow_up_after_epoch_4(self, net, **kwargs):
        if self.epochs_ >= 4:  # from epoch 5 on, wreck the weights (finitely)
            with torch.no_grad():
                for p in net.module_.parameters():
                    p.mul_(3.0)

    monkeypatch.setattr(TrainingMonitor, "on_epoch_begin", blow_up_after_epoch_4)
    model = AutoencoderTransformer(
        2, early_stopping=True, n_iter_no_change=3, **{**SMALL, "max_iter": 50}
    ).fit(X)
    valid = [-s for s in model.validation_scores_]
    best = int(np.argmin(valid))
    assert best <= 4 and model.n_iter_ < 50
    # recompute the validation loss of the returned weights on the same split
    from skae._net import ShuffledSplit, TensorDataset

    seed_split = model.net_.train_split
    assert isinstance(seed_split, ShuffledSplit)
    Xn = torch.from_numpy(model._normalise(X, model.offset_, model.scale_, np.float32))
    _, valid_set = seed_split(TensorDataset(Xn))
    with torch.no_grad():
        model.net_.module_.eval()
        recon, _ = model.net_.module_(valid_set.X)
        loss = torch.nn.functional.mse_loss(recon, valid_set.X).item()
    assert loss == pytest.approx(valid[best], rel=1e-5)


def test_validation_split_is_shuffled_and_seeded():
    from skae._net import ShuffledSplit, TensorDataset

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
    X = _data(n=1500, d=100)  # 1.2 MB: loky hands workers read-only memmaps
    assert X.nbytes > 1e6
    grid = {"n_components": [2, 4], "activation": ["relu", "tanh"]}
    base = AutoencoderTransformer(hidden_layer_sizes=(16,), max_iter=3, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        serial = GridSearchCV(base, grid, cv=2, n_jobs=1).fit(X)
        parallel = GridSearchCV(base, grid, cv=2, n_jobs=2).fit(X)
    assert not [w for w in caught if "writable" in str(w.message)]
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(
            serial.cv_results_[key], parallel.cv_results_[key]
        )


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
    }


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize("name", list(_datasets()))
def test_outputs_finite_and_not_constant(estimator, name):
    X = _datasets()[name]
    model = _quiet_fit(clone(estimator).set_params(random_state=0), X)
    Z = model.transform(X)
    recon = model.inverse_transform(Z)
    for out in (Z, recon, model.score_samples(X)):
        assert np.all(np.isfinite(out))
    assert Z.var(axis=0).max() > 0
    assert recon.var(axis=0).max() > 0


# 8. the bad-input catalogue ------------------------------------------------------


def _catalogue():
    pd = pytest.importorskip("pandas")
    sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.RandomState(0)
    good = rng.normal(size=(10, 3))
    return [
        ("nan", np.where(good > 1, np.nan, good), ValueError, "Input X contains NaN"),
        (
            "inf",
            np.where(good > 1, np.inf, good),
            ValueError,
            "Input X contains infinity",
        ),
        ("0 samples", np.empty((0, 3)), ValueError, r"0 sample\(s\)"),
        ("0 features", np.empty((10, 0)), ValueError, r"0 feature\(s\)"),
        ("1 sample", good[:1], ValueError, r"1 sample\(s\).*minimum of 2"),
        ("1-D", good[:, 0], ValueError, "Expected 2D array, got 1D array"),
        ("3-D", good.reshape(10, 3, 1), ValueError, "Found array with dim 3"),
        ("strings", np.array([["a", "b"], ["c", "d"]]), ValueError, "OneHotEncoder"),
        ("complex", good + 1j, ValueError, "Complex data not supported"),
        (
            "sparse with NaN",
            sparse.csr_matrix(np.where(good > 0.5, np.nan, good)),
            ValueError,
            "Input X contains NaN",
        ),
        (
            "pandas NA",
            pd.DataFrame(
                {"a": pd.array([1, None] * 5, dtype="Int64"), "b": good[:, 0]}
            ),
            ValueError,
            "Input X contains NaN",
        ),
        ("1e300", good * 1e300, ValueError, "too large to normalise"),
    ]


@pytest.mark.parametrize("case", range(12))
def test_bad_input_catalogue(case):
    name, X, error, match = _catalogue()[case]
    with pytest.raises(error, match=match):
        AutoencoderTransformer(2, **SMALL).fit(X)


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
    from skae._base import resolve_device

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
