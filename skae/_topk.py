"""TopK codes: sparse dictionary learning with an exact number of active
code units per row (Gao et al., "Scaling and evaluating sparse
autoencoders", ICLR 2025), as the penalties ``"topk"`` and ``"batchtopk"``
of every estimator.

The network is the linear TopK autoencoder of the paper, built by the
penalty itself: a linear encoder (skae's code head on the normalised rows),
:class:`TopK` (keep each row's k largest pre-activations, ReLU on them, exact
zeros elsewhere), and :class:`UnitNormDecoder`, a linear decoder whose atoms
(one column per code unit) have unit norm, so that ``components_`` is a
dictionary as ``DictionaryLearning``'s. The encoder starts as the decoder's
transpose (the tied initialisation), and the data are centred by their
mean (skae's normalisation for ``loss="mse"``, the only loss allowed).

The auxiliary loss AuxK, weighted by ``alpha``, makes dead code units (no
activation on the last :data:`DEAD_AFTER_ROWS` training rows) model what
the live ones leave unexplained: the residual's reconstruction by the
``k_aux`` dead units with the largest pre-activations, its squared error
divided by the residual's energy. ``"batchtopk"`` (Bussmann et al., 2024)
keeps the ``k * batch`` largest pre-activations of the whole training
batch instead, and a threshold learned in training at inference, so that
``transform`` does not depend on which rows share a batch.
"""

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ._inference import training_row_batches
from ._modules import Autoencoder
from ._objectives import CodePenalty, register_penalty
from .nn import LazyLinear, MLPEncoder

#: A code unit is dead when it has fired on none of the last this many
#: training rows (Gao et al. use 10M tokens for 16M latents). AuxK acts on
#: the dead units; ``dead_fraction_`` reports them.
DEAD_AFTER_ROWS = 10_000

#: The BatchTopK threshold's running average: the weight of a new batch's
#: value (after the first 1/THRESHOLD_MOMENTUM batches, a plain mean).
THRESHOLD_MOMENTUM = 0.01


# ------------------------------------------------------------ torch modules


class TopK(nn.Module):
    """The TopK code: of each row's pre-activations ``(batch, n_components)``,
    keep the ``k`` largest, ReLU on them, exact zeros elsewhere.

    With ``batch=True`` (BatchTopK), a training batch of n rows keeps its
    ``k * n`` largest pre-activations over the whole batch (k per row on
    average), and a running mean of the smallest positive value kept is the
    threshold that eval mode applies to each row on its own.

    In training mode it counts, per unit, the training rows since the unit
    last fired (the buffer ``rows_since_fired``), which tells the dead units.
    """

    def __init__(self, n_components, k, batch=False, dead_after=None):
        super().__init__()
        self.n_components = int(n_components)
        self.k = int(k)
        self.batch = bool(batch)
        self.dead_after = int(DEAD_AFTER_ROWS if dead_after is None else dead_after)
        self.register_buffer(
            "rows_since_fired", torch.zeros(self.n_components, dtype=torch.long)
        )
        self.register_buffer("rows_seen", torch.zeros((), dtype=torch.long))
        self.register_buffer("threshold", torch.zeros(()))
        self.register_buffer("threshold_updates", torch.zeros((), dtype=torch.long))

    def forward(self, pre):
        if self.batch and self.training:
            code = self._batch_topk(pre)
        elif self.batch:
            code = pre * (pre > self.threshold.clamp(min=0))
        else:
            values, indices = pre.topk(self.k, dim=1)
            code = torch.zeros_like(pre).scatter(1, indices, F.relu(values))
        if self.training:
            self._count(code)
        return code

    def _batch_topk(self, pre):
        flat = pre.reshape(-1)
        values, indices = flat.topk(min(self.k * pre.shape[0], flat.numel()))
        kept = F.relu(values)
        with torch.no_grad():
            # the smallest positive value kept (values are sorted), when any is
            smallest = torch.where(kept > 0, kept, kept[0]).min()
            weight = (1.0 / (self.threshold_updates + 1).double()).clamp(
                min=THRESHOLD_MOMENTUM
            ) * (kept[0] > 0)
            self.threshold.add_(weight.to(pre.dtype) * (smallest - self.threshold))
            self.threshold_updates.add_(1)
        return torch.zeros_like(flat).scatter(0, indices, kept).view_as(pre)

    def _count(self, code):
        with torch.no_grad():
            fired = (code > 0).any(dim=0)
            self.rows_since_fired.add_(code.shape[0]).masked_fill_(fired, 0)
            self.rows_seen.add_(code.shape[0])

    def dead(self):
        """The units that fired on none of the last ``dead_after`` training
        rows: a boolean tensor ``(n_components,)``."""
        return self.rows_since_fired >= self.dead_after

    def dead_fraction(self):
        """The fraction of units that fired on none of the last
        ``min(dead_after, rows_seen)`` training rows."""
        window = torch.clamp(self.rows_seen, max=self.dead_after, min=1)
        return float((self.rows_since_fired >= window).double().mean())


