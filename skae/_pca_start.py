"""``init="pca"``: the network starts as PCA; on a table, the numeric
columns are then held below PCA's error while the rest of the code goes to
the categorical ones (issue 27).

Three pieces of one start:

- :func:`uses_pca_start`: whether a fit builds skae's MLP blocks beside a
  linear path (:class:`skae.nn.Shortcut`) and starts that path at PCA;
- :func:`principal_axes` and :func:`start_at_pca`: the training rows' first
  ``n_components`` principal axes, and the module's linear path set to them
  (the code head reads the input through them, the output head maps the
  code back through them; the hidden layers' weights in the two heads start
  at 0), so that the untrained network reconstructs as PCA does;
- :class:`NumericHold`: a table's numeric columns' loss times a multiplier
  that rises while their squared error is above a target, a fraction
  (:data:`HOLD_FRACTION`) of what PCA of the same width leaves of them on
  the training rows, and falls while it is below (a constraint kept by its
  multiplier, as GECO does for a VAE's reconstruction, Rezende & Viola
  2018). Without it the numeric columns either lost the code to the
  categorical ones (read at a fixed variance) or took it from them (read at
  their fitted variance: fair's categorical accuracy fell below PCA's): a
  target tied to PCA's error asks of them exactly what beating PCA needs.
"""

import math
from typing import NamedTuple

import torch

from ._finish import spaced_rows
from ._losses import weighted_mean

#: The hold's target: this fraction of the squared error that PCA of the
#: code's width leaves of the numeric columns on the training rows (their
#: mean share of each column's variance). Below 1, for a margin: an
#: autoencoder's held-out error is further above its training error than
#: PCA's (0.6 and 0.8 were tried on the benchmark's tables; 0.8 lost the
#: numeric columns to PCA on two of nineteen, see docs/benchmarks.md).
HOLD_FRACTION = 0.6

#: The multiplier's step on the log scale, per training batch, per unit of
#: ``log(error / target)``.
HOLD_RATE = 0.01

#: The multiplier's bounds.
HOLD_BOUNDS = (0.1, 1000.0)

#: The least target (a share of the variance): a table whose numeric
#: columns PCA gives back exactly still has one the multiplier can reach.
MIN_HOLD_TARGET = 1e-6

#: The most entries of the training rows that the principal axes are
#: computed from (evenly spaced rows, when there are more).
MAX_ENTRIES = 2**24


def uses_pca_start(estimator, likelihood, params=None):
    """Whether the fit's network is skae's MLP blocks beside a linear path
    started at PCA: ``init="pca"``, or ``init="auto"`` on a table (a
    :class:`~skae._objectives.TableLikelihood`) reconstructed as it is (no
    ``noise``, no ``penalty``) by skae's own blocks, for the estimators
    whose ``_table_start`` says so (not the VAE). ``params``: the
    parameters to read (the fitted ones by default)."""
    p = estimator._fitted_params if params is None else params
    init = p.get("init", "random")
    if init != "auto":
        return init == "pca"
    return (
        likelihood.loss == "table"
        and p["encoder"] is None
        and p["decoder"] is None
        and p["noise"] is None
        and p["penalty"] is None
        and type(estimator)._table_start
    )


class Axes(NamedTuple):
    """The training rows' mean and first principal axes (``components``,
    ``(n_components, n_features)``, rows of zeros past the rows' rank), and
    the share of each feature's variance that the axes leave (their mean
    squared residual over the rows' variance; with sample weights, the
    residual's weighted mean over the unweighted variance, the units a
    table's columns are read in)."""

    mean: torch.Tensor
    components: torch.Tensor
    residual_share: torch.Tensor


