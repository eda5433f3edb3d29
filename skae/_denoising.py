"""DenoisingAutoencoder: trained to reconstruct clean inputs from corrupted ones."""

from ._base import BaseAutoencoder, make_init
from ._docstrings import fill_doc


@fill_doc
class DenoisingAutoencoder(BaseAutoencoder):
    """Autoencoder trained to undo corruption of its input.

    Each training batch is corrupted afresh and the loss compares the
    reconstruction with the clean batch. ``transform`` and
    ``inverse_transform`` apply no corruption: they see the inputs they are
    given, so ``inverse_transform(transform(X_noisy))`` denoises ``X_noisy``.
    Validation losses (``early_stopping=True``) are measured on clean rows.
    It is :class:`AutoencoderTransformer` with ``noise="gaussian"`` by
    default; any ``penalty`` combines with it (``penalty="l1"`` for a sparse
    denoiser).

    Parameters
    ----------
    {params}

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

    __init__ = make_init(noise="gaussian")
