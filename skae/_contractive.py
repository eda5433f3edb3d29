"""ContractiveAutoencoder: a penalty on the encoder's Jacobian (Rifai et al.)."""

import torch

from ._base import BaseAutoencoder
from ._docstrings import fill_doc
from ._losses import weighted_mean
from ._objectives import CodePenalty, register_penalty


@register_penalty
class ContractivePenalty(CodePenalty):
    """Mean over rows and code units of ‖∂z/∂x‖², the squared Frobenius norm
    of the encoder's Jacobian divided by the code width; exact, one backward
    pass per code unit."""

    name = "contractive"

    def __call__(self, code, x, module):
        total, width = self._squared_norms(x, module)
        return total.mean() / width

    def weighted(self, code, x, module, weights):
        total, width = self._squared_norms(x, module)
        return weighted_mean(total, weights) / width

    def _squared_norms(self, x, module):
        """Each row's ‖∂z/∂x‖², and the code width."""
        differentiable = torch.is_grad_enabled()  # False in validation
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            # through a copy: an encoder may write to its input, which
            # autograd refuses for a leaf that requires grad
            z = module.encode(x.clone())
            total = 0.0
            for j in range(z.shape[1]):
                (grad,) = torch.autograd.grad(
                    z[:, j].sum(), x, create_graph=differentiable, retain_graph=True
                )
                total = total + grad.pow(2).sum(dim=1)
        return total, z.shape[1]


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

    def __init__(
        self,
        n_components=2,
        *,
        encoder=None,
        decoder=None,
        hidden_layer_sizes=(512,),
        decoder_layer_sizes=None,
        activation="relu",
        code_activation=None,
        init="auto",
        loss="auto",
        categorical_features="from_dtype",
        column_likelihoods=None,
        penalty="contractive",
        alpha=0.1,
        target_weight=0.0,
        sparsity_target=0.05,
        n_nonzero_coefs=None,
        sparse_output=False,
        noise=None,
        noise_level=0.2,
        dropout=0.1,
        weight_decay=0.0,
        batch_size=128,
        learning_rate="one_cycle",
        learning_rate_init=3e-3,
        max_iter="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        callbacks=None,
        device="auto",
        strategy=None,
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        """Store the parameters; see the class docstring."""
        self.n_components = n_components
        self.encoder = encoder
        self.decoder = decoder
        self.hidden_layer_sizes = hidden_layer_sizes
        self.decoder_layer_sizes = decoder_layer_sizes
        self.activation = activation
        self.code_activation = code_activation
        self.init = init
        self.loss = loss
        self.categorical_features = categorical_features
        self.column_likelihoods = column_likelihoods
        self.penalty = penalty
        self.alpha = alpha
        self.target_weight = target_weight
        self.sparsity_target = sparsity_target
        self.n_nonzero_coefs = n_nonzero_coefs
        self.sparse_output = sparse_output
        self.noise = noise
        self.noise_level = noise_level
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.callbacks = callbacks
        self.device = device
        self.strategy = strategy
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