class UnitNormDecoder(nn.Module):
    """A linear decoder ``z -> D z + b`` whose atoms (the columns of D, one
    per code unit) have unit L2 norm: D is the stored weight with each
    column divided by its norm, so every forward pass uses unit atoms and
    the gradient moves their directions only. Shapes: ``(batch,
    n_components)`` in, ``(batch, n_features)`` out."""

    def __init__(self, n_components, n_features):
        super().__init__()
        self.linear = LazyLinear(n_features)
        # materialised now (from the fit's generator, as skae's blocks are)
        self.linear(torch.zeros(1, n_components))

    def atoms(self):
        """D: the unit-norm atoms, ``(n_features, n_components)``."""
        weight = self.linear.weight
        return weight / weight.norm(dim=0, keepdim=True).clamp(min=1e-12)

    def forward(self, z):
        return F.linear(z, self.atoms(), self.linear.bias)


def tie(module):
    """The tied initialisation: unit atoms, the encoder's weight their
    transpose, both biases 0 (the data are centred already)."""
    with torch.no_grad():
        atoms = module.decoder.atoms()
        module.decoder.linear.weight.copy_(atoms)
        module.decoder.linear.bias.zero_()
        module.code_head.weight.copy_(atoms.T)
        module.code_head.bias.zero_()


def auxk_loss(module, code, x, k_aux, weights=None):
    """AuxK: how well the ``k_aux`` dead units with the largest
    pre-activations (of each row) reconstruct the residual ``x - x̂``, a
    squared error divided by the residual's (scale-free); 0.0 without dead
    units. ``weights`` (the rows' sample weights): each row's squares
    counted by its weight."""
    dead = module.code_activation.dead().nonzero().squeeze(1)
    if dead.numel() == 0:
        return 0.0
    head = module.code_head
    pre = F.linear(x, head.weight[dead], head.bias[dead])
    values, where = pre.topk(min(k_aux, dead.numel()), dim=1)
    z = torch.zeros_like(pre).scatter(1, where, F.relu(values))
    estimate = z @ module.decoder.atoms()[:, dead].T
    with torch.no_grad():
        residual = x - module.decode(code)
    error, squares = (estimate - residual).pow(2), residual.pow(2)
    if weights is not None:
        error, squares = error * weights[:, None], squares * weights[:, None]
    energy = squares.sum().clamp(min=torch.finfo(x.dtype).tiny)
    return error.sum() / energy


# ------------------------------------------------------------ the penalties


