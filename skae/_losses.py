"""Pure tensor functions for the terms of the ELBO.

Nothing here imports scikit-learn or skorch. Every function returns one value
per row (summed over the last axis, the features or latent dimensions), in
nats, so callers choose how to average over samples.
"""

import math

import torch
from torch.nn import functional as F

_LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mu, log_var):
    """KL(N(mu, diag exp(log_var)) || N(0, I)) per row, in closed form."""
    return 0.5 * torch.sum(mu * mu + torch.exp(log_var) - 1.0 - log_var, dim=-1)


def gaussian_log_density(x, mean, log_var):
    """log N(x | mean, diag exp(log_var)) per row.

    ``log_var`` broadcasts against ``x``: a scalar tensor is one shared
    variance, zeros give the standard normal.
    """
    log_var = torch.as_tensor(log_var, dtype=x.dtype, device=x.device)
    squared = (x - mean) ** 2 * torch.exp(-log_var)
    return -0.5 * torch.sum(squared + log_var + _LOG_2PI, dim=-1)


def bernoulli_log_likelihood(x, logits):
    """log p(x) per row for independent Bernoullis with these logits.

    ``x`` may lie anywhere in [0, 1]: for fractional targets this is minus
    the binary cross-entropy, a log-likelihood of the model but not a
    normalised density.
    """
    return -torch.sum(
        F.binary_cross_entropy_with_logits(logits, x, reduction="none"), dim=-1
    )


def reconstruction_log_likelihood(likelihood, x, output, log_var=None):
    """log p(x | z) per row, for the decoder's raw ``output``.

    ``likelihood`` is ``"gaussian"`` (``output`` is the mean, ``log_var`` the
    decoder's log-variance) or ``"bernoulli"`` (``output`` are logits).
    """
    if likelihood == "bernoulli":
        return bernoulli_log_likelihood(x, output)
    return gaussian_log_density(x, output, log_var)
