"""scikit-learn's estimator checks over every public estimator, no expected failures."""

import pytest
from conftest import fast_estimators, fast_imputers
from sklearn.utils.estimator_checks import parametrize_with_checks

import skae

ESTIMATORS = [
    *fast_estimators(),
    *fast_imputers(),
    # TopK builds its own linear network (no hidden layers to shrink), so it
    # is not among the fast settings other tests vary the layers of
    skae.SparseAutoencoder(penalty="topk", max_iter=5),
]

# sklearn's checks fit 2-feature data with n_components=2
pytestmark = pytest.mark.filterwarnings("ignore:n_components=.*can learn to copy")


def test_every_public_estimator_is_checked():
    public = {name for name in skae.__all__ if name[0].isupper()}
    assert public == {type(est).__name__ for est in ESTIMATORS}


def _listed(parametrize):
    """The same parametrize mark with its values in a list: older
    scikit-learn passes a generator, which pytest deprecates."""
    argnames, argvalues = parametrize.mark.args
    return pytest.mark.parametrize(argnames, list(argvalues), **parametrize.kwargs)


@_listed(parametrize_with_checks(ESTIMATORS))
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_array_api_check_is_not_skipped():
    import os

    assert os.environ.get("SCIPY_ARRAY_API") == "1"
