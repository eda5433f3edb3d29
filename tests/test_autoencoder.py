"""Behaviour of AutoencoderTransformer (and the shared base it stands on)."""

import os
import pickle
import signal
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sparse
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import AutoencoderTransformer
from skae._data import Normalisation

SMALL = dict(
    hidden_layer_sizes=(32,), loss="mse", max_iter=20, batch_size=32, random_state=0
)


@pytest.fixture(scope="module")
def fitted(digits):
    return AutoencoderTransformer(4, **SMALL).fit(digits[0])


def _mse(A, B):
    return float(np.mean((A - B) ** 2))


# ---------------------------------------------------------------- learning


@pytest.mark.slow
def test_it_learns(digits):
    X = digits[0]
    ae = AutoencoderTransformer(8, **SMALL).fit(X)
    assert ae.n_iter_ == len(ae.loss_curve_) == 20
    assert ae.loss_curve_[-1] < 0.5 * ae.loss_curve_[0]
    # much better than predicting the mean of every feature
    assert -ae.score(X) < 0.5 * _mse(X, X.mean(axis=0))


def test_linear_autoencoder_matches_pca(digits):
    X = digits[0]
    k = 5
    pca_error = _mse(X, PCA(k).fit(X).inverse_transform(PCA(k).fit_transform(X)))
    ae = AutoencoderTransformer(
        k,
        hidden_layer_sizes=(),
        activation="identity",
        max_iter=300,
        learning_rate="constant",
        learning_rate_init=1e-2,
        batch_size=400,
        tol=0,
        random_state=0,
    ).fit(X)
    ae_error = -ae.score(X)
    # PCA is the optimum of the linear problem: reach it, not beat it
    assert pca_error * 0.999 < ae_error < pca_error * 1.05


@pytest.mark.slow
def test_default_pipeline_accuracy_on_digits():
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
    pipe = make_pipeline(
        MinMaxScaler(),
        AutoencoderTransformer(16, random_state=0),
        LogisticRegression(max_iter=2000),
    )
    assert pipe.fit(Xtr, ytr).score(Xte, yte) >= 0.90


@pytest.mark.slow
def test_grid_search_over_activation_in_parallel(digits):
    X, y = digits
    pipe = make_pipeline(
        AutoencoderTransformer(4, hidden_layer_sizes=(16,), max_iter=5, random_state=0),
        LogisticRegression(max_iter=500),
    )
    grid = GridSearchCV(
        pipe,
        {"autoencodertransformer__activation": ["relu", "tanh", "logistic"]},
        cv=2,
        n_jobs=2,
    ).fit(X, y)
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))


def test_grid_search_without_scorer_uses_reconstruction(digits):
    X = digits[0]
    grid = GridSearchCV(
        AutoencoderTransformer(
            hidden_layer_sizes=(16,), loss="mse", max_iter=10, random_state=0
        ),
        {"n_components": [1, 8]},
        cv=2,
    ).fit(X)
    # a wider code reconstructs better, and score is what selects
    assert grid.best_params_ == {"n_components": 8}


@pytest.mark.parametrize(
    "activation",
    [
        "relu",
        "leaky_relu",
        "prelu",
        "elu",
        "selu",
        "gelu",
        "silu",
        "tanh",
        "sigmoid",
        "logistic",
        "identity",
    ],
)
def test_every_activation_trains(digits, activation):
    X = digits[0][:100]
    ae = AutoencoderTransformer(
        2, hidden_layer_sizes=(8,), max_iter=3, activation=activation, random_state=0
    ).fit(X)
    assert np.all(np.isfinite(ae.transform(X)))


@pytest.mark.parametrize(
    "X, expected",
    [
        (np.eye(6)[np.arange(40) % 6], "bce"),  # binary
        (np.r_[np.zeros((30, 5)), np.full((5, 5), 255.0), np.ones((5, 5))], "bce"),
        (np.random.RandomState(0).randn(40, 5), "mse"),  # no mass at the bounds
        # a floor but no ceiling (zero-inflated, heavy upper tail)
        (np.r_[np.zeros((300, 5)), np.random.RandomState(0).rand(100, 5)], "mse"),
    ],
)
def test_auto_loss_picks_bce_for_data_at_a_floor_and_a_ceiling(X, expected):
    ae = AutoencoderTransformer(2, hidden_layer_sizes=(4,), max_iter=2).fit(X)
    assert ae.loss_ == expected
    # the fitted choice, not the parameter, drives the normalisation
    low = np.full(X.shape[1], X.min())
    np.testing.assert_allclose(ae.offset_, low if expected == "bce" else X.mean(0))


