"""DenoisingAutoencoder: trained to reconstruct clean inputs from corrupted ones."""

from numbers import Real

import torch

from ._base import BaseAutoencoder
from ._compat import Interval, StrOptions
from ._docstrings import fill_doc
from ._net import DenoisingAutoencoderNet, feature_moments


@fill_doc
class DenoisingAutoencoder(BaseAutoencoder):
    """Autoencoder trained to undo corruption of its input.

    Each training batch is corrupted afresh and the loss compares the
    reconstruction with the clean batch. ``transform`` and
    ``inverse_transform`` apply no corruption: they see the inputs they are
    given, so ``inverse_transform(transform(X_noisy))`` denoises ``X_noisy``.
    Validation losses (``early_stopping=True``) are measured on clean rows.

    Parameters
    ----------
    n_components : int, default=2
        Width of the code (the number of output features of ``transform``).

    noise : {{"gaussian", "masking"}}, default="gaussian"
        ``"gaussian"`` adds independent normal noise to every entry;
        ``"masking"`` replaces a random subset of entries by their feature's
        mean over the training data.

    noise_level : float, default=0.2
        For ``"gaussian"``, the noise's standard deviation as a fraction of
        the training data's global standard deviation (over all entries); for
        ``"masking"``, the fraction of entries replaced (below 1).

    {base_params}

    Attributes
    ----------
    {base_attributes}

    See Also
    --------
    AutoencoderTransformer : No corruption during training.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenoisingAutoencoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> dae = DenoisingAutoencoder(n_components=16, max_iter=5, random_state=0)
    >>> dae.fit_transform(X).shape
    (1797, 16)
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "noise": [StrOptions({"gaussian", "masking"})],
        "noise_level": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=2,
        *,
        noise="gaussian",
        noise_level=0.2,
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
        self.noise = noise
        self.noise_level = noise_level
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

    def _check_params(self, X):
        super()._check_params(X)
        if self.noise == "masking" and self.noise_level >= 1:
            raise ValueError(
                "noise_level is the fraction of entries masked when noise='masking' "
                f"and must be below 1; got {self.noise_level!r}."
            )

    def _net_class(self):
        return DenoisingAutoencoderNet

    def _net_params(self, X_train, offset, scale):
        variances, means = feature_moments(X_train)
        if self.noise == "masking":
            return dict(noise="masking", amount=self.noise_level, fill=means)
        # X's global variance over all entries, in the units the net trains in:
        # the mean within-feature variance plus the spread of the feature means
        shifted = means.double() + torch.as_tensor(offset / scale, device=means.device)
        variance = variances.double().mean() + shifted.var(unbiased=False)
        return dict(noise="gaussian", amount=self.noise_level * float(variance.sqrt()))
