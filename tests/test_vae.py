"""Behaviour of VAETransformer."""

import math
import pickle

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV

from skae import VAETransformer
from skae._data import Normalisation
from skae._net import VAENet
from skae._vae import N_SCORE_DRAWS, SCORE_SEED

SMALL = dict(
    hidden_layer_sizes=(32,), loss="mse", max_iter=10, batch_size=32, random_state=0
)


@pytest.fixture(scope="module")
def fitted(digits):
    return VAETransformer(2, **SMALL).fit(digits[0][:300])


# ---------------------------------------------------------------- learning


def test_training_raises_held_out_elbo(digits):
    X = digits[0]
    train, test = X[:300], X[300:]
    untrained = VAETransformer(2, **{**SMALL, "max_iter": 1}, learning_rate_init=1e-8)
    trained = VAETransformer(2, **SMALL, learning_rate_init=1e-2)
    gain = trained.fit(train).score(test) - untrained.fit(train).score(test)
    assert gain > 5.0  # nats per sample (about 10 seen)
    assert trained.loss_curve_[-1] < trained.loss_curve_[0]


def test_larger_beta_pulls_posterior_means_to_zero(digits):
    X = digits[0]
    mu_small = VAETransformer(2, beta=0.1, **SMALL).fit(X).transform(X)
    mu_large = VAETransformer(2, beta=4.0, **SMALL).fit(X).transform(X)
    assert np.mean(mu_large**2) < 0.5 * np.mean(mu_small**2)


def test_grid_search_over_beta_with_default_scorer(digits):
    X = digits[0]
    grid = GridSearchCV(
        VAETransformer(2, **{**SMALL, "max_iter": 5}), {"beta": [0.5, 1.0, 2.0]}, cv=2
    ).fit(X)
    scores = grid.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    assert grid.best_score_ == pytest.approx(max(scores))


def test_history_curves(fitted):
    n = fitted.n_iter_
    assert n == SMALL["max_iter"]
    assert len(fitted.loss_curve_) == n
    assert len(fitted.reconstruction_curve_) == n
    assert len(fitted.kl_curve_) == n
    assert fitted.kl_weight_curve_ == [1.0] * n
    # the training loss is the negative ELBO: reconstruction + weight * KL
    np.testing.assert_allclose(
        fitted.loss_curve_,
        np.add(fitted.reconstruction_curve_, fitted.kl_curve_),
        rtol=1e-6,
    )
    assert all(kl > 0 for kl in fitted.kl_curve_)


def test_terms_kept_for_the_epoch_end_match_terms_read_at_once(digits, monkeypatch):
    # on a GPU the batch terms are converted once an epoch; on the CPU at
    # once: both ways must give the same curves, training and validation
    params = dict(SMALL, max_iter=4, early_stopping=True, kl_warmup=2)
    at_once = VAETransformer(2, **params).fit(digits[0][:300])
    monkeypatch.setattr(VAENet, "TERMS_AT_ONCE_ON", frozenset())
    kept = VAETransformer(2, **params).fit(digits[0][:300])
    assert kept.reconstruction_curve_ == at_once.reconstruction_curve_
    assert kept.kl_curve_ == at_once.kl_curve_
    assert kept.validation_scores_ == at_once.validation_scores_
    assert kept.net_.history[:, "valid_kl"] == at_once.net_.history[:, "valid_kl"]


# ------------------------------------------------------ KL warm-up and beta


def test_kl_warmup_ramps_the_weight(digits):
    vae = VAETransformer(2, beta=2.0, kl_warmup=4, **{**SMALL, "max_iter": 6})
    vae.fit(digits[0])
    assert vae.kl_weight_curve_ == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]
    np.testing.assert_allclose(
        vae.loss_curve_,
        np.add(
            vae.reconstruction_curve_,
            np.multiply(vae.kl_weight_curve_, vae.kl_curve_),
        ),
        rtol=1e-6,
    )