def test_auto_loss_is_kept_on_warm_start_and_explicit_switch_is_refused(digits):
    X = digits[0]
    ae = AutoencoderTransformer(2, hidden_layer_sizes=(4,), max_iter=2, warm_start=True)
    assert ae.fit(X).loss_ == "bce"  # the digits pile up at 0 and 16
    # a warm start on data that alone would resolve to "mse" keeps "bce"
    assert ae.fit(X + np.random.RandomState(0).rand(*X.shape)).loss_ == "bce"
    with pytest.raises(ValueError, match="cannot switch to loss='mse'"):
        ae.set_params(loss="mse").fit(X)
    assert ae.loss_ == "bce" and ae.n_iter_ == 4


def test_bce_loss_reconstructs_in_original_units(digits):
    X = digits[0]
    ae = AutoencoderTransformer(
        8, **{**SMALL, "loss": "bce", "max_iter": 60, "learning_rate_init": 3e-3}
    ).fit(X)
    recon = ae.inverse_transform(ae.transform(X))
    # sigmoid output mapped back onto the data's [min, max]
    assert recon.min() >= X.min() - 1e-9 and recon.max() <= X.max() + 1e-9
    assert -ae.score(X) < 0.5 * _mse(X, X.mean(axis=0))


# ------------------------------------------------------ PCA-like behaviour


def test_shapes_and_round_trip(fitted, digits):
    X = digits[0]
    Z = fitted.transform(X)
    assert Z.shape == (400, 4)
    assert fitted.inverse_transform(Z).shape == X.shape
    np.testing.assert_array_equal(fitted.fit_transform(X), fitted.transform(X))


@pytest.mark.parametrize(
    "dtype, expected",
    [(np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64)],
)
def test_dtypes_like_pca(digits, dtype, expected):
    X = digits[0].astype(dtype)
    ae = AutoencoderTransformer(3, **SMALL).fit(X)
    Z = ae.transform(X)
    assert Z.dtype == expected
    assert ae.inverse_transform(Z).dtype == expected
    assert ae.score_samples(X).dtype == np.float64


def test_score_is_minus_mean_squared_error(fitted, digits):
    X = digits[0]
    recon = fitted.inverse_transform(fitted.transform(X))
    per_sample = np.mean((X - recon) ** 2, axis=1)
    np.testing.assert_allclose(fitted.score_samples(X), -per_sample, rtol=1e-6)
    assert fitted.score(X) == pytest.approx(-per_sample.mean(), rel=1e-6)


def test_score_samples_flags_outliers(fitted, digits):
    X = digits[0]
    odd = np.random.RandomState(0).uniform(0, 16, size=(5, 64))
    assert fitted.score_samples(odd).max() < np.median(fitted.score_samples(X))


def test_units_do_not_matter(digits):
    X = digits[0]
    a = AutoencoderTransformer(4, **SMALL).fit(X)
    b = AutoencoderTransformer(4, **SMALL).fit(1000.0 * X - 7.0)
    recon_a = a.inverse_transform(a.transform(X))
    recon_b = b.inverse_transform(b.transform(1000.0 * X - 7.0))
    np.testing.assert_allclose((recon_b + 7.0) / 1000.0, recon_a, atol=1e-3)
    np.testing.assert_allclose(b.score(1000.0 * X - 7.0), 1e6 * a.score(X), rtol=1e-3)


def test_feature_names_and_pandas_output(digits):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(digits[0][:, :10], columns=[f"px{i}" for i in range(10)])
    ae = AutoencoderTransformer(3, **SMALL).set_output(transform="pandas").fit(X)
    np.testing.assert_array_equal(ae.feature_names_in_, X.columns)
    out = ae.transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [
        "autoencodertransformer0",
        "autoencodertransformer1",
        "autoencodertransformer2",
    ]
    np.testing.assert_array_equal(out.index, X.index)


def test_small_data_below_batch_size(digits):
    X = digits[0][:5]
    ae = AutoencoderTransformer(2, batch_size=128, max_iter=3, random_state=0).fit(X)
    assert ae.transform(X).shape == (5, 2)


def test_early_stopping_records_validation_and_restores_best(digits):
    X = digits[0]
    ae = AutoencoderTransformer(
        4, early_stopping=True, n_iter_no_change=3, **{**SMALL, "max_iter": 200}
    ).fit(X)
    assert ae.n_iter_ < 200  # it stopped
    assert len(ae.validation_scores_) == ae.n_iter_
    assert ae.best_validation_score_ == max(ae.validation_scores_)
    # the weights kept are the best epoch's, not the last
    history = ae.net_.history
    best_epoch = int(np.argmax(ae.validation_scores_))
    assert best_epoch < ae.n_iter_ - 1
    valid = ae.net_.get_split_datasets(
        __import__("skae._data", fromlist=["TensorDataset"]).TensorDataset(
            torch.from_numpy(Normalisation(ae.offset_, ae.scale_).apply(X, np.float32))
        )
    )[1]
    with torch.no_grad():
        ae.net_.module_.eval()
        recon, _ = ae.net_.module_(valid.X)
        loss = torch.nn.functional.mse_loss(recon, valid.X).item()
    assert loss == pytest.approx(history[best_epoch, "valid_loss"], rel=1e-4)