def resolved_k(n_nonzero_coefs, n_components, n_features):
    """k: ``n_nonzero_coefs``, or for None 10% of ``n_components``, at most
    ``n_features`` and at least 1 (a single-unit code keeps its one unit)."""
    if n_nonzero_coefs is not None:
        return int(n_nonzero_coefs)
    return max(1, min(n_components // 10, n_features))


@register_penalty
class TopKPenalty(CodePenalty):
    """The TopK autoencoder's pieces; R(z) is the AuxK loss, ``alpha`` its
    weight (Gao et al. use 1/32)."""

    name = "topk"
    params = ("n_nonzero_coefs",)
    builds_network = True
    batch = False
    fitted_names = ("n_nonzero_coefs_", "dead_fraction_", "mean_nonzeros_", "fvu_")

    def __init__(self, n_nonzero_coefs=None):
        self.n_nonzero_coefs = n_nonzero_coefs

    def code_activation(self, requested):
        if requested not in (None, "relu"):
            raise ValueError(
                f"penalty={self.name!r} applies a ReLU to the k largest "
                f"pre-activations of each row; code_activation={requested!r} "
                "cannot apply. Leave code_activation=None (or 'relu')."
            )
        return "relu"

    def check(self, estimator, X):
        name = f"penalty={self.name!r}"
        if estimator.loss == "bce":
            raise ValueError(
                f"{name} reconstructs each row as a sum of unit-norm atoms on "
                "the data centred by its mean (a linear dictionary), which "
                "needs loss='mse'; loss='bce' cannot be used with it."
            )
        if estimator.noise is not None:
            raise ValueError(
                f"{name} limits the code to k active units already, and its "
                "auxiliary loss (AuxK) reconstructs the residual of the input "
                f"the network saw; noise={estimator.noise!r} would make that a "
                "corrupted one. Use noise=None."
            )
        k, m = estimator.n_nonzero_coefs, estimator.n_components
        if k is not None and k >= m:
            raise ValueError(
                f"n_nonzero_coefs={k} must be below n_components={m} with "
                f"{name}: with k >= n_components every unit may be active and "
                "the code is not sparse. Lower n_nonzero_coefs or raise "
                "n_components."
            )
        if k is not None and X is not None and k > X.shape[1]:
            raise ValueError(
                f"n_nonzero_coefs={k} exceeds n_features={X.shape[1]}: more "
                "than n_features atoms of a linear dictionary in a row are "
                "linearly dependent, and the code is not unique. Use "
                f"n_nonzero_coefs <= {X.shape[1]}."
            )

    def no_effect(self, estimator):
        why = (
            f"penalty={self.name!r} builds its own network, a linear encoder, "
            "the TopK code and a linear decoder of unit-norm atoms"
        )
        fix = (
            "use penalty='l1' with code_activation='relu' for a sparse code "
            "on another network."
        )
        names = ("encoder", "decoder", "hidden_layer_sizes", "decoder_layer_sizes")
        return {name: (why, fix) for name in (*names, "activation", "dropout")}

    def build_module(self, encoder, decoder, n_features, params, lik):
        if lik.loss != "mse":
            raise ValueError(
                f"penalty={self.name!r} needs loss='mse' (a linear dictionary "
                f"on centred data); loss={params['loss']!r} chose "
                f"{lik.loss!r} for this data. Set loss='mse'."
            )
        m = params["n_components"]
        k = resolved_k(self.n_nonzero_coefs, m, n_features)
        module = Autoencoder(
            MLPEncoder(()),
            UnitNormDecoder(m, n_features),
            n_features,
            m,
            code_activation=TopK(m, k, batch=self.batch),
        )
        tie(module)
        return module

    def __call__(self, code, x, module):
        return auxk_loss(module, code, x, k_aux=max(1, x.shape[1] // 2))

    def weighted(self, code, x, module, weights):
        return auxk_loss(module, code, x, max(1, x.shape[1] // 2), weights)

    def fitted_attributes(self, estimator, X_train):
        module = estimator.net_.module_
        layer = module.code_activation
        nonzeros = squared_error = total = squares = 0.0
        with torch.inference_mode():
            for x in training_row_batches(estimator, X_train):
                code = module.encode(x)
                error = x.double() - module.decode(code).double()
                nonzeros = nonzeros + (code != 0).sum()
                squared_error = squared_error + error.pow(2).sum()
                total = total + x.double().sum(dim=0)
                squares = squares + x.double().pow(2).sum(dim=0)
        n = len(X_train)
        variance = float((squares - total**2 / n).sum())
        return {
            "n_nonzero_coefs_": layer.k,
            "dead_fraction_": layer.dead_fraction(),
            "mean_nonzeros_": float(nonzeros) / n,
            "fvu_": float(squared_error) / variance if variance > 0 else 0.0,
        }


@register_penalty
class BatchTopKPenalty(TopKPenalty):
    """TopK with the batch's ``k * batch`` largest pre-activations in
    training and a learned threshold at inference."""

    name = "batchtopk"
    batch = True


# ------------------------------------------------------------ the estimator


class DictionaryAtoms:
    """Mixin of :class:`~skae._base.BaseAutoencoder`: ``components_``, the
    atoms of a model fitted with a TopK penalty."""

    @property
    def components_(self):
        """The decoder's unit-norm atoms, ``(n_components, n_features)``.

        As ``DictionaryLearning.components_``: fitted with
        ``penalty="topk"`` or ``"batchtopk"`` only (a linear decoder), in X's
        units up to one global scale (``scale_``), which leaves directions
        unchanged."""
        decoder = getattr(getattr(self, "net_", None), "module_", None)
        atoms = getattr(getattr(decoder, "decoder", None), "atoms", None)
        if atoms is None:
            raise AttributeError(
                f"{type(self).__name__} has components_ (the atoms of a linear "
                "dictionary) only once fitted with penalty='topk' or 'batchtopk'."
            )
        with torch.no_grad():
            return atoms().T.detach().cpu().numpy().astype(np.float64)
