"""AutoencoderTransformer: the plain (unregularised) autoencoder."""

from ._base import BaseAutoencoder
from ._docstrings import fill_doc


@fill_doc
class AutoencoderTransformer(BaseAutoencoder):
    """Nonlinear dimensionality reduction with an MLP autoencoder.

    A drop-in for :class:`~sklearn.decomposition.PCA`: ``transform`` returns
    the encoder's code, ``inverse_transform`` the decoder's reconstruction in
    the units of the fitted data, and ``score`` minus the mean squared
    reconstruction error. Training runs in a skorch ``NeuralNet`` (CPU or GPU).

    The network minimises L(x, x̂) + λ·R(z): the mean over entries of the
    reconstruction loss on internally normalised data (one global affine
    map, so the model does not depend on X's units), plus an optional
    penalty on the code (``penalty``, ``alpha``); with ``noise`` it is
    trained on corrupted inputs. The encoder and decoder are an MLP by
    default, or your own modules (``encoder``, ``decoder``; see
    :mod:`skae.nn`).

    Parameters
    ----------
    {params}

    Attributes
    ----------
    {base_attributes}

    See Also
    --------
    sklearn.decomposition.PCA : The linear special case.
    SparseAutoencoder : With an L1 penalty on the code by default.
    ContractiveAutoencoder : With a penalty on the encoder's Jacobian.
    DenoisingAutoencoder : Trained to undo noise added to its input.
    VAETransformer : A variational autoencoder that can generate samples.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> X, _ = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(n_components=8, max_iter=5, random_state=0)
    >>> ae.fit_transform(X).shape
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
        penalty=None,
        alpha=0.3,
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
