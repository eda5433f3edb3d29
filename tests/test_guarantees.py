"""The user guide's *Guarantees* that no other test states whole: every
public method of every estimator leaves the caller's arrays as they were,
also with networks whose layers write to their input, and a call that
fails leaves a fitted estimator as it was."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import fast_autoencoders, fast_estimators, fast_imputers
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

import skae


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _rows(dtype=np.float64):
    return np.random.RandomState(0).uniform(size=(40, 6)).astype(dtype)


def _calls(estimator, X):
    """(name, call) for every public method that reads an array."""
    calls = [
        ("fit", lambda: estimator.fit(X)),
        ("score_samples", lambda: estimator.score_samples(X)),
    ]
    if hasattr(estimator, "transform"):
        calls += [
            ("partial_fit", lambda: estimator.partial_fit(X)),
            ("transform", lambda: estimator.transform(X)),
            ("score", lambda: estimator.score(X)),
        ]
    if hasattr(estimator, "predict"):
        calls += [
            ("decision_function", lambda: estimator.decision_function(X)),
            ("predict", lambda: estimator.predict(X)),
        ]
    return calls


def _name(estimator):
    return type(estimator).__name__


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("estimator", fast_estimators(), ids=_name)
def test_no_method_writes_to_the_callers_array(estimator, dtype):
    estimator = clone(estimator)
    X = _rows(dtype)
    X.flags.writeable = True
    before = X.copy()
    for name, call in _calls(estimator, X):
        call()
        np.testing.assert_array_equal(X, before, err_msg=name)
    if hasattr(estimator, "inverse_transform"):
        Z = estimator.transform(X)
        codes = Z.copy()
        estimator.inverse_transform(Z)
        np.testing.assert_array_equal(Z, codes)


class _InPlace(torch.nn.Module):
    """A body whose first layer writes to its input (ReLU(inplace=True))."""

    def __init__(self, width):
        super().__init__()
        self.relu = torch.nn.ReLU(inplace=True)
        self.linear = torch.nn.LazyLinear(width)

    def forward(self, x):
        return self.linear(self.relu(x))


@pytest.mark.parametrize("estimator", fast_autoencoders(), ids=_name)
def test_networks_that_write_to_their_input_leave_the_callers_arrays(estimator):
    estimator = clone(estimator).set_params(
        encoder=_InPlace(8),
        decoder=_InPlace(8),
        hidden_layer_sizes=(512,),
        activation="relu",
        dropout=0.1,
    )
    X = _rows() - 0.5  # negative entries: an in-place ReLU would zero them
    before = X.copy()
    estimator.fit(X)
    Z = estimator.transform(X)
    codes = Z.copy()
    estimator.inverse_transform(Z)
    estimator.score_samples(X)
    np.testing.assert_array_equal(X, before)
    np.testing.assert_array_equal(Z, codes)


@pytest.mark.parametrize("imputer", fast_imputers(), ids=_name)
def test_the_imputer_leaves_the_callers_array(imputer):
    X = _rows()
    X[::3, 1] = np.nan
    before = X.copy()
    imputer = clone(imputer).fit(X)
    imputer.transform(X)
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("estimator", fast_estimators(), ids=_name)
def test_a_failed_call_leaves_the_fitted_estimator_as_it_was(estimator):
    estimator = clone(estimator).fit(_rows())
    state = dict(vars(estimator))
    bad = _rows()
    bad[0, 0] = np.nan
    for name, call in _calls(estimator, bad):
        with pytest.raises(ValueError):
            call()
        assert vars(estimator).keys() == state.keys(), name
        for key, value in state.items():
            assert vars(estimator)[key] is value, (name, key)


@pytest.mark.parametrize("penalty", ["l1", "kl"])
def test_a_decoder_that_writes_to_its_input_trains_as_one_that_does_not(penalty):
    # the code the penalty reads (and the sigmoid of penalty="kl", which
    # autograd keeps) is not the tensor the decoder may overwrite
    X = _rows() - 0.5
    decoder = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(4, 8))
    curves = []
    for inplace in (True, False):
        decoder[0].inplace = inplace  # the same weights either way
        model = skae.SparseAutoencoder(
            4, decoder=decoder, penalty=penalty, max_iter=3, random_state=0
        ).fit(X)
        curves.append(model.loss_curve_)
    assert curves[0] == curves[1]


def test_the_guarantees_section_names_tests_that_exist():
    root = Path(__file__).parent
    guide = (root.parent / "docs" / "user_guide.md").read_text()
    section = guide[guide.index("## Guarantees") :]
    named = re.findall(r"`(test_\w+\.py)(?:::(test_\w+))?`", section)
    assert len(named) > 20
    for file, test in named:
        source = (root / file).read_text()
        assert not test or f"def {test}(" in source, (file, test)
