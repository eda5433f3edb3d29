"""Reliability, round three (issue 31): the imputer, the outlier detector and
the ONNX converters never answer wrong in silence.

Self-contained (no conftest imports) and written against the public API, so
that it runs on older commits too.
"""

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import (
    AutoencoderImputer,
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    VAETransformer,
)

TINY = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)


def tiny_imputer(**params):
    return AutoencoderImputer(AutoencoderTransformer(2, **TINY), **params)


@pytest.fixture
def X_missing():
    X = np.random.RandomState(0).normal(size=(40, 4))
    X[::3, 0] = np.nan
    X[1::4, 3] = np.nan
    return X


# ------------------------------------- 1. keep_empty_features keeps values


def test_keep_empty_features_keeps_the_observed_entries_as_simple_imputer(
    X_missing,
):
    X_fit = X_missing.copy()
    X_fit[:, 2] = np.nan  # empty at fit
    X_new = X_missing[:10].copy()
    X_new[::2, 2] = np.nan  # observed in half the new rows
    out = tiny_imputer(keep_empty_features=True).fit(X_fit).transform(X_new)
    expected = SimpleImputer(keep_empty_features=True).fit(X_fit).transform(X_new)
    # observed entries returned unchanged, missing ones 0, as SimpleImputer
    np.testing.assert_array_equal(out[:, 2], expected[:, 2])
    np.testing.assert_array_equal(out[1::2, 2], X_new[1::2, 2])
    np.testing.assert_array_equal(out[::2, 2], 0)
    # and every observed entry elsewhere, bit for bit
    observed = ~np.isnan(X_new)
    np.testing.assert_array_equal(out[observed], X_new[observed])


# ------------------------------------------- 5. missing_values other than NaN


def test_a_nan_is_refused_when_missing_values_is_not_nan(X_missing):
    X = np.nan_to_num(X_missing, nan=-1.0)
    imputer = tiny_imputer(missing_values=-1).fit(X)
    before = imputer.transform(X)
    with_nan = X.copy()
    with_nan[0, 1] = np.nan
    match = r"Input X contains NaN, but missing_values=-1.*missing_values=np\.nan"
    # as SimpleImputer(missing_values=-1): a ValueError naming the NaN
    with pytest.raises(ValueError, match="Input X contains NaN"):
        SimpleImputer(missing_values=-1).fit(with_nan)
    with pytest.raises(ValueError, match=match):
        imputer.transform(with_nan)
    with pytest.raises(ValueError, match=match):
        imputer.fit(with_nan[:, :3])
    # the failed fit left the fitted imputer as it was
    assert imputer.n_features_in_ == 4
    np.testing.assert_array_equal(imputer.transform(X), before)


def test_missing_values_none_imputes_the_none_entries_of_an_object_array():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 3)).astype(object)
    holes = rng.rand(30, 3) < 0.2
    X[holes] = None
    out = tiny_imputer(missing_values=None).fit_transform(X)
    assert out.shape == (30, 3) and np.isfinite(out).all()
    np.testing.assert_array_equal(out[~holes], X[~holes].astype(float))
    # a NaN is not None: refused, as a NaN is for any other placeholder
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        tiny_imputer(missing_values=None).fit(X)


# ------------------------ 15. the detector's split and a range-bound model


@pytest.mark.parametrize("seed", range(6))
def test_validation_fraction_with_a_bernoulli_vae_fits_for_every_split(seed):
    # continuous data in (0, 1): X's minimum and maximum each sit in one row,
    # which a random 20% split held out for 3 of these 6 seeds
    X = np.random.RandomState(0).rand(60, 4)
    vae = VAETransformer(2, likelihood="bernoulli", **TINY)
    detector = AutoencoderOutlierDetector(
        vae, validation_fraction=0.2, random_state=seed
    ).fit(X)
    # the model spans X's range, so it scores every training row
    assert detector.predict(X).shape == (60,)
    assert np.isfinite(detector.offset_)


