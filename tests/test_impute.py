"""AutoencoderImputer: an sklearn imputer on skae's masked-loss engine."""

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skae import (
    AutoencoderImputer,
    AutoencoderTransformer,
    ContractiveAutoencoder,
    DenoisingAutoencoder,
    SparseAutoencoder,
    VAETransformer,
)
from skae._impute import default_estimator

FAST = DenoisingAutoencoder(
    8, hidden_layer_sizes=(32,), noise="masking", max_iter=20, random_state=0
)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def digits_missing():
    X = load_digits().data
    missing = np.random.RandomState(0).rand(*X.shape) < 0.3
    X_missing = X.copy()
    X_missing[missing] = np.nan
    return X, X_missing, missing


def test_observed_entries_are_unchanged_bit_for_bit(digits_missing):
    _, X_missing, missing = digits_missing
    out = AutoencoderImputer(FAST).fit(X_missing[:500]).transform(X_missing[:500])
    np.testing.assert_array_equal(out[~missing[:500]], X_missing[:500][~missing[:500]])
    assert not np.isnan(out).any()


@pytest.mark.slow
def test_beats_the_mean_on_digits_with_30_percent_missing(digits_missing):
    X, X_missing, missing = digits_missing
    imputer = AutoencoderImputer(
        DenoisingAutoencoder(
            32, noise="masking", noise_level=0.25, max_iter=60, random_state=0
        )
    )
    out = imputer.fit_transform(X_missing)
    mean = SimpleImputer(strategy="mean").fit_transform(X_missing)
    rmse = np.sqrt(np.mean((out[missing] - X[missing]) ** 2))
    rmse_mean = np.sqrt(np.mean((mean[missing] - X[missing]) ** 2))
    assert rmse < 0.75 * rmse_mean, (rmse, rmse_mean)


def test_the_loss_ignores_the_filler(digits_missing):
    # the same observed data, with other values written under the missing
    # entries, trains the same network: missing entries never reach the loss
    _, X_missing, missing = digits_missing
    X_other = np.where(missing, 1e6, X_missing)[:300]
    a = AutoencoderImputer(FAST, missing_values=1e6).fit(X_other)
    b = AutoencoderImputer(FAST).fit(X_missing[:300])
    np.testing.assert_array_equal(a.transform(X_other), b.transform(X_missing[:300]))


def test_pipeline_with_pandas_output(digits_missing):
    X, X_missing, _ = digits_missing
    y = load_digits().target
    columns = [f"pixel{i}" for i in range(64)]
    df = pd.DataFrame(X_missing[:400], columns=columns)
    pipe = make_pipeline(
        AutoencoderImputer(FAST, add_indicator=True),
        LogisticRegression(max_iter=300),
    ).set_output(transform="pandas")
    pipe.fit(df, y[:400])
    imputed = pipe[0].transform(df)
    assert isinstance(imputed, pd.DataFrame)
    assert list(imputed.columns[:64]) == columns
    assert imputed.columns[64].startswith("missingindicator_pixel")
    assert pipe.score(df, y[:400]) > 0.8


def test_add_indicator(digits_missing):
    _, X_missing, missing = digits_missing
    out = AutoencoderImputer(FAST, add_indicator=True).fit_transform(X_missing[:200])
    with_missing = missing[:200].any(axis=0)
    assert out.shape[1] == 64 + with_missing.sum()
    np.testing.assert_array_equal(out[:, 64:], missing[:200][:, with_missing])


def test_no_missing_values_at_all(digits_missing):
    X = digits_missing[0][:200]
    out = AutoencoderImputer(FAST).fit(X).transform(X)
    np.testing.assert_array_equal(out, X)


