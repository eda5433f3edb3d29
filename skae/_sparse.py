"""SparseAutoencoder: an autoencoder with a penalty on its code."""

import numpy as np
import torch

from ._base import BaseAutoencoder, make_init
from ._docstrings import fill_doc
from ._inference import training_codes
from ._losses import hoyer_sparsity as _row_hoyer_sparsity

#: An entry of the code is inactive below this fraction of its unit's RMS.
INACTIVE_THRESHOLD = 0.1


@fill_doc
class SparseAutoencoder(BaseAutoencoder):
    """Autoencoder whose code is regularised: sparse (L1, KL) or small (L2).

    Minimises L(x, x̂) + λ·R(z), where L is the mean over entries of the
    reconstruction loss on the normalised data (as in
    :class:`AutoencoderTransformer`) and R(z) a penalty on the code z averaged
    over samples and code units, so that λ (``alpha``) means the same whatever
    the batch size, the number of features or ``n_components``:

    - ``"l1"``: R(z) = mean ``|zᵢⱼ|``. Each code unit is first divided by its root
      mean square (the batch's in training, a running estimate at inference),
      so the penalty cannot be met by shrinking the code while the decoder
      grows: it can only be lowered by making the code sparse.
    - ``"l2"``: R(z) = mean zᵢⱼ² on the raw linear code (no RMS pinning, which
      would make it constant). It keeps the code small and smooth; it does not
      make it sparse.
    - ``"kl"``: a sigmoid code in (0, 1) and R(z) = mean over units j of
      KL(ρ ‖ ρ̂ⱼ) = ρ log(ρ/ρ̂ⱼ) + (1−ρ) log((1−ρ)/(1−ρ̂ⱼ)), where ρ is
      ``sparsity_target`` and ρ̂ⱼ unit j's mean activation over the batch: the
      classic sparse autoencoder.

    Parameters
    ----------
    {params}

    Attributes
    ----------
    inactive_fraction_ : float
        Fraction of the code entries on the data of the last ``fit`` or
        ``partial_fit`` call (the chunk) whose magnitude is below 10% of
        their code unit's root mean square over that data, for the network
        as it is after that call. Computed in float32 on the rows as the
        network trained on them (normalised; missing values filled in, in
        :class:`AutoencoderImputer`), so for float64 X it matches the codes
        of ``transform`` to float32 precision.

    mean_activation_ : ndarray of shape (n_components,)
        Mean magnitude ``|z|`` of each code unit over the same data (for
        ``"kl"``, the mean activation ρ̂ⱼ).

    {base_attributes}

    See Also
    --------
    AutoencoderTransformer : No penalty on the code by default.
    sklearn.decomposition.SparsePCA : The linear relative, also with ``alpha``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import SparseAutoencoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> sae = SparseAutoencoder(n_components=16, alpha=0.1, max_iter=5, random_state=0)
    >>> sae.fit_transform(X).shape
    (1797, 16)
    """

    __init__ = make_init(penalty="l1", loss="mse")

    _param_docs = {
        "alpha": (
            "float",
            """The strength λ of the penalty. 0 trains a plain autoencoder (with
    the code layer that ``penalty`` implies). On the digits with
    ``"l1"``, 0.3 nearly doubles the codes' Hoyer sparsity for about 1.4
    times the reconstruction error of λ=0 (see the user guide's figure).""",
        ),
        "loss": (
            '{"auto", "mse", "bce"}',
            """Reconstruction loss, as for :class:`AutoencoderTransformer`, but
    ``"mse"`` by default: the scale of ``alpha`` and the measured sparsity
    curve are for squared error (with ``"bce"`` on the digits, L1 sparsity
    fell again as ``alpha`` rose past 1).""",
        ),
    }

    def _after_training(self, X_train):
        Z = np.abs(training_codes(self, X_train))
        rms = np.sqrt(np.mean(Z.astype(np.float64) ** 2, axis=0))
        self.inactive_fraction_ = float(np.mean(Z < INACTIVE_THRESHOLD * rms))
        self.mean_activation_ = Z.mean(axis=0, dtype=np.float64)


def hoyer_sparsity(Z):
    """Mean Hoyer sparsity of the rows of a code matrix, in [0, 1].

    Scale-free: multiplying the code by a constant leaves it unchanged, so it
    measures sparsity, not shrinkage. 0 when every entry of a row has the same
    magnitude, 1 when only one is non-zero.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_components)
        Codes, e.g. the output of ``transform``; needs at least 2 columns.

    Returns
    -------
    sparsity : float
        The mean over the rows of (√k − ‖z‖₁/‖z‖₂) / (√k − 1), k the number
        of columns; an all-zero row counts as 1.
    """
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2 or Z.shape[1] < 2:
        raise ValueError(
            "hoyer_sparsity needs a 2-D code matrix with at least 2 columns (the "
            f"measure compares a row's L1 and L2 norms); got shape {Z.shape}."
        )
    rows = _row_hoyer_sparsity(torch.as_tensor(Z))
    return float(rows.mean())
