"""``inverse_transform`` follows ``set_output``, as ``transform`` does."""

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import fast_autoencoders
from sklearn import config_context
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

ESTIMATORS = fast_autoencoders()
IDS = [f"{type(e).__name__}-{i}" for i, e in enumerate(ESTIMATORS)]


@pytest.fixture(scope="module")
def df():
    X = np.random.RandomState(0).rand(30, 4)
    return pd.DataFrame(X, columns=["a", "b", "c", "d"], index=range(50, 80))


def _fit(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clone(estimator).set_params(random_state=0).fit(X)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_inverse_transform_gives_a_dataframe_of_the_input_columns(estimator, df):
    model = _fit(estimator, df).set_output(transform="pandas")
    codes = model.transform(df)
    recon = model.inverse_transform(codes)
    assert isinstance(recon, pd.DataFrame)
    assert list(recon.columns) == ["a", "b", "c", "d"]
    assert list(recon.index) == list(df.index)
    np.testing.assert_array_equal(
        recon.to_numpy(), model.set_output(transform="default").inverse_transform(codes)
    )


def test_without_feature_names_the_columns_are_x0_x1(df):
    model = _fit(ESTIMATORS[0], df.to_numpy())
    with config_context(transform_output="pandas"):
        recon = model.inverse_transform(model.transform(df.to_numpy()))
    assert list(recon.columns) == ["x0", "x1", "x2", "x3"]


def test_polars_output(df):
    pl = pytest.importorskip("polars")
    model = _fit(ESTIMATORS[0], df).set_output(transform="polars")
    recon = model.inverse_transform(model.transform(df))
    assert isinstance(recon, pl.DataFrame) and recon.columns == ["a", "b", "c", "d"]
