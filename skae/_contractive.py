"""ContractiveAutoencoder: a penalty on the encoder's Jacobian (Rifai et al.)."""

import torch

from ._base import BaseAutoencoder, make_init
from ._docstrings import fill_doc
from ._objectives import CodePenalty, register_penalty


@register_penalty
class ContractivePenalty(CodePenalty):
    """Mean over rows and code units of ‖∂z/∂x‖², the squared Frobenius norm
    of the encoder's Jacobian divided by the code width; exact, one backward
    pass per code unit."""

    name = "contractive"

    def __call__(self, code, x, module):
        differentiable = torch.is_grad_enabled()  # False in validation
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            z = module.encode(x)
            total = 0.0
            for j in range(z.shape[1]):
                (grad,) = torch.autograd.grad(
                    z[:, j].sum(), x, create_graph=differentiable, retain_graph=True
                )
                total = total + grad.pow(2).sum(dim=1)
        return total.mean() / z.shape[1]


@fill_doc
class ContractiveAutoencoder(BaseAutoencoder):
    """Autoencoder whose code is insensitive to small moves of the input.

    Minimises L(x, x̂) + λ·‖∂z/∂x‖²_F / k: the reconstruction loss of
    :class:`AutoencoderTransformer` plus ``alpha`` times the squared Frobenius
    norm of the encoder's Jacobian at each training row (averaged over rows,
    divided by the code width k), in the network's normalised units. The
    code then varies along the data and little across it (Rifai et al.,
    2011). The penalty costs one extra backward pass per code unit.

    Parameters
    ----------
    {params}

    Attributes
    ----------
    {base_attributes}

    See Also
    --------
    DenoisingAutoencoder : Robustness by corrupting the inputs instead.

    References
    ----------
    Rifai, Vincent, Muller, Glorot and Bengio (2011), "Contractive
    Auto-Encoders: Explicit Invariance During Feature Extraction".

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import ContractiveAutoencoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> cae = ContractiveAutoencoder(n_components=8, max_iter=5, random_state=0)
    >>> cae.fit_transform(X).shape
    (1797, 8)
    """

    __init__ = make_init(penalty="contractive", alpha=0.1)
