"""The pure-torch ELBO terms and the VAE module, against torch.distributions."""

import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from skae._losses import (
    bernoulli_log_likelihood,
    gaussian_kl,
    gaussian_log_density,
)
from skae._modules import LOG_VAR_RANGE, VariationalAutoencoder
from skae._objectives import likelihood
from skae.nn import MLPDecoder, MLPEncoder


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_gaussian_kl_matches_torch():
    mu, log_var = _randn(5, 3), _randn(5, 3, seed=1)
    posterior = Normal(mu, torch.exp(0.5 * log_var))
    prior = Normal(torch.zeros(3), torch.ones(3))
    expected = kl_divergence(posterior, prior).sum(-1)
    torch.testing.assert_close(gaussian_kl(mu, log_var), expected)
    assert torch.all(gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)) == 0)


def test_gaussian_log_density_per_row_and_shared_variance():
    x, mean = _randn(4, 6), _randn(4, 6, seed=1)
    log_var = torch.tensor(-0.7)
    expected = Normal(mean, torch.exp(0.5 * log_var)).log_prob(x).sum(-1)
    torch.testing.assert_close(gaussian_log_density(x, mean, log_var), expected)
    standard = Normal(0.0, 1.0).log_prob(x).sum(-1)
    torch.testing.assert_close(gaussian_log_density(x, 0.0, 0.0), standard)


def test_bernoulli_log_likelihood_matches_torch_on_binary_data():
    logits = _randn(4, 6)
    x = (_randn(4, 6, seed=1) > 0).float()
    expected = Bernoulli(logits=logits).log_prob(x).sum(-1)
    torch.testing.assert_close(bernoulli_log_likelihood(x, logits), expected)
    torch.testing.assert_close(
        likelihood("bernoulli").log_likelihood(x, logits), expected
    )


def test_negative_log_likelihood_is_the_negated_log_likelihood_exactly():
    # the VAE trains on the negative log-likelihood, computed without the
    # negation; it must be bit for bit minus what score_samples reads
    x, output = (
        torch.rand(5, 7, generator=torch.Generator().manual_seed(2)),
        _randn(5, 7),
    )
    for name, log_var in (("gaussian", torch.tensor(0.3)), ("bernoulli", None)):
        lik = likelihood(name)
        nll = lik.negative_log_likelihood(x, output, log_var)
        assert nll.shape == (5,)
        assert torch.equal(nll, -lik.log_likelihood(x, output, log_var))
        assert torch.equal(nll.mean(), -lik.log_likelihood(x, output, log_var).mean())


def test_vae_module_heads_clamp_and_shapes():
    module = VariationalAutoencoder(
        MLPEncoder((4,)), MLPDecoder((4,)), 5, 2, likelihood="gaussian"
    )
    with torch.no_grad():
        module.code_head.bias[2:] = 1e3  # absurd log-variances
        module.log_var.fill_(-1e3)
    x = _randn(3, 5)
    mu, log_var = module.posterior(x)
    assert mu.shape == log_var.shape == (3, 2)
    assert torch.all(log_var == LOG_VAR_RANGE[1])
    assert module.output_log_var() == LOG_VAR_RANGE[0]
    torch.testing.assert_close(module.encode(x), mu)
    output, mu_f, log_var_f = module(x)
    assert output.shape == (3, 5)
    assert torch.all(torch.isfinite(output))
    bernoulli = VariationalAutoencoder(
        MLPEncoder(()), MLPDecoder(()), 5, 2, "bernoulli"
    )
    assert bernoulli.output_log_var() is None