def test_without_early_stopping_no_validation(fitted):
    assert fitted.validation_scores_ is None


def test_warm_start_continues(digits):
    X = digits[0]
    ae = AutoencoderTransformer(4, warm_start=True, **{**SMALL, "max_iter": 5}).fit(X)
    first_loss = ae.loss_curve_[-1]
    ae.fit(X)
    assert ae.n_iter_ == 10 and len(ae.loss_curve_) == 10
    assert ae.loss_curve_[-1] < first_loss


def test_verbose_prints_progress(digits, capsys):
    AutoencoderTransformer(
        2, hidden_layer_sizes=(8,), max_iter=2, verbose=1, random_state=0
    ).fit(digits[0])
    out = capsys.readouterr().out
    assert "train loss" in out and "epoch 2/2" in out and out.count("\n") >= 4


def test_silent_by_default(digits, capsys):
    AutoencoderTransformer(2, hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(
        digits[0]
    )
    assert capsys.readouterr().out == ""


# ------------------------------------------ reproducibility and persistence


def test_same_seed_bit_identical_and_global_state_untouched(digits):
    X = digits[0]
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()
    a = AutoencoderTransformer(4, **SMALL).fit(X).transform(X)
    b = AutoencoderTransformer(4, **SMALL).fit(X).transform(X)
    np.testing.assert_array_equal(a, b)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.random.get_state()[1].tolist() == np_state[1].tolist()


def test_no_seed_differs(digits):
    X = digits[0]
    params = {**SMALL, "random_state": None}
    a = AutoencoderTransformer(4, **params).fit(X).transform(X)
    b = AutoencoderTransformer(4, **params).fit(X).transform(X)
    assert not np.array_equal(a, b)


def test_pickle_joblib_and_clone(fitted, digits, tmp_path):
    X = digits[0]
    expected = fitted.transform(X)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(fitted)).transform(X), expected
    )
    joblib.dump(fitted, tmp_path / "ae.joblib")
    np.testing.assert_array_equal(
        joblib.load(tmp_path / "ae.joblib").transform(X), expected
    )
    fresh = clone(fitted)
    assert not hasattr(fresh, "net_")
    assert fresh.get_params() == fitted.get_params()


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[1.0, np.nan], [2.0, 3.0]]), "NaN"),
        (np.array([[1.0, np.inf], [2.0, 3.0]]), "infinity"),
        (np.empty((0, 3)), "0 sample"),
        (np.empty((3, 0)), "0 feature"),
        (np.array([["a", "b"], ["c", "d"]]), "could not convert|dtype"),
        (np.ones((1, 3)), "1 sample"),
    ],
    ids=["nan", "inf", "no-rows", "no-columns", "strings", "one-row"],
)
def test_bad_fit_input(X, match):
    with pytest.raises(ValueError, match=match):
        AutoencoderTransformer(**SMALL).fit(X)


@pytest.mark.parametrize("scale", [1e39, 1e50])
def test_units_beyond_float32_range_do_not_matter(scale):
    # float64 data beyond float32's range (3.4e38) is normalised in float64
    # before the net's float32: the same codes as the unscaled data's model
    X = np.random.RandomState(0).normal(size=(100, 6))
    a = AutoencoderTransformer(2, **SMALL).fit(X)
    b = AutoencoderTransformer(2, **SMALL).fit(scale * X)
    np.testing.assert_allclose(b.transform(scale * X), a.transform(X), atol=1e-6)
    np.testing.assert_allclose(
        b.transform(sparse.csr_matrix(scale * X)), a.transform(X), atol=1e-6
    )
    assert np.isfinite(b.score_samples(scale * X)).all()


@pytest.mark.slow
def test_default_beats_pca_on_held_out_digits_at_2_and_8():
    # the foundation's quality bar, at every default (python -m skae.demo
    # prints the same comparison)
    X, _ = load_digits(return_X_y=True)
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    for k in (2, 8):
        errors = {}
        for model in (PCA(k), AutoencoderTransformer(k, random_state=0)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X_train)
            recon = model.inverse_transform(model.transform(X_test))
            errors[type(model).__name__] = np.mean((X_test - recon) ** 2)
        assert errors["AutoencoderTransformer"] < 0.9 * errors["PCA"], (k, errors)


