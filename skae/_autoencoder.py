"""AutoencoderTransformer: the plain (unregularised) autoencoder."""

from ._base import BaseAutoencoder, make_init
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

    __init__ = make_init()
