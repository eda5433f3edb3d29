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

    The network minimises the mean over entries of the reconstruction loss
    L(x, x̂) on internally normalised data (one global affine map, so the
    model does not depend on X's units).

    Parameters
    ----------
    n_components : int, default=2
        Width of the code (the number of output features of ``transform``).

    {base_params}

    Attributes
    ----------
    {base_attributes}

    See Also
    --------
    sklearn.decomposition.PCA : The linear special case.
    SparseAutoencoder : With an L1, L2 or KL penalty on the code.
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

    _parameter_constraints: dict = {**BaseAutoencoder._parameter_constraints}

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(256,),
        activation="relu",
        loss="auto",
        dropout=0.0,
        weight_decay=0.0,
        batch_size=128,
        learning_rate_init=1e-3,
        max_iter=200,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
