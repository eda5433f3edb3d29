"""A newcomer's first hour: quiet default fits, warnings at the user's line,
informative progress output, messages that lead the way."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import AutoencoderTransformer, SparseAutoencoder, VAETransformer

ANSI = re.compile(r"\x1b\[")


@pytest.mark.slow
def test_default_fit_in_a_pipeline_is_quiet():
    X, y = load_digits(return_X_y=True)
    pipe = make_pipeline(
        MinMaxScaler(),
        AutoencoderTransformer(n_components=16, random_state=0),
        LogisticRegression(max_iter=2000),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pipe.fit(X, y)
    assert [str(w.message) for w in caught] == []


def test_a_max_iter_that_cuts_the_fit_warns_at_the_users_line():
    X = load_digits().data[:300]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        AutoencoderTransformer(2, max_iter=5, random_state=0).fit(X)  # this line
    (warning,) = caught
    assert warning.category is ConvergenceWarning
    assert warning.filename == __file__
    assert "stopped at max_iter=5" in str(warning.message)
    assert "Raise max_iter" in str(warning.message)


def test_overcomplete_plain_autoencoder_warns_regularised_ones_do_not():
    X = np.random.RandomState(0).normal(size=(50, 4))
    with pytest.warns(UserWarning, match="can learn to copy its input") as record:
        AutoencoderTransformer(4, max_iter=2, learning_rate_init=1e-9).fit(X)
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        SparseAutoencoder(8, max_iter=2).fit(X)
        AutoencoderTransformer(8, noise="gaussian", max_iter=2).fit(X)
        VAETransformer(8, max_iter=2).fit(X)


def _verbose_fit(capsys, **params):
    X = np.random.RandomState(0).normal(size=(100, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        AutoencoderTransformer(2, random_state=0, **params).fit(X)
    return capsys.readouterr()


def test_progress_lines_without_colour_codes(capsys):
    out = _verbose_fit(capsys, max_iter=4, verbose=1)
    lines = out.out.splitlines()
    assert not ANSI.search(out.out) and not ANSI.search(out.err)
    assert lines[0].startswith("AutoencoderTransformer: up to 4 epochs of 100 rows")
    assert [line.split("  ")[0] for line in lines[1:5]] == [
        "epoch 1/4",
        "epoch 2/4",
        "epoch 3/4",
        "epoch 4/4",
    ]
    assert "train loss" in lines[1] and "left" in lines[1]
    assert lines[-1].startswith("reached max_iter: 4 epochs")


def test_progress_reports_early_stopping_and_the_restored_epoch(capsys):
    X = np.random.RandomState(0).normal(size=(100, 5))
    model = AutoencoderTransformer(
        2,
        random_state=0,
        max_iter=200,
        early_stopping=True,
        n_iter_no_change=3,
        tol=0.01,
        verbose=1,
    ).fit(X)
    out = capsys.readouterr().out
    last = out.splitlines()[-1]
    stop = re.search(r"stopped after epoch (\d+): the valid loss improved by", last)
    restored = re.search(r"restored the weights of epoch (\d+)", last)
    assert stop and restored
    # the best epoch of all (best_validation_score_'s), within the last
    # n_iter_no_change + 1: an improvement smaller than tol does not reset
    # the count, but its weights are kept (as scikit-learn's MLP keeps them)
    assert int(restored.group(1)) == 1 + int(np.argmax(model.validation_scores_))
    assert int(stop.group(1)) - 3 <= int(restored.group(1)) <= int(stop.group(1))
    assert "valid loss" in out.splitlines()[1]


def test_verbose_2_shows_every_term(capsys):
    X = np.random.RandomState(0).normal(size=(60, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        VAETransformer(2, max_iter=2, verbose=2).fit(X)
    line = capsys.readouterr().out.splitlines()[1]
    assert "train reconstruction" in line and "train kl" in line


def test_non_numeric_message_names_the_column():
    df = pd.DataFrame({"size": [1.0, 2.0, 3.0], "colour": ["blue", "red", "blue"]})
    # (at the default categorical_features="from_dtype" such a frame is a
    # table, encoded inside: tests/test_tables.py; without it, refused)
    with pytest.raises(ValueError, match=r"column\(s\) \['colour'\]"):
        AutoencoderTransformer(categorical_features=None).fit(df)
    with pytest.raises(ValueError, match=r"column\(s\) at index \[1\]"):
        AutoencoderTransformer().fit(df.to_numpy())
