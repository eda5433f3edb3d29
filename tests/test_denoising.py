"""Behaviour of DenoisingAutoencoder: corruption in training only, it denoises."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import DenoisingAutoencoder
from skae._data import Normalisation
from skae._objectives import GaussianNoise

SMALL = dict(hidden_layer_sizes=(32,), max_iter=5, batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def X():
    return load_digits().data[:300]


@pytest.mark.slow
def test_denoises_digits():
    X = load_digits().data / 16.0
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    model = DenoisingAutoencoder(
        32, noise="gaussian", noise_level=0.5, max_iter=100, random_state=0
    ).fit(X_train)
    noisy = X_test + np.random.RandomState(1).normal(scale=0.3, size=X_test.shape)
    denoised = model.inverse_transform(model.transform(noisy))
    noisy_error = np.mean((noisy - X_test) ** 2)
    denoised_error = np.mean((denoised - X_test) ** 2)
    assert denoised_error <= 0.5 * noisy_error


def test_corruption_only_in_training(X, monkeypatch):
    calls = []
    real = GaussianNoise.__call__

    def counting(self, batch, generator):
        calls.append(len(batch))
        return real(self, batch, generator)

    monkeypatch.setattr(GaussianNoise, "__call__", counting)
    model = DenoisingAutoencoder(2, early_stopping=True, **SMALL).fit(X)
    n_train = len(X) - int(np.ceil(0.1 * len(X)))
    assert sum(calls) == 5 * n_train  # every training row, every epoch
    calls.clear()
    first = model.transform(X)
    model.inverse_transform(first)
    model.score(X)
    assert calls == []
    np.testing.assert_array_equal(model.transform(X), first)


def test_gaussian_noise_level_is_relative_to_global_std(X):
    model = DenoisingAutoencoder(2, noise_level=0.5, **SMALL).fit(X)
    # the net's noise std, mapped back to X's units
    assert model.net_.corruption.std * model.scale_ == pytest.approx(
        0.5 * X.std(), rel=1e-4
    )


def test_masking_replaces_a_fraction_by_feature_means(X):
    model = DenoisingAutoencoder(2, noise="masking", noise_level=0.3, **SMALL).fit(X)
    net = model.net_
    Xn = Normalisation(model.offset_, model.scale_).apply(X, np.float32)
    import torch

    batch = torch.from_numpy(Xn)
    corrupted = net.corruption(batch, torch.Generator().manual_seed(0))
    changed = (corrupted != batch).float().mean().item()
    assert 0.15 < changed <= 0.3 + 0.02  # entries already at the mean stay put
    fill = batch.mean(dim=0).expand_as(batch)
    replaced = corrupted != batch
    torch.testing.assert_close(corrupted[replaced], fill[replaced], atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"noise": "salt"}, "noise"),
        ({"noise_level": -0.1}, "noise_level"),
        ({"noise": "masking", "noise_level": 1.0}, "noise_level.*below 1"),
    ],
)
def test_invalid_parameters(X, params, match):
    with pytest.raises(ValueError, match=match):
        DenoisingAutoencoder(**{**SMALL, **params}).fit(X)