def test_stopping_rule_waits_for_the_warmup(digits):
    vae = VAETransformer(
        2,
        kl_warmup=5,
        n_iter_no_change=2,
        tol=1e6,
        learning_rate="constant",
        **{**SMALL, "max_iter": 50},
    ).fit(digits[0])
    # epochs 0-4 are not judged; epoch 5 sets the best, 6 and 7 miss -> stop
    assert vae.n_iter_ == 8
    assert vae.kl_weight_curve_[-1] == 1.0
    # one-cycle: the later of the warm-up and the rate's peak (epoch 15 of 50)
    assert vae.set_params(learning_rate="one_cycle").fit(digits[0]).n_iter_ == 18


def test_warm_start_continues_the_ramp_and_takes_new_beta(digits):
    X = digits[0]
    vae = VAETransformer(2, kl_warmup=4, warm_start=True, **{**SMALL, "max_iter": 5})
    vae.fit(X)
    vae.set_params(beta=3.0).fit(X)
    assert vae.n_iter_ == 10
    assert vae.kl_weight_curve_ == [0.0, 0.25, 0.5, 0.75, 1.0] + [3.0] * 5


def test_early_stopping_scores_at_full_beta(digits):
    vae = VAETransformer(
        2, early_stopping=True, kl_warmup=3, **{**SMALL, "max_iter": 6}
    ).fit(digits[0])
    history = vae.net_.history
    assert len(vae.validation_scores_) == vae.n_iter_
    np.testing.assert_allclose(
        vae.validation_scores_,
        -(
            np.array(history[:, "valid_reconstruction"])
            + np.array(history[:, "valid_kl"])
        ),
        rtol=1e-6,
    )


# ------------------------------------------------------------ inference


def test_transform_is_the_deterministic_posterior_mean(fitted, digits):
    X = digits[0]
    Z = fitted.transform(X)
    np.testing.assert_array_equal(Z, fitted.transform(X))
    assert Z.shape == (400, 2)
    module = fitted.net_.module_
    module.eval()
    with torch.no_grad():
        x = torch.as_tensor(Normalisation(fitted.offset_, fitted.scale_).apply(X, "f4"))
        mu, _ = module.posterior(x)
    np.testing.assert_allclose(Z, mu.numpy().astype(np.float64), rtol=1e-5, atol=1e-6)


def _independent_elbo(vae, X):
    """recon log-likelihood - KL with beta = 1, by hand from the module."""
    module = vae.net_.module_
    x = torch.as_tensor((X - vae.offset_) / vae.scale_)
    eps = np.random.RandomState(SCORE_SEED).standard_normal(
        (N_SCORE_DRAWS, vae.n_components_)
    )
    with torch.no_grad():
        double = pickle.loads(pickle.dumps(module)).double().eval()
        h = double.code_head(double.encoder(x)).numpy()
        k = vae.n_components_
        mu, log_var = h[:, :k], np.clip(h[:, k:], -10, 10)
        s2 = math.exp(float(double.log_var))
        recon = np.zeros(len(X))
        for e in eps:
            z = mu + np.exp(0.5 * log_var) * e
            mean = double.decode(torch.as_tensor(z)).numpy()
            recon += -0.5 * np.sum(
                (x.numpy() - mean) ** 2 / s2 + math.log(s2) + math.log(2 * math.pi),
                axis=1,
            )
    kl = 0.5 * np.sum(mu**2 + np.exp(log_var) - 1 - log_var, axis=1)
    jacobian = X.shape[1] * math.log(vae.scale_)
    return recon / N_SCORE_DRAWS, kl, jacobian


def test_score_samples_is_the_elbo_at_beta_one(digits):
    X = digits[0]
    vae = VAETransformer(2, beta=3.0, **SMALL).fit(X[:300])
    recon, kl, jacobian = _independent_elbo(vae, X[300:])
    scores = vae.score_samples(X[300:])
    assert scores.dtype == np.float64
    np.testing.assert_allclose(scores, recon - kl - jacobian, rtol=1e-9)
    assert not np.allclose(scores, recon - 3.0 * kl - jacobian, rtol=1e-3)
    assert vae.score(X[300:]) == pytest.approx(scores.mean(), rel=1e-12)