def test_a_failed_fit_leaves_a_fitted_detector_unchanged():
    X = np.random.RandomState(0).rand(20, 4)
    detector = AutoencoderOutlierDetector(
        AutoencoderTransformer(2, **TINY), validation_fraction=0.2
    ).fit(X)
    estimator, offset = detector.estimator_, detector.offset_
    with pytest.raises(ValueError, match="too few rows"):
        detector.fit(X[:2, :3])
    assert detector.n_features_in_ == 4
    assert detector.estimator_ is estimator and detector.offset_ == offset


# ---------------------------------- 16a. the indicator under polars output


@pytest.mark.parametrize("how", ["set_config", "set_output"])
def test_add_indicator_under_polars_output(X_missing, how):
    pl = pytest.importorskip("polars")
    imputer = tiny_imputer(add_indicator=True)
    if how == "set_output":
        imputer.set_output(transform="polars")
        out = imputer.fit(X_missing).transform(X_missing)
    else:
        with sklearn.config_context(transform_output="polars"):
            out = imputer.fit(X_missing).transform(X_missing)
    assert isinstance(out, pl.DataFrame)
    assert out.columns == ["x0", "x1", "x2", "x3"] + [
        "missingindicator_x0",
        "missingindicator_x3",
    ]
    np.testing.assert_array_equal(out.to_numpy()[:, 4:], np.isnan(X_missing)[:, [0, 3]])


# ------------------------------------------------------------------ minor


def test_n_passes_refuses_a_bool(X_missing):
    with pytest.raises(ValueError, match="n_passes.*True"):
        tiny_imputer(n_passes=True).fit(X_missing)
    imputer = tiny_imputer().fit(X_missing)
    before = imputer.transform(X_missing)
    imputer.set_params(n_passes=True)
    with pytest.raises(ValueError, match="n_passes.*True"):
        imputer.transform(X_missing)
    with pytest.raises(ValueError, match="n_passes.*True"):
        imputer.fit(X_missing[:, :3])
    assert imputer.n_features_in_ == 4
    np.testing.assert_array_equal(
        imputer.set_params(n_passes=2).transform(X_missing), before
    )


def test_the_detector_passes_a_dataframe_to_its_model():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    df = pd.DataFrame(rng.normal(size=(40, 4)), columns=["a", "b", "c", "d"])
    model = make_pipeline(
        ColumnTransformer([("keep", StandardScaler(), ["a", "c"])]),
        AutoencoderTransformer(1, **TINY),
    )
    for fraction in (None, 0.25):
        detector = AutoencoderOutlierDetector(
            clone(model), validation_fraction=fraction, random_state=0
        ).fit(df)
        assert list(detector.feature_names_in_) == ["a", "b", "c", "d"]
        scores = detector.score_samples(df)
        np.testing.assert_allclose(scores, detector.estimator_.score_samples(df))
        assert detector.predict(df).shape == (40,)


def test_onnx_export_of_an_unfitted_model_raises_not_fitted():
    skl2onnx = pytest.importorskip("skl2onnx")
    skae_onnx = pytest.importorskip("skae.onnx")
    X = np.zeros((2, 3), dtype=np.float32)
    with pytest.raises(NotFittedError):
        skl2onnx.to_onnx(AutoencoderTransformer(2), X)
    with pytest.raises(NotFittedError):
        skl2onnx.to_onnx(make_pipeline(AutoencoderTransformer(2)), X)
    with pytest.raises(NotFittedError):
        skae_onnx.to_onnx_inverse(AutoencoderTransformer(2))


def test_a_row_holding_both_extremes_is_fitted_once():
    X = np.random.RandomState(0).uniform(size=(20, 3))
    X[5] = [-10.0, 10.0, 0.5]  # X's smallest and largest value in one row
    for seed in range(10):
        detector = AutoencoderOutlierDetector(
            AutoencoderTransformer(**TINY), validation_fraction=0.25, random_state=seed
        ).fit(X)
        assert detector.estimator_.n_samples_seen_ == 20 - 5
