"""Pure tensor functions for the training objectives.

Nothing here imports scikit-learn or skorch. The penalties on the code return
a scalar averaged so that their strength means the same whatever the batch
size or the code width; the terms of the ELBO return one value per row
(summed over the last axis, the features or latent dimensions), in nats, so
callers choose how to average over samples.

Sample weights (``weights``: one positive value per row, or None): a
weighted mean over rows is ``sum_i w_i l_i / sum_i w_i`` (the batch's rows
counted by their weights, as scikit-learn's MLP averages a weighted batch),
which is the unweighted mean over the rows repeated by integer weights.
"""

import math

import torch
from torch.nn import functional as F

_LOG_2PI = math.log(2 * math.pi)


def weighted_mean(values, weights=None):
    """The mean of ``values`` over rows (the first axis), each row counted
    by its weight: ``sum_i w_i v_i / sum_i w_i``; ``values.mean()`` without
    ``weights``."""
    if weights is None:
        return values.mean()
    return (values * weights).sum() / weights.sum()


def row_mean(values, weights=None):
    """The mean over rows of ``values`` ``(n, units)``, one value per unit,
    each row counted by its weight; ``values.mean(dim=0)`` without
    ``weights``."""
    if weights is None:
        return values.mean(dim=0)
    return (values * weights[:, None]).sum(dim=0) / weights.sum()


def l1_penalty(z, weights=None):
    """Mean absolute code entry: mean over samples and code units of |z|
    (the samples counted by their ``weights``)."""
    if weights is None:
        return z.abs().mean()
    return weighted_mean(z.abs().mean(dim=1), weights)


def l2_penalty(z, weights=None):
    """Mean squared code entry: mean over samples and code units of z²
    (the samples counted by their ``weights``)."""
    if weights is None:
        return z.pow(2).mean()
    return weighted_mean(z.pow(2).mean(dim=1), weights)


def kl_sparsity_penalty(z, target, eps=1e-6, weights=None):
    """Mean over code units of KL(ρ ‖ ρ̂ⱼ) between Bernoulli distributions.

    ρ is ``target``; ρ̂ⱼ is unit j's mean activation over the batch (its
    rows counted by their ``weights``), so ``z`` must lie in (0, 1) (a
    sigmoid code).
    """
    rho_hat = row_mean(z, weights).clamp(eps, 1 - eps)
    rho = torch.as_tensor(target, dtype=z.dtype, device=z.device)
    kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log(
        (1 - rho) / (1 - rho_hat)
    )
    return kl.mean()


def hoyer_sparsity(z, eps=1e-12):
    """Hoyer's scale-free sparsity of each row, in [0, 1].

    (√k − ‖z‖₁/‖z‖₂) / (√k − 1) for a row of k entries: 0 when all entries
    have the same magnitude, 1 when one entry is non-zero. A zero row counts
    as 1. Needs k ≥ 2.
    """
    k = z.shape[1]
    ratio = z.abs().sum(dim=1) / (z.pow(2).sum(dim=1).sqrt() + eps)
    ratio = torch.where(ratio == 0, torch.ones_like(ratio), ratio)
    return (k**0.5 - ratio) / (k**0.5 - 1)


def gaussian_kl(mu, log_var):
    """KL(N(mu, diag exp(log_var)) || N(0, I)) per row, in closed form."""
    return 0.5 * torch.sum(mu * mu + torch.exp(log_var) - 1.0 - log_var, dim=-1)


def gaussian_nll(x, mean, log_var):
    """-log N(x | mean, diag exp(log_var)) per row: the VAE's reconstruction
    loss, which a training step computes this way round (negating the log
    density would cost a kernel more, forward and backward).

    ``log_var`` broadcasts against ``x``: a scalar tensor is one shared
    variance, zeros give the standard normal.
    """
    if not isinstance(log_var, torch.Tensor):
        log_var = torch.as_tensor(log_var, dtype=x.dtype, device=x.device)
    squared = (x - mean) ** 2 * torch.exp(-log_var)
    return 0.5 * torch.sum(squared + log_var + _LOG_2PI, dim=-1)


def gaussian_log_density(x, mean, log_var):
    """log N(x | mean, diag exp(log_var)) per row: minus :func:`gaussian_nll`."""
    return -gaussian_nll(x, mean, log_var)


def bernoulli_nll(x, logits):
    """-log p(x) per row for independent Bernoullis with these logits: the
    binary cross-entropy summed over the features.

    ``x`` may lie anywhere in [0, 1]: for fractional targets this is the
    binary cross-entropy of the model but not a normalised density.
    """
    return torch.sum(
        F.binary_cross_entropy_with_logits(logits, x, reduction="none"), dim=-1
    )


def bernoulli_log_likelihood(x, logits):
    """log p(x) per row: minus :func:`bernoulli_nll`."""
    return -bernoulli_nll(x, logits)


def target_loss(output, target, weights=None):
    """The supervised head's loss, averaged over the batch's known targets
    (0 when it has none), each row counted by its ``weights``.

    ``target`` int64 (class indices, -1 unknown): the cross-entropy of the
    softmax over ``output``'s logits, mean over known rows. ``target``
    float (standardised targets, NaN unknown, same shape as ``output``):
    the squared error, mean over known entries.
    """
    if target.dtype == torch.int64:
        known = target >= 0
        losses = F.cross_entropy(output, target.clamp(min=0), reduction="none")
        if weights is not None:
            return _over_known(losses, known * weights)
        return (losses * known).sum() / known.sum().clamp(min=1)
    known = ~torch.isnan(target)
    error = torch.where(known, output - torch.nan_to_num(target), 0.0)
    if weights is not None:
        return _over_known(
            error.pow(2), known * weights.view(-1, *[1] * (known.ndim - 1))
        )
    return error.pow(2).sum() / known.sum().clamp(min=1)


def _over_known(losses, counts):
    """``sum(losses * counts) / sum(counts)``, 0 when the counts are all 0
    (``counts``: each entry's weight, 0 where it is unknown)."""
    total = counts.sum()
    return (losses * counts).sum() / total.clamp(min=torch.finfo(total.dtype).tiny)