def test_values_too_large_to_normalise():
    # a spread of 1e300 normalises (the RMS is taken on rescaled chunks) ...
    X = np.random.RandomState(0).normal(size=(20, 3)) * 1e300
    assert np.isfinite(AutoencoderTransformer(**SMALL).fit(X).transform(X)).all()
    # ... a mean that overflows float64 does not
    with pytest.raises(ValueError, match="too large to normalise"):
        AutoencoderTransformer(**SMALL).fit(np.full((20, 3), 1.7e308))


def test_wrong_width_at_transform_and_inverse(fitted):
    with pytest.raises(
        ValueError,
        match="X has 3 features, but AutoencoderTransformer is expecting 64 features",
    ):
        fitted.transform(np.ones((2, 3)))
    with pytest.raises(ValueError, match="X has 7 features.*expecting 4 features"):
        fitted.inverse_transform(np.ones((2, 7)))


def test_not_fitted():
    ae = AutoencoderTransformer()
    for method in (ae.transform, ae.inverse_transform, ae.score_samples, ae.score):
        with pytest.raises(NotFittedError):
            method(np.ones((2, 3)))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_components": 0}, "n_components"),
        ({"activation": "swish"}, "activation"),
        ({"loss": "l1"}, "loss"),
        ({"dropout": 1.0}, "dropout"),
        ({"batch_size": 0}, "batch_size"),
        ({"learning_rate_init": 0.0}, "learning_rate_init"),
        ({"max_iter": 0}, "max_iter"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": ((8,),)}, "hidden_layer_sizes"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_invalid_parameters(params, match, digits):
    with pytest.raises(ValueError, match=match):
        AutoencoderTransformer(**{**SMALL, **params}).fit(digits[0])


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu_is_a_clear_error(digits):
    with pytest.raises(ValueError, match="no CUDA GPU is available"):
        AutoencoderTransformer(device="cuda", **SMALL).fit(digits[0])


def test_failed_fit_leaves_fitted_model_unchanged(fitted, digits):
    model = pickle.loads(pickle.dumps(fitted))
    before = model.transform(digits[0])
    with pytest.raises(ValueError):
        model.fit(np.full((5, 64), np.nan))
    with pytest.raises(ValueError):
        model.set_params(device="tpu").fit(digits[0][:, :10])
    model.set_params(device="auto")
    assert model.n_features_in_ == 64
    np.testing.assert_array_equal(model.transform(digits[0]), before)


def test_interrupt_propagates_and_keeps_model(fitted, digits, monkeypatch):
    from skae import _net

    model = pickle.loads(pickle.dumps(fitted))
    before = model.transform(digits[0])
    real_iter = _net.TensorBatches.__iter__

    def interrupted(self):
        for i, batch in enumerate(real_iter(self)):
            if i == 2:
                os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C
            yield batch

    monkeypatch.setattr(_net.TensorBatches, "__iter__", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.fit(digits[0][:, :20])
    assert model.n_features_in_ == 64
    np.testing.assert_array_equal(model.transform(digits[0]), before)


def test_early_stopping_is_not_an_interrupt(digits):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converged: no ConvergenceWarning either
        ae = AutoencoderTransformer(
            2,
            early_stopping=True,
            n_iter_no_change=2,
            tol=10.0,
            learning_rate="constant",  # one-cycle judges after its peak only
            **SMALL,
        ).fit(digits[0])
    # epoch 1 improves on nothing; epochs 2 and 3 miss by tol=10 -> stop
    assert ae.n_iter_ == 3


@pytest.mark.gpu
def test_fits_and_transforms_on_gpu(digits):
    X = digits[0]
    ae = AutoencoderTransformer(4, device="cuda", **SMALL).fit(X)
    assert next(ae.net_.module_.parameters()).is_cuda
    cpu = AutoencoderTransformer(4, device="cpu", **SMALL).fit(X)
    assert ae.transform(X).shape == cpu.transform(X).shape
    assert -ae.score(X) < 0.5 * _mse(X, X.mean(axis=0))


def test_transform_accepts_views_read_only_and_reversed(fitted, digits):
    X = np.asarray(digits[0], dtype=np.float32)
    expected = fitted.transform(X)
    read_only = X.copy()
    read_only.flags.writeable = False
    np.testing.assert_array_equal(fitted.transform(read_only), expected)
    # float32 products may differ in the last bit with the rows' order
    np.testing.assert_allclose(fitted.transform(X[::-1]), expected[::-1], rtol=1e-5)
    np.testing.assert_array_equal(fitted.transform(X[:, ::-1][:, ::-1]), expected)
    assert np.array_equal(X, np.asarray(digits[0], dtype=np.float32))  # untouched