def test_score_samples_is_deterministic_and_row_wise(fitted, digits):
    X = digits[0]
    full = fitted.score_samples(X)
    np.testing.assert_array_equal(full, fitted.score_samples(X))
    np.testing.assert_allclose(fitted.score_samples(X[::-1][:7]), full[::-1][:7])
    np.testing.assert_allclose(fitted.score_samples(X[5:6]), full[5:6])


def test_score_includes_the_log_jacobian(digits):
    X = digits[0]
    a = VAETransformer(2, **SMALL).fit(X)
    b = VAETransformer(2, **SMALL).fit(10.0 * X)
    expected = a.score(X) - X.shape[1] * math.log(10.0)
    assert b.score(10.0 * X) == pytest.approx(expected, abs=1e-3)


def test_log_likelihood_is_tighter_and_seeded(fitted, digits):
    X = digits[0][300:]
    iwae = fitted.log_likelihood(X, n_samples=50, random_state=0)
    assert iwae.shape == (100,) and iwae.dtype == np.float64
    assert iwae.mean() > fitted.score(X)
    np.testing.assert_array_equal(
        iwae, fitted.log_likelihood(X, n_samples=50, random_state=0)
    )
    assert not np.array_equal(
        iwae, fitted.log_likelihood(X, n_samples=50, random_state=1)
    )
    # one importance sample is a one-draw ELBO: close to, but not above, it
    single = fitted.log_likelihood(X, n_samples=1, random_state=0)
    assert abs(single.mean() - fitted.score(X)) < 0.1 * abs(fitted.score(X))


def test_sample_is_seeded_and_in_original_units(fitted):
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()
    a = fitted.sample(6, random_state=0)
    assert a.shape == (6, 64) and a.dtype == np.float64
    np.testing.assert_array_equal(a, fitted.sample(6, random_state=0))
    assert not np.array_equal(a, fitted.sample(6, random_state=1))
    assert not np.array_equal(fitted.sample(6), fitted.sample(6))
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.random.get_state()[1].tolist() == np_state[1].tolist()
    # decoded draws from N(0, I), mapped back to X's units
    Z = np.random.RandomState(0).standard_normal((6, 2))
    np.testing.assert_allclose(a, fitted.inverse_transform(Z))


def test_bernoulli_samples_lie_in_the_data_range(digits):
    X = digits[0]
    vae = VAETransformer(2, likelihood="bernoulli", **SMALL).fit(X)
    samples = vae.sample(50, random_state=0)
    assert samples.min() >= X.min() and samples.max() <= X.max()
    assert vae.score(X) > VAETransformer(
        2, likelihood="bernoulli", **{**SMALL, "max_iter": 1}, learning_rate_init=1e-8
    ).fit(X).score(X)


@pytest.mark.parametrize(
    "likelihood, loss, resolved, offset",
    [
        ("auto", "mse", "gaussian", "mean"),
        ("auto", "bce", "bernoulli", "min"),
        ("gaussian", "bce", "gaussian", "mean"),
        ("bernoulli", "mse", "bernoulli", "min"),
    ],
)
def test_likelihood_decides_the_normalisation(likelihood, loss, resolved, offset):
    X = np.random.RandomState(0).uniform(2, 5, size=(30, 4))
    vae = VAETransformer(
        2, likelihood=likelihood, loss=loss, hidden_layer_sizes=(4,), max_iter=2
    ).fit(X)
    assert vae.net_.module_.likelihood == resolved
    expected = X.mean(axis=0) if offset == "mean" else np.full(4, X.min())
    np.testing.assert_allclose(vae.offset_, expected)