def principal_axes(rows, weights, n_components):
    """:class:`Axes` of the normalised training rows ``rows`` (a tensor or
    :class:`~skae._data.LazyRows`; at most :data:`MAX_ENTRIES` entries of
    them, evenly spaced rows), each row counted by its sample weight
    (``weights``, or None). A missing entry (NaN) counts as its feature's
    mean over the rows read."""
    n, d = len(rows), rows[0:1].shape[1]
    take = max(1, min(n, MAX_ENTRIES // max(d, 1)))
    index = spaced_rows(n, take)
    x = rows[index].detach().to("cpu", torch.float64)
    x = torch.where(torch.isnan(x), torch.nan_to_num(x.nanmean(dim=0)), x)
    w = torch.ones(len(x), dtype=torch.float64)
    if weights is not None:
        w = weights[index].detach().to("cpu", torch.float64)
    w = w / w.sum()
    mean = w @ x
    centred = x - mean
    _, _, vt = torch.linalg.svd(centred * w.sqrt()[:, None], full_matrices=False)
    components = torch.zeros(n_components, d, dtype=torch.float64)
    rank = min(n_components, vt.shape[0])
    components[:rank] = vt[:rank]
    left = centred - (centred @ components.T) @ components
    # with weights, a share of the unweighted variance: a table's encoding
    # (which a column's error is read in units of) is fitted unweighted
    variance = (
        w @ centred.square()
        if weights is None
        else (x - x.mean(dim=0)).square().mean(dim=0)
    )
    share = (w @ left.square()) / variance.clamp(min=torch.finfo(torch.float64).tiny)
    return Axes(mean, components, torch.where(variance > 0, share, 0.0))


def start_at_pca(module, axes):
    """Set ``module``'s linear path to ``axes``: the code head's weights on
    the input (its first ``n_features`` inputs) to the components, the
    output head's weights on the code to their transpose, the biases to the
    mean, every other weight of the two heads to 0. The code head's first
    ``n_components`` outputs are the code (the VAE's posterior means)."""
    code, out = module.code_head, module.output_head
    k, d = module.n_components, module.n_features
    if out is None or code.weight.shape[1] < d or out.weight.shape[1] < k:
        raise ValueError(
            "init='pca' needs skae's own network (its code head reading the "
            "input, its output head reading the code); this estimator builds "
            "another one (a TopK dictionary, your own decoder). Set "
            "init='random'."
        )
    with torch.no_grad():
        v = axes.components.to(code.weight)
        mean = axes.mean.to(code.weight)
        code.weight.zero_()
        code.bias.zero_()
        code.weight[:k, :d] = v
        code.bias[:k] = -(v @ mean)
        out.weight.zero_()
        out.weight[:, :k] = v.T
        out.bias.copy_(mean)


class NumericHold:
    """A table's numeric columns held near ``target`` (a mean squared error,
    as a share of each column's variance): their terms of
    :meth:`~skae._objectives.TableLikelihood.reconstruction_terms` (each
    the squared error over the column's marginal variance) times
    :attr:`multiplier`, which :meth:`step` moves after each training batch
    by ``HOLD_RATE * log(error / target)`` on the log scale, within
    :data:`HOLD_BOUNDS`: the numeric terms weigh ``m`` times the others
    (see :meth:`loss`)."""

    def __init__(self, target):
        self.target = max(float(target), MIN_HOLD_TARGET)
        self.log_multiplier = 0.0
        self.error = None  # the last batch's numeric error

    @classmethod
    def from_axes(cls, axes, likelihood):
        """The hold whose target is :data:`HOLD_FRACTION` of what ``axes``
        leave of the table's numeric columns."""
        numeric = axes.residual_share[likelihood.gaussian]
        return cls(HOLD_FRACTION * float(numeric.mean()))

    @property
    def multiplier(self):
        return math.exp(self.log_multiplier)

    def loss(self, likelihood, output, x, weights=None):
        """The mean over columns and rows (each row counted by its sample
        weight, with ``weights``) of the held terms; records the batch's
        numeric error for :meth:`step`. With ``m`` the multiplier, the
        numeric terms weigh ``2 m / (1 + m)`` and the others ``2 / (1 +
        m)``: their ratio is ``m``, and the loss stays within twice its
        unheld value (a target the numeric columns cannot reach must not
        grow the loss until the divergence guard stops the fit)."""
        terms = likelihood.reconstruction_terms(x, output)
        n = len(likelihood.gaussian)  # the numeric columns' terms come first
        seen = terms[:, :n].detach().mean(dim=1)
        m = self.multiplier
        held = torch.cat([m * terms[:, :n], terms[:, n:]], dim=1) * (2 / (1 + m))
        self.error = float(weighted_mean(seen, weights))
        return weighted_mean(held.mean(dim=1), weights)

    def step(self):
        """Move the multiplier after a training batch (see the class)."""
        if self.error is None:
            return
        low, high = (math.log(b) for b in HOLD_BOUNDS)
        change = HOLD_RATE * math.log(max(self.error, 1e-30) / self.target)
        self.log_multiplier = min(max(self.log_multiplier + change, low), high)


def prepare(net, estimator, data):
    """Start a fresh fit's network at PCA (:func:`start_at_pca`) where
    :func:`uses_pca_start` says so, and give the net its
    :class:`NumericHold` (``net.hold_``) where the fit reconstructs a
    table's clean, complete rows (no ``noise``, no missing entries) with
    numeric columns. A continued fit keeps its net's hold; one whose net
    has none (a model read from a file) gets one from these rows; one with
    ``noise`` (which a warm start may set) has none."""
    lik = data.likelihood
    if not uses_pca_start(estimator, lik):
        return
    holds = (
        lik.loss == "table"
        and len(lik.gaussian) > 0
        and estimator.noise is None  # this run's: noise may change on a resume
        and data.missing is None
        and type(estimator)._table_start
    )
    if data.resume and not holds:
        net.hold_ = None
    if data.resume and (not holds or net.hold_ is not None):
        return
    axes = principal_axes(
        data.rows, data.weights, estimator._fitted_params["n_components"]
    )
    if not data.resume:
        start_at_pca(net.module_, axes)
    if holds:
        net.hold_ = NumericHold.from_axes(axes, lik)
