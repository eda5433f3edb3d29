"""scikit-learn's estimator checks over every public estimator, no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

import skae

# tiny nets and few epochs: the checks fit dozens of times each
FAST = dict(hidden_layer_sizes=(8,), max_iter=5)
ESTIMATORS = [skae.AutoencoderTransformer(**FAST), skae.VAETransformer(**FAST)]


def test_every_public_estimator_is_checked():
    public = {name for name in skae.__all__ if name[0].isupper()}
    assert public == {type(est).__name__ for est in ESTIMATORS}


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_array_api_check_is_not_skipped():
    import os

    assert os.environ.get("SCIPY_ARRAY_API") == "1"