# ------------------------------------------ dtypes, persistence, bad input


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes(digits, dtype):
    X = digits[0][:100].astype(dtype)
    vae = VAETransformer(2, **{**SMALL, "max_iter": 2}).fit(X)
    Z = vae.transform(X)
    assert Z.dtype == dtype
    assert vae.inverse_transform(Z).dtype == dtype
    assert vae.score_samples(X).dtype == np.float64
    assert vae.log_likelihood(X, n_samples=2, random_state=0).dtype == np.float64


def test_pickle_round_trip(fitted, digits):
    X = digits[0]
    copy = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(copy.transform(X), fitted.transform(X))
    np.testing.assert_array_equal(copy.score_samples(X), fitted.score_samples(X))
    np.testing.assert_array_equal(
        copy.sample(5, random_state=3), fitted.sample(5, random_state=3)
    )


@pytest.mark.parametrize(
    "params, match",
    [
        ({"beta": -0.5}, "beta"),
        ({"beta": np.inf}, "beta"),
        ({"kl_warmup": -1}, "kl_warmup"),
        ({"kl_warmup": 10}, "kl_warmup=10 epochs cannot finish within max_iter=10"),
        ({"kl_warmup": 25}, "kl_warmup=25 epochs cannot finish"),
        ({"likelihood": "poisson"}, "likelihood"),
        ({"n_components": 0}, "n_components"),
    ],
)
def test_invalid_parameters(params, match, digits):
    with pytest.raises(ValueError, match=match):
        VAETransformer(**{**SMALL, **params}).fit(digits[0])


def test_kl_warmup_error_comes_before_training(digits, monkeypatch):
    from skae import _net

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(_net.VAENet, "partial_fit", no_training)
    with pytest.raises(ValueError, match="kl_warmup"):
        VAETransformer(kl_warmup=3, max_iter=3).fit(digits[0])


@pytest.mark.parametrize("n_samples", [0, -1, 1.5, True])
def test_invalid_n_samples(fitted, digits, n_samples):
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        fitted.sample(n_samples)
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        fitted.log_likelihood(digits[0][:3], n_samples=n_samples)


def test_warm_start_cannot_switch_likelihood(digits):
    vae = VAETransformer(2, warm_start=True, **{**SMALL, "max_iter": 2})
    vae.fit(digits[0])
    with pytest.raises(ValueError, match="cannot switch to the 'bernoulli' likelihood"):
        vae.set_params(likelihood="bernoulli").fit(digits[0])
    assert vae.n_iter_ == 2  # the failed fit changed nothing


def test_not_fitted():
    vae = VAETransformer()
    for method in (vae.transform, vae.score_samples, vae.score, vae.log_likelihood):
        with pytest.raises(NotFittedError):
            method(np.ones((2, 3)))
    with pytest.raises(NotFittedError):
        vae.sample()


@pytest.mark.gpu
def test_fits_and_scores_on_gpu(digits):
    X = digits[0]
    gpu = VAETransformer(2, device="cuda", **SMALL).fit(X)
    assert next(gpu.net_.module_.parameters()).is_cuda
    cpu = VAETransformer(2, device="cpu", **SMALL).fit(X)
    assert gpu.transform(X).shape == cpu.transform(X).shape
    assert gpu.score(X) == pytest.approx(cpu.score(X), rel=0.05)
    assert gpu.sample(4, random_state=0).shape == (4, 64)


def test_bernoulli_scores_refuse_data_outside_the_training_range(digits):
    # binary cross-entropy grows without bound outside [0, 1]: 10 * X would
    # otherwise score far higher than X itself
    X = digits[0]
    vae = VAETransformer(2, likelihood="bernoulli", **SMALL).fit(X)
    assert np.isfinite(vae.score(X))
    for method in (vae.score_samples, vae.score, vae.log_likelihood):
        with pytest.raises(ValueError, match=r"values in \[0, 160\], outside"):
            method(10 * X)
    assert vae.transform(10 * X).shape == (len(X), 2)  # encoding still works
    gaussian = VAETransformer(2, likelihood="gaussian", **SMALL).fit(X)
    assert gaussian.score(10 * X) < gaussian.score(X)