def test_a_feature_missing_everywhere_is_treated_as_sklearn_does():
    X = np.random.RandomState(0).normal(size=(40, 4))
    X[::3, 0] = np.nan
    X[:, 2] = np.nan
    skipping = r"Skipping features without any observed values: \[2\]"
    with pytest.warns(UserWarning, match=skipping):
        SimpleImputer().fit(X).transform(X)
    imputer = AutoencoderImputer(FAST).fit(X)
    with pytest.warns(UserWarning, match=skipping):
        out = imputer.transform(X)
    assert out.shape == (40, 3) and not np.isnan(out).any()
    kept = AutoencoderImputer(FAST, keep_empty_features=True).fit(X).transform(X)
    assert kept.shape == (40, 4)
    np.testing.assert_array_equal(kept[:, 2], 0)
    assert SimpleImputer(keep_empty_features=True).fit_transform(X)[0, 2] == 0


def test_other_placeholders(digits_missing):
    _, X_missing, missing = digits_missing
    X = np.where(missing, -1, X_missing)[:200]
    out = AutoencoderImputer(FAST, missing_values=-1).fit_transform(X)
    assert (out[missing[:200]] != -1).all()


def test_nan_is_accepted_by_the_imputer_only(digits_missing):
    _, X_missing, _ = digits_missing
    with pytest.raises(ValueError, match="Input X contains NaN"):
        AutoencoderTransformer(2, max_iter=2).fit(X_missing)
    fitted = AutoencoderTransformer(2, max_iter=2).fit(np.nan_to_num(X_missing))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        fitted.transform(X_missing)
    with pytest.raises(ValueError, match="cannot be a VAETransformer"):
        AutoencoderImputer(VAETransformer()).fit(X_missing)


def test_the_inner_estimators_parameters_are_validated(digits_missing):
    _, X_missing, _ = digits_missing
    bad = DenoisingAutoencoder(n_components=0)
    with pytest.raises(ValueError, match="n_components"):
        AutoencoderImputer(bad).fit(X_missing)


def test_a_penalty_that_reads_the_input_sees_it_filled_in(digits_missing):
    # the contractive penalty differentiates the encoder at the input: fed
    # the raw rows, NaN and all, its gradient was NaN and training diverged
    _, X_missing, missing = digits_missing
    imputer = AutoencoderImputer(
        ContractiveAutoencoder(4, hidden_layer_sizes=(16,), max_iter=3, random_state=0)
    )
    out = imputer.fit_transform(X_missing[:200])
    assert np.isfinite(out).all()
    assert np.isfinite(imputer.estimator_.loss_curve_).all()


def test_a_sparse_autoencoder_reports_its_code_on_the_rows_as_trained(
    digits_missing,
):
    # its diagnostics come from the training rows with the missing entries
    # filled in as the network saw them: their features' observed means
    _, X_missing, _ = digits_missing
    sparse = SparseAutoencoder(4, hidden_layer_sizes=(16,), max_iter=3, random_state=0)
    imputer = AutoencoderImputer(sparse).fit(X_missing)
    model = imputer.estimator_
    kept = X_missing[:, ~np.isnan(X_missing).all(axis=0)]
    filled = np.where(np.isnan(kept), np.nanmean(kept, axis=0), kept)
    Z = np.abs(model.transform(filled))
    np.testing.assert_allclose(model.mean_activation_, Z.mean(axis=0), rtol=1e-4)
    assert 0.0 <= model.inactive_fraction_ <= 1.0
    assert np.isfinite(imputer.transform(X_missing)).all()


def _documented_default(n):
    """The docstring's default estimator for a fit on ``n`` rows."""
    doc = " ".join(AutoencoderImputer.__doc__.split())
    documented = re.search(r"None means ``(DenoisingAutoencoder\(.*?\))``", doc)
    names = {"DenoisingAutoencoder": DenoisingAutoencoder, "ceil": math.ceil, "n": n}
    return eval(documented.group(1), names)


