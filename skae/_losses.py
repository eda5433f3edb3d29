"""Pure tensor functions for the penalties on the code.

Each returns a scalar averaged so that its strength means the same whatever
the batch size or the code width.
"""

import torch


def l1_penalty(z):
    """Mean absolute code entry: mean over samples and code units of |z|."""
    return z.abs().mean()


def l2_penalty(z):
    """Mean squared code entry: mean over samples and code units of z²."""
    return z.pow(2).mean()


def kl_sparsity_penalty(z, target, eps=1e-6):
    """Mean over code units of KL(ρ ‖ ρ̂ⱼ) between Bernoulli distributions.

    ρ is ``target``; ρ̂ⱼ is unit j's mean activation over the batch, so ``z``
    must lie in (0, 1) (a sigmoid code).
    """
    rho_hat = z.mean(dim=0).clamp(eps, 1 - eps)
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
