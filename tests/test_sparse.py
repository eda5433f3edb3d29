"""Behaviour of SparseAutoencoder: penalties, λ's meaning, real sparsity."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import SparseAutoencoder, hoyer_sparsity

TINY = dict(
    hidden_layer_sizes=(64,), dropout=0.0, max_iter=30, batch_size=32, random_state=0
)


@pytest.fixture(scope="module")
def X():
    return load_digits().data[:600]


def _fit(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SparseAutoencoder(16, **{**TINY, **params}).fit(X)


def test_hoyer_sparsity_values():
    assert hoyer_sparsity([[0.0, 0.0, 5.0, 0.0]]) == pytest.approx(1.0)
    assert hoyer_sparsity([[2.0, -2.0, 2.0, 2.0]]) == pytest.approx(0.0)
    Z = np.random.RandomState(0).laplace(size=(50, 8))
    assert hoyer_sparsity(Z) == pytest.approx(hoyer_sparsity(1e-3 * Z))


@pytest.fixture(scope="module")
def l1_grid(X):
    """λ on a half-decade grid -> (Hoyer sparsity, reconstruction error)."""
    alphas = [0.0, 0.03, 0.1, 0.3, 1.0, 3.0]
    results = []
    for alpha in alphas:
        model = _fit(X, alpha=alpha)
        results.append((hoyer_sparsity(model.transform(X)), -model.score(X), model))
    return alphas, results


def test_l1_sparsity_never_falls_as_alpha_grows(l1_grid, X):
    _, results = l1_grid
    sparsity = [s for s, _, _ in results]
    # measured: 0.227, 0.240, 0.275, 0.375, 0.565, 0.594 (steps of >= 0.013)
    assert all(b >= a for a, b in zip(sparsity, sparsity[1:])), sparsity
    assert sparsity[-1] > sparsity[0] + 0.25
    # ... while the reconstruction stays usable at every λ on the grid: it
    # keeps more than half of the data's variance (λ=3: 0.45 of it lost)
    variance = np.mean((X - X.mean(axis=0)) ** 2)
    errors = [e for _, e, _ in results]
    assert max(errors) < 0.5 * variance, (errors, variance)


def test_l1_strong_sparsity_is_reachable(l1_grid):
    _, results = l1_grid
    strongest, _, model = results[-1]
    assert strongest >= 0.5
    assert model.inactive_fraction_ >= 0.5
    assert results[0][2].inactive_fraction_ < 0.2


def test_l1_moderate_sparsity_is_cheap(l1_grid):
    _, results = l1_grid
    sparsity0, error0, _ = results[0]
    # some λ buys a clear gain in sparsity for at most 1.5x the λ=0 error
    assert any(s >= sparsity0 + 0.1 and e <= 1.5 * error0 for s, e, _ in results)


def test_l1_code_scale_is_pinned_not_shrunk(l1_grid):
    # the penalty cannot be met by shrinking: each unit keeps RMS about 1
    _, results = l1_grid
    for _, _, model in results:
        Z = model.transform(load_digits().data[:600])
        rms = np.sqrt(np.mean(Z**2, axis=0))
        np.testing.assert_allclose(rms[rms > 0.05], 1.0, atol=0.2)


def test_alpha_means_the_same_at_any_batch_size(X):
    # same number of optimisation steps, very different batch sizes
    small = _fit(X, alpha=1.0, batch_size=32, max_iter=30)
    large = _fit(X, alpha=1.0, batch_size=256, max_iter=240)
    s_small = hoyer_sparsity(small.transform(X))
    s_large = hoyer_sparsity(large.transform(X))
    s_none = hoyer_sparsity(_fit(X, alpha=0.0).transform(X))
    assert s_small > s_none + 0.2  # a λ that really sparsifies
    assert abs(s_small - s_large) < 0.05


def test_l2_shrinks_the_code(X):
    weak = _fit(X, penalty="l2", alpha=0.0)
    strong = _fit(X, penalty="l2", alpha=1.0)
    assert np.mean(strong.transform(X) ** 2) < 0.5 * np.mean(weak.transform(X) ** 2)


def test_kl_code_in_unit_interval_and_reaches_target(X):
    model = _fit(X, penalty="kl", alpha=3.0, sparsity_target=0.05)
    Z = model.transform(X)
    assert Z.min() > 0 and Z.max() < 1
    free = _fit(X, penalty="kl", alpha=0.0)
    # the mean activation moves towards ρ = 0.05
    assert abs(model.mean_activation_.mean() - 0.05) < 0.5 * abs(
        free.mean_activation_.mean() - 0.05
    )
    assert model.mean_activation_.shape == (16,)


@pytest.mark.parametrize("penalty", ["l1", "l2", "kl"])
def test_each_penalty_reconstructs(X, penalty):
    model = _fit(X, penalty=penalty, alpha=0.01)
    baseline = np.mean((X - X.mean(axis=0)) ** 2)
    assert -model.score(X) < 0.5 * baseline
    assert 0.0 <= model.inactive_fraction_ <= 1.0


@pytest.mark.slow
def test_grid_search_over_alpha_and_activation_on_digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    pipe = make_pipeline(
        MinMaxScaler(),
        SparseAutoencoder(16, max_iter=40, random_state=0),
        LogisticRegression(max_iter=2000),
    )
    grid = GridSearchCV(
        pipe,
        {
            "sparseautoencoder__alpha": [0.01, 0.1],
            "sparseautoencoder__activation": ["relu", "tanh"],
        },
        cv=2,
        n_jobs=2,
    ).fit(X_train, y_train)
    assert grid.score(X_test, y_test) >= 0.90


@pytest.mark.parametrize(
    "params, match",
    [
        ({"penalty": "l0"}, "penalty"),
        ({"alpha": -1.0}, "alpha"),
        ({"sparsity_target": 0.0}, "sparsity_target"),
        ({"sparsity_target": 1.0}, "sparsity_target"),
    ],
)
def test_invalid_parameters(X, params, match):
    with pytest.raises(ValueError, match=match):
        SparseAutoencoder(**params).fit(X)