def test_the_default_estimator_is_the_documented_one(digits_missing):
    _, X_missing, _ = digits_missing
    with warnings.catch_warnings():
        # its epoch budget is chosen for the imputation: no ConvergenceWarning
        warnings.simplefilter("error", ConvergenceWarning)
        imputer = AutoencoderImputer().fit(X_missing[:300])
    assert type(imputer.estimator_) is DenoisingAutoencoder
    assert imputer.estimator_.get_params() == _documented_default(300).get_params()
    assert imputer.estimator_.n_iter_ == 40
    for n in (300, 1600, 5000, 6400, 25_000, 50_000, 10**6):
        expected = _documented_default(n).get_params()
        assert default_estimator(n).get_params() == expected


def test_the_default_epochs_follow_the_rows():
    # 40 epochs, then a budget of rows visited: the fit time stops growing
    # with the rows; the batch is 128 rows at every size
    sizes = (300, 1600, 3200, 6400, 25_000)
    assert {default_estimator(n).batch_size for n in sizes} == {128}
    assert {default_estimator(n).max_iter for n in sizes} == {40}
    assert default_estimator(25_001).max_iter == 40
    assert default_estimator(50_000).max_iter == 20
    assert default_estimator(10**6).max_iter == 1
    assert default_estimator().max_iter == 40  # None: a small fit


def test_a_given_estimator_keeps_its_batch_size_and_epochs(digits_missing):
    _, X_missing, _ = digits_missing
    given = DenoisingAutoencoder(
        8, noise="masking", batch_size=100, max_iter=3, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        imputer = AutoencoderImputer(given).fit(X_missing[:300])
    assert (imputer.estimator_.batch_size, imputer.estimator_.n_iter_) == (100, 3)
    assert (given.batch_size, given.max_iter) == (100, 3)


def test_a_conv_estimator_with_a_learning_rate_schedule(digits_missing):
    # the image recipe of the user guide, tiny: conv blocks on the digits'
    # 8 x 8 images and skorch's one-cycle schedule, stepped every batch
    import torch
    from skorch.callbacks import Callback, LRScheduler

    from skae.nn import ConvDecoder, ConvEncoder

    rates = []  # the callbacks are copied for the fit; the list is shared

    class Rates(Callback):
        def on_batch_begin(self, net, training=False, **kwargs):
            if training:  # the rate this batch's step uses
                rates.append(net.optimizer_.param_groups[0]["lr"])

    _, X_missing, missing = digits_missing
    X_missing, missing = X_missing[:256], missing[:256]
    epochs, batch_size = 3, 128
    schedule = LRScheduler(
        torch.optim.lr_scheduler.OneCycleLR,
        max_lr=3e-3,
        epochs=epochs,
        steps_per_epoch=2,  # ceil(256 / 128)
        step_every="batch",
    )
    estimator = DenoisingAutoencoder(
        16,
        encoder=ConvEncoder((1, 8, 8), channels=(4, 4)),
        decoder=ConvDecoder((1, 8, 8), channels=(4, 4)),
        loss="mse",
        noise="masking",
        batch_size=batch_size,
        max_iter=epochs,
        callbacks=[schedule, Rates()],
        random_state=0,
    )
    imputer = AutoencoderImputer(estimator, n_passes=1).fit(X_missing)
    out = imputer.transform(X_missing)
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(out[~missing], X_missing[~missing])
    assert imputer.estimator_.n_iter_ == epochs
    # the schedule ran, every batch, to its end: up past learning_rate_init
    # (1e-3), then far below it
    assert len(rates) == epochs * 2
    assert max(rates) > 1e-3
    assert rates[-1] < 1e-5
    imputer.set_params(n_passes=2)
    assert np.isfinite(imputer.transform(X_missing)).all()


def test_only_the_default_estimator_is_spared_the_max_iter_warning(digits_missing):
    # without touching the process's warning filters (catch_warnings is not
    # thread-safe): the estimator is told not to warn
    _, X_missing, _ = digits_missing
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        AutoencoderImputer().fit(X_missing[:300])  # 40 epochs: cut short
        with pytest.warns(ConvergenceWarning, match="still falling"):
            AutoencoderImputer(
                DenoisingAutoencoder(8, noise="masking", max_iter=5, random_state=0)
            ).fit(X_missing[:300])
