"""skae's warnings point at a line worth reading and are not repeated for
every fit of a search (issue 32, item 8)."""

import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_validate

import skae

SKAE = Path(skae.__file__).parent


def _cut_short():
    # three epochs: the training loss is still falling when max_iter ends it
    return skae.AutoencoderTransformer(2, max_iter=3, random_state=0)


def _convergence(record):
    return [w for w in record if w.category is ConvergenceWarning]


def test_a_search_shows_the_convergence_warning_once_under_the_default_filter():
    # scikit-learn's parallel tasks set the warning filters anew for each
    # fit, which resets Python's record of what it has shown: before, each
    # of the folds printed its own warning (with its own figures)
    X = load_digits().data[::6]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("default")
        for _ in range(2):  # the same line, twice: 6 fits
            cross_validate(_cut_short(), X, cv=3)
    (warning,) = _convergence(record)
    assert "still falling" in str(warning.message)


def test_always_shows_every_one():
    X = load_digits().data[::6]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        cross_validate(_cut_short(), X, cv=3)
    assert len(_convergence(record)) == 3


def test_a_warning_in_a_worker_points_at_the_estimators_fit():
    # a worker's stack holds no line of the user's: the warning names the
    # estimator's fit, not the thread pool's or multiprocessing's code
    X = load_digits().data[::6]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with ThreadPoolExecutor(1) as pool:
            pool.submit(_cut_short().fit, X).result()
    (warning,) = _convergence(record)
    assert Path(warning.filename).parent == SKAE, warning.filename


@pytest.mark.slow
def test_grid_search_with_two_processes_prints_few_warnings_at_skae():
    # the case: a 6 x 3 search on two processes printed 15 warnings
    # located in multiprocessing/process.py
    code = """
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from skae import AutoencoderTransformer
X = load_digits().data[::6]
GridSearchCV(AutoencoderTransformer(max_iter=3, random_state=0),
             {"n_components": [2, 3, 4, 5, 6, 8]}, cv=3, n_jobs=2).fit(X)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    lines = [ln for ln in done.stderr.splitlines() if "ConvergenceWarning" in ln]
    # at most once in each of the two workers, and once for the refit
    assert 1 <= len(lines) <= 3, done.stderr
    for line in lines:
        location = line.split(": ConvergenceWarning")[0]
        assert not any(
            part in location for part in ("multiprocessing", "joblib", "sklearn")
        ), line
