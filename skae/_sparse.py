"""SparseAutoencoder: an autoencoder with a penalty on its code."""

import numpy as np
import torch

from ._base import BaseAutoencoder
from ._docstrings import fill_doc
from ._inference import training_code_batches
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
      grows: it can only be lowered by making the code sparse. A nonlinear
      code (``code_activation="relu"``: exact zeros) is standardised per unit
      before its activation, so that no unit lowers the penalty by switching
      off on every row.
    - ``"l2"``: R(z) = mean zᵢⱼ² on the raw linear code (no RMS pinning, which
      would make it constant). It keeps the code small and smooth; it does not
      make it sparse.
    - ``"kl"``: a sigmoid code in (0, 1) and R(z) = mean over units j of
      KL(ρ ‖ ρ̂ⱼ) = ρ log(ρ/ρ̂ⱼ) + (1−ρ) log((1−ρ)/(1−ρ̂ⱼ)), where ρ is
      ``sparsity_target`` and ρ̂ⱼ unit j's mean activation over the batch: the
      classic sparse autoencoder.
    - ``"topk"``: the TopK sparse autoencoder (Gao et al., 2025), a linear
      dictionary model: each row's code keeps its ``n_nonzero_coefs``
      largest pre-activations (ReLU on them, exact zeros elsewhere), the
      decoder's atoms ``components_`` have unit norm, the encoder starts as
      their transpose, and R(z) is the auxiliary loss AuxK on dead units.
      ``"batchtopk"`` keeps the largest ``n_nonzero_coefs * batch``
      pre-activations of a training batch, and a learned threshold in
      ``transform``. See the user guide, "TopK codes: dictionary learning".

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

    components_ : ndarray of shape (n_components, n_features)
        With ``penalty="topk"`` or ``"batchtopk"`` only: the decoder's
        unit-norm atoms, as ``DictionaryLearning.components_``.

    n_nonzero_coefs_ : int
        With ``"topk"`` or ``"batchtopk"`` only: k as used (``None``
        resolved).

    dead_fraction_ : float
        With ``"topk"`` or ``"batchtopk"`` only: the fraction of code units
        that fired on none of the last min(10 000, rows trained on)
        training rows, as counted during training.

    mean_nonzeros_ : float
        With ``"topk"`` or ``"batchtopk"`` only: L0, the mean number of
        non-zero code units per row on the data of the last ``fit`` or
        ``partial_fit`` call.

    fvu_ : float
        With ``"topk"`` or ``"batchtopk"`` only: the fraction of variance
        unexplained on the same data, Σ‖x − x̂‖² / Σ‖x − x̄‖².

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
        loss="mse",
        categorical_features="from_dtype",
        column_likelihoods=None,
        penalty="l1",
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

    _param_docs = {
        "alpha": (
            "float",
            """The strength λ of the penalty. 0 trains a plain autoencoder (with
    the code layer that ``penalty`` implies). On the digits with
    ``"l1"``, 0.3 nearly doubles the codes' Hoyer sparsity for about 1.4
    times the reconstruction error of λ=0 (see the user guide's figure).
    For ``"topk"`` and ``"batchtopk"``, the weight of the auxiliary loss
    AuxK on dead units (Gao et al. use 1/32). On a 64-atom dictionary in
    32 dimensions (128 units, k=3, 30 epochs at a constant learning rate
    of 1e-3), alpha 0.3, 1/32 and 0 left 0.8%, 4.7% and 6.3% of the units
    dead, with fractions of variance unexplained 0.107, 0.105 and 0.134.""",
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
        super()._after_training(X_train)  # n_dead_components_
        # two passes over batches of codes: a wide code (TopK's 16k units)
        # on a large chunk would not fit in memory whole
        n_rows = len(X_train)
        magnitude = squares = 0.0
        for Z in training_code_batches(self, X_train):
            Z = Z.abs().double()
            magnitude = magnitude + Z.sum(dim=0)
            squares = squares + Z.pow(2).sum(dim=0)
        threshold = INACTIVE_THRESHOLD * torch.sqrt(squares / n_rows)
        inactive = sum(
            int((Z.abs().double() < threshold).sum())
            for Z in training_code_batches(self, X_train)
        )
        self.inactive_fraction_ = inactive / (n_rows * self.n_components_)
        self.mean_activation_ = (magnitude / n_rows).cpu().numpy()


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
