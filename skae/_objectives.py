"""The pieces an objective is made of: a likelihood, a penalty on the code and
a corruption of the input.

Each estimator is a named choice of pieces with its own defaults, and every
estimator takes every piece (``loss``, ``penalty``/``alpha``, ``noise``), so
a denoising autoencoder with a sparse code is just
``DenoisingAutoencoder(penalty="l1")``. The training net
(:class:`skae._net.AutoencoderNet`) calls the pieces in ``get_loss`` and
``train_step_single``.

A new penalty is a subclass of :class:`CodePenalty` decorated with
:func:`register_penalty`; its name then becomes a valid ``penalty`` of every
estimator.
"""

import math

import torch
from torch.nn import functional as F

from ._losses import (
    bernoulli_nll,
    gaussian_nll,
    kl_sparsity_penalty,
    l1_penalty,
    l2_penalty,
    weighted_mean,
)
from ._modules import Autoencoder

_LOG_2PI = math.log(2 * math.pi)

#: A weighted count's floor in a ratio: 0 / _TINY = 0 where nothing counts.
_TINY = torch.finfo(torch.float32).tiny

#: The least baseline (nats) a table's column term is divided by: a column
#: almost constant in training (a rare level, one level) weighs at most
#: 1 / MIN_BASELINE = 10 times a column at its marginal.
MIN_BASELINE = 0.1

#: The least noise variance of a table's numeric columns in the autoencoders'
#: training loss, as a fraction of their variance at the marginal: below a
#: mean squared error of 3% of the variance (a standard deviation of about
#: 17%), the numeric columns are read at that fixed variance.
MIN_NOISE_VARIANCE = 0.03

# ------------------------------------------------------------- likelihoods


class Likelihood:
    """How the decoder's raw output is read: the normalisation of the data,
    the output map (raw output -> mean), the autoencoders' reconstruction
    loss (a mean over entries) and the VAE's log-likelihood (per row)."""

    def __init__(self, name, loss, criterion):
        self.name = name  # the VAE's word
        self.loss = loss  # the autoencoders' word, and the normalisation's
        self.criterion = criterion

    def mean(self, output):
        """The decoder's mean from its raw output."""
        return torch.sigmoid(output) if self.loss == "bce" else output

    def negative_log_likelihood(self, x, output, log_var=None):
        """-log p(x | z) per row for the raw ``output`` (and, Gaussian, the
        decoder's log-variance): the VAE's reconstruction term."""
        if self.loss == "bce":
            return bernoulli_nll(x, output)
        return gaussian_nll(x, output, log_var)

    def log_likelihood(self, x, output, log_var=None):
        """log p(x | z) per row: minus :meth:`negative_log_likelihood`."""
        return -self.negative_log_likelihood(x, output, log_var)

    def entries(self, output, target):
        """The criterion's loss of each entry, before its mean: the squared
        error, or the binary cross-entropy of the logits ``output``."""
        if self.loss == "bce":
            return F.binary_cross_entropy_with_logits(output, target, reduction="none")
        return (output - target) ** 2

    def weighted_loss(self, output, target, weights):
        """The autoencoders' reconstruction loss (the criterion's mean over
        entries) with each row counted by its sample weight: the weighted
        mean over rows of each row's mean over its entries."""
        return weighted_mean(self.entries(output, target).mean(dim=1), weights)

    def __repr__(self):
        return f"Likelihood({self.name!r})"

    def __reduce__(self):  # pickles as a reference to the shared instance
        return (likelihood, (self.name,))


GAUSSIAN = Likelihood("gaussian", "mse", torch.nn.MSELoss)
BERNOULLI = Likelihood("bernoulli", "bce", torch.nn.BCEWithLogitsLoss)

_LIKELIHOODS = {
    "gaussian": GAUSSIAN,
    "mse": GAUSSIAN,
    "bernoulli": BERNOULLI,
    "bce": BERNOULLI,
}


def likelihood(name):
    """The likelihood for a ``loss`` ("mse", "bce") or ``likelihood``
    ("gaussian", "bernoulli") name."""
    return _LIKELIHOODS[name]


class TableLikelihood:
    """The likelihood of a table's encoded rows (see :mod:`skae._table`):
    one term per original column, each read by its own distribution.

    ``columns`` lists ``(kind, start, width)`` a column: ``"gaussian"`` (one
    entry, the decoder's output its mean; unit variance, or the VAE's
    learned ``log_var``), ``"bernoulli"`` (one entry, the output a logit),
    ``"categorical"`` (a one-hot block of ``width`` entries, the outputs
    the logits of a softmax) and ``"poisson"`` (one entry, the count
    divided by ``poisson_scales``' value for it, the output the log of the
    rate in those units).

    Weighting (:meth:`reconstruction_terms`): each column counts once, in
    units of its own uncertainty. A column's term is its negative
    log-likelihood above its floor (a perfect fit: 0; the Gaussian's
    constant taken off), divided by ``weights``' baseline: the same term
    under the best constant prediction of the training rows (the column's
    marginal: half its variance for a numeric column, the entropy of its
    levels for a categorical or binary one), at least :data:`MIN_BASELINE`.
    So every column weighs about 1 at the marginal and 0 when reconstructed
    exactly, whatever its kind or number of levels: a 30-level column does
    not outweigh a numeric one by its larger entropy in nats. These are the
    terms a row's score is made of (:meth:`reconstruction_terms`).

    A fit started at PCA (``init``, the default on a table) trains on
    these terms with the numeric ones held by a multiplier
    (:class:`skae._pca_start.NumericHold`). Other fits (``init="random"``,
    a denoising fit, the imputer's) train on the mean over columns and rows
    of :meth:`training_terms`: the same terms, except that the numeric
    columns are not read at a fixed variance. At its marginal variance a Gaussian
    term falls with the square of the error, so it stops pulling once a
    numeric column is roughly reconstructed, while a categorical column's
    cross-entropy (a log-probability) keeps rewarding each further gain:
    the categorical columns took the code's capacity (issue 27's tables).
    So the numeric columns share one noise variance, in units of each
    one's marginal variance (as the VAE learns one variance for them),
    set to its maximum-likelihood value on the batch: their mean squared
    error there, at least :data:`MIN_NOISE_VARIANCE`. Read at it, their
    terms are log-likelihoods too: halving the numeric error is worth the
    same whatever its size. Scaled to weigh 1 between the marginal and the
    least variance, that reading pulls less than the fixed one while the
    error is large (above ``1 / log(1 / m)`` of the variance, 29% at ``m =
    0.03``), which let the categorical columns take the code first; so the
    numeric columns are read at whichever of the two pulls harder: the
    fixed variance while the error is large, the fitted one below.

    The VAE's ELBO sums the plain negative
    log-likelihoods (:meth:`negative_log_likelihood`) over columns, as a
    likelihood must. Like :class:`Likelihood`: :meth:`mean` (the output
    map), :meth:`negative_log_likelihood` per row, and a ``criterion``.
    """

    name = "table"
    loss = "table"

    def __init__(self, columns, poisson_scales=(), weights=None):
        self.columns = [(str(k), int(s), int(w)) for k, s, w in columns]
        self.poisson_scales = [float(m) for m in poisson_scales]
        kinds = [kind for kind, _, _ in self.columns]
        by_kind = {
            k: [s for kind, s, _ in self.columns if kind == k]
            for k in ("gaussian", "bernoulli", "poisson")
        }
        self.gaussian = torch.tensor(by_kind["gaussian"], dtype=torch.long)
        self.bernoulli = torch.tensor(by_kind["bernoulli"], dtype=torch.long)
        self.poisson = torch.tensor(by_kind["poisson"], dtype=torch.long)
        self.blocks = [(s, w) for kind, s, w in self.columns if kind == "categorical"]
        self.n_columns = len(self.columns)
        #: the table's column index of each of :meth:`column_terms`' columns
        self.term_order = [
            j
            for k in ("gaussian", "bernoulli", "poisson", "categorical")
            for j, kind in enumerate(kinds)
            if kind == k
        ]
        weights = [1.0] * self.n_columns if weights is None else weights
        self.weights = torch.tensor(
            [float(weights[j]) for j in self.term_order], dtype=torch.float64
        )
        # each term's floor: the unit Gaussian's constant, 0 for the others
        self.floors = torch.tensor(
            [
                0.5 * _LOG_2PI if kinds[j] == "gaussian" else 0.0
                for j in self.term_order
            ],
            dtype=torch.float64,
        )
        # each term's first entry, in column_terms' order (grouped by kind)
        self.term_starts = torch.tensor(
            [self.columns[j][1] for j in self.term_order], dtype=torch.long
        )

    @property
    def criterion(self):
        """The autoencoders' reconstruction loss: a module computing the mean
        over columns and rows of :meth:`training_terms`."""
        return TableLoss(self)

    def reconstruction_terms(self, x, output):
        """``(n_rows, n_columns)``: each column's weighted term (see the
        class docstring), a numeric one read at its marginal variance: a
        row's terms depend on that row only (its score)."""
        terms = self.column_terms(x, output)
        floors = self.floors.to(terms)
        return (terms - floors) * self.weights.to(terms)

    def training_terms(self, x, output, observed=None, weights=None):
        """``(n_rows, n_columns)``: the autoencoders' loss before its mean,
        :meth:`reconstruction_terms` with the numeric columns read at their
        shared noise variance fitted on the batch (see the class docstring):
        for squared errors ``r`` in units of each column's marginal variance
        and ``s`` their mean over the batch (at least
        :data:`MIN_NOISE_VARIANCE`, held fixed for the gradient), each
        numeric term is ``r`` (the fixed variance's) while ``s`` is at
        least ``1 / L``, ``L = log(1 / m)`` and ``m`` the least variance,
        and ``(r / s + log(s L)) / L`` below, where the fitted
        variance pulls harder (the gradient ``1 / (s L)`` times the fixed
        one's): the larger pull of the two readings, the loss continuous
        where they meet. ``observed`` (:meth:`observed_terms`' mask, the
        imputer's engine) leaves the missing entries out of ``s``;
        ``weights`` (the rows' sample weights) count each row's errors in
        ``s`` by its weight."""
        terms = self.reconstruction_terms(x, output)
        n = len(self.gaussian)  # the numeric columns' terms come first
        if not n:
            return terms
        # the squared error over the marginal variance: the weight is
        # 1 / (half the variance), the term above its floor half the error
        ratio = terms[:, :n]
        seen = ratio.detach()
        if weights is not None:
            mask = weights[:, None].expand_as(seen).to(seen.dtype)
            if observed is not None:
                mask = mask * observed[:, :n]
            noise = (seen * mask).sum() / mask.sum().clamp(min=_TINY)
        elif observed is None:
            noise = seen.mean()
        else:
            mask = observed[:, :n].to(seen.dtype)
            noise = (seen * mask).sum() / mask.sum().clamp(min=1)
        noise = noise.clamp(min=MIN_NOISE_VARIANCE)
        scale = math.log(1 / MIN_NOISE_VARIANCE)
        fitted = (ratio / noise + torch.log(noise * scale)) / scale
        numeric = torch.where(noise * scale < 1, fitted, ratio)
        return torch.cat([numeric, terms[:, n:]], dim=1)

    def baselines(self, x):
        """Each column's term (above its floor) under the best constant
        prediction of the encoded rows ``x``, averaged over them, in the
        table's column order: what the weights divide by. Missing entries
        (NaN in ``x``, the imputer's engine) are left out: a column's
        marginal and mean term are over the rows where it is observed."""
        x = torch.as_tensor(x, dtype=torch.float64)
        observed = ~torch.isnan(x)
        if observed.all():
            output = self._marginal_output(x.mean(dim=0))
            terms = self.column_terms(x, output.expand_as(x))
            return self._in_table_order((terms - self.floors).mean(dim=0))
        filled = torch.where(observed, x, torch.zeros_like(x))
        means = filled.sum(dim=0) / observed.sum(dim=0).clamp(min=1)
        output = self._marginal_output(means)
        rows = self.observed_terms(observed).double()
        terms = (self.column_terms(filled, output.expand_as(x)) - self.floors) * rows
        return self._in_table_order(terms.sum(dim=0) / rows.sum(dim=0).clamp(min=1))

    def _marginal_output(self, means):
        """The raw output whose mean is ``means``, the encoded columns' means
        (logits of a Bernoulli entry's frequency, log-frequencies of a
        block's levels, log-rates of counts)."""
        output = means.clone()
        if len(self.bernoulli):
            p = means[self.bernoulli].clamp(1e-3, 1 - 1e-3)
            output[self.bernoulli] = torch.log(p / (1 - p))
        if len(self.poisson):
            output[self.poisson] = torch.log(means[self.poisson].clamp(min=1e-3))
        for start, width in self.blocks:
            output[start : start + width] = torch.log(
                means[start : start + width].clamp(min=1e-6)
            )
        return output

    def _in_table_order(self, per_term):
        """Per-term values (:meth:`column_terms`' order) as a list in the
        table's column order."""
        out = torch.empty(self.n_columns, dtype=torch.float64)
        out[torch.tensor(self.term_order, dtype=torch.long)] = per_term
        return out.tolist()

    def mean(self, output):
        """The decoder's mean in the encoded units: the output itself for
        Gaussian entries, a probability per Bernoulli entry, the softmax of
        each categorical block, the rate of each count."""
        mean = output.clone()
        if len(self.bernoulli):
            at = self.bernoulli.to(output.device)
            mean[:, at] = torch.sigmoid(output[:, at])
        if len(self.poisson):
            at = self.poisson.to(output.device)
            mean[:, at] = torch.exp(output[:, at])
        for start, width in self.blocks:
            block = output[:, start : start + width]
            mean[:, start : start + width] = torch.softmax(block, dim=1)
        return mean

    def column_terms(self, x, output, log_var=None):
        """``(n_rows, n_columns)``: each column's -log p(x | z) per row, in
        nats (the columns grouped by kind, not in the table's order)."""
        terms = []
        if len(self.gaussian):
            at = self.gaussian.to(output.device)
            lv = torch.zeros((), dtype=output.dtype, device=output.device)
            if log_var is not None:
                lv = log_var
            squared = (x[:, at] - output[:, at]) ** 2 * torch.exp(-lv)
            terms.append(0.5 * (squared + lv + _LOG_2PI))
        if len(self.bernoulli):
            at = self.bernoulli.to(output.device)
            terms.append(
                F.binary_cross_entropy_with_logits(
                    output[:, at], x[:, at], reduction="none"
                )
            )
        if len(self.poisson):
            at = self.poisson.to(output.device)
            scale = torch.tensor(
                self.poisson_scales, dtype=output.dtype, device=output.device
            )
            counts = x[:, at] * scale
            log_rate = output[:, at] + torch.log(scale)
            terms.append(
                torch.exp(log_rate) - counts * log_rate + torch.lgamma(counts + 1)
            )
        for start, width in self.blocks:
            log_p = torch.log_softmax(output[:, start : start + width], dim=1)
            terms.append(-(x[:, start : start + width] * log_p).sum(1, keepdim=True))
        return torch.cat(terms, dim=1)

    def observed_terms(self, observed):
        """``(n_rows, n_columns)``, in :meth:`column_terms`' order: whether
        each column of each row is observed, from ``observed``, the encoded
        entries' mask (a categorical block is missing or observed whole)."""
        return observed[:, self.term_starts.to(observed.device)]

    def negative_log_likelihood(self, x, output, log_var=None):
        """-log p(x | z) per row: the columns' terms summed (the VAE's
        reconstruction term)."""
        return self.column_terms(x, output, log_var).sum(dim=1)

    def log_likelihood(self, x, output, log_var=None):
        """log p(x | z) per row: minus :meth:`negative_log_likelihood`."""
        return -self.negative_log_likelihood(x, output, log_var)

    def weighted_loss(self, output, target, weights):
        """:class:`TableLoss` with each row counted by its sample weight."""
        terms = self.training_terms(target, output, weights=weights)
        return weighted_mean(terms.mean(dim=1), weights)

    def __repr__(self):
        return f"TableLikelihood({self.n_columns} columns)"


class TableLoss(torch.nn.Module):
    """The autoencoders' criterion for a table: the mean over columns and
    rows of :meth:`TableLikelihood.training_terms`."""

    def __init__(self, likelihood):
        super().__init__()
        self.likelihood = likelihood

    def forward(self, output, target):
        return self.likelihood.training_terms(target, output).mean()


# ---------------------------------------------------------------- penalties

#: Process-wide: ``penalty`` name -> :class:`CodePenalty` subclass, filled at
#: import by :func:`register_penalty`, so that a variant's file can bring its
#: own penalty (``_contractive.py``). Complete whenever skae is in use:
#: importing any skae module first runs ``skae/__init__.py``, which imports
#: every variant.
PENALTIES = {}


def register_penalty(cls):
    """Class decorator: make ``cls.name`` a valid ``penalty`` of every estimator."""
    PENALTIES[cls.name] = cls
    return cls


class CodePenalty:
    """A penalty R(z) on the code, a scalar averaged over samples and code
    units so that its strength ``alpha`` means the same whatever the batch
    size or code width.

    Subclasses set ``name``, may set ``code_rms_norm`` (the code is divided by
    each unit's running RMS first, so the penalty cannot be met by shrinking
    the code while the decoder grows), may list in ``params`` the estimator
    parameters their constructor takes, and may override
    :meth:`code_activation`.
    """

    name = None
    code_rms_norm = False
    params = ()
    #: Whether the penalty builds the whole network itself (TopK's linear
    #: dictionary model) rather than only the code layer.
    builds_network = False
    #: Fitted attributes the penalty sets (:meth:`fitted_attributes`).
    fitted_names = ()

    def code_activation(self, requested):
        """The code activation to use when the estimator asks for ``requested``."""
        return requested

    def check(self, estimator, X):
        """Refuse parameters that make no sense with this penalty (X: the
        training data, or None where there is none: a model file)."""

    def no_effect(self, estimator):
        """Parameters this penalty makes ineffective: ``{name: (why, fix)}``
        (see :func:`skae._params.no_effect`)."""
        return {}

    def build_module(self, encoder, decoder, n_features, params, lik):
        """The torch module for the estimator's fitted ``params``: by default
        the encoder, skae's code head with this penalty's code activation,
        and the decoder."""
        return Autoencoder(
            encoder,
            decoder,
            n_features,
            params["n_components"],
            code_activation=self.code_activation(params["code_activation"]),
            code_rms_norm=self.code_rms_norm,
        )

    def fitted_attributes(self, estimator, X_train):
        """Fitted diagnostics (a dict, named in ``fitted_names``) computed
        after each ``fit`` or ``partial_fit`` on the normalised rows just
        trained on."""
        return {}

    def __call__(self, code, x, module):
        """R(z) for the batch's ``code``, its (possibly corrupted) input ``x``
        and the module (for penalties that look inside it)."""
        raise NotImplementedError

    def weighted(self, code, x, module, weights):
        """R(z) with the batch's rows counted by their sample ``weights``
        (a tensor of one positive value per row). A penalty that is a mean
        over rows overrides it with the weighted mean; this default, for a
        penalty of the batch as a whole, is the unweighted ``R(z)``."""
        return self(code, x, module)


@register_penalty
class L1Penalty(CodePenalty):
    """Mean |z| on the RMS-pinned code: sparsity. (A nonlinear code is
    standardised before its activation: see :class:`~skae._modules.Autoencoder`.)"""

    name = "l1"
    code_rms_norm = True

    def __call__(self, code, x, module):
        return l1_penalty(code)

    def weighted(self, code, x, module, weights):
        return l1_penalty(code, weights)


@register_penalty
class L2Penalty(CodePenalty):
    """Mean z² on the raw code: small, smooth codes (not sparse ones)."""

    name = "l2"

    def __call__(self, code, x, module):
        return l2_penalty(code)

    def weighted(self, code, x, module, weights):
        return l2_penalty(code, weights)


@register_penalty
class KLSparsityPenalty(CodePenalty):
    """Mean over units of KL(rho || mean activation) on a code in (0, 1)."""

    name = "kl"
    params = ("sparsity_target",)

    def __init__(self, sparsity_target=0.05):
        self.sparsity_target = sparsity_target

    def code_activation(self, requested):
        if requested not in (None, "sigmoid", "logistic"):
            raise ValueError(
                f"penalty='kl' needs a code in (0, 1) (a sigmoid code); "
                f"code_activation={requested!r} cannot give one. Use "
                "code_activation=None or 'sigmoid'."
            )
        return "sigmoid"

    def __call__(self, code, x, module):
        return kl_sparsity_penalty(code, self.sparsity_target)

    def weighted(self, code, x, module, weights):
        # the mean activation over the batch, its rows counted by weight
        return kl_sparsity_penalty(code, self.sparsity_target, weights=weights)


def make_penalty(name, estimator):
    """The penalty piece ``name`` built from the estimator's parameters."""
    if name is None:
        return None
    cls = PENALTIES[name]
    return cls(**{p: getattr(estimator, p) for p in cls.params})


def penalty_from_params(params):
    """The penalty piece of a parameter dict (``get_params``' or the fitted
    ones), None without a penalty."""
    if params["penalty"] is None:
        return None
    cls = PENALTIES[params["penalty"]]
    return cls(**{p: params[p] for p in cls.params})


def penalty_fitted_names():
    """Every fitted attribute some penalty sets."""
    return {name for cls in PENALTIES.values() for name in cls.fitted_names}


# -------------------------------------------------------------- corruptions


class GaussianNoise:
    """x + std · ε, ε ~ N(0, I) drawn from the fit's generator."""

    def __init__(self, std):
        self.std = float(std)

    def __call__(self, x, generator):
        noise = torch.randn(
            x.shape, generator=generator, device=x.device, dtype=x.dtype
        )
        return x + self.std * noise


class Masking:
    """Each entry replaced by ``fill`` (its feature's mean) with probability
    ``fraction``."""

    def __init__(self, fraction, fill):
        self.fraction = float(fraction)
        self.fill = fill

    def __call__(self, x, generator):
        draws = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return torch.where(draws < self.fraction, self.fill.to(x).expand_as(x), x)


class TableCorruption:
    """The corruption of a table's encoded rows: ``numeric`` (Gaussian noise
    or masking) on the Gaussian and count entries only, and each
    categorical or Bernoulli column swapped, with probability ``swap``, to
    another of its levels drawn uniformly (a Bernoulli entry flipped)."""

    def __init__(self, numeric, swap, likelihood):
        self.numeric = numeric
        self.swap = float(swap)
        self.likelihood = likelihood

    def __call__(self, x, generator):
        out = self.numeric(x, generator)
        # the discrete columns: their clean entries, or another level
        for kind, start, width in self.likelihood.columns:
            if kind in ("gaussian", "poisson"):
                continue
            block = x[:, start : start + width]
            draws = torch.rand(
                (x.shape[0], 1), generator=generator, device=x.device, dtype=x.dtype
            )
            swapped = draws < self.swap
            if kind == "bernoulli":
                new = 1 - block
            elif width > 1:
                shift = torch.randint(
                    1, width, (x.shape[0],), generator=generator, device=x.device
                )
                level = (block.argmax(dim=1) + shift) % width
                new = F.one_hot(level, width).to(x.dtype)
            else:
                new = block
            # a missing entry (NaN, the imputer's engine) stays missing
            swapped = swapped & ~torch.isnan(block[:, :1])
            out[:, start : start + width] = torch.where(swapped, new, block)
        return out


def make_corruption(noise, noise_level, moments, offset, scale, likelihood=None):
    """The corruption piece for ``noise`` at ``noise_level``.

    ``moments()`` gives the per-feature (variance, mean) of the normalised
    training rows; ``offset`` and ``scale`` the normalisation, so that the
    Gaussian noise's standard deviation is ``noise_level`` times X's global
    standard deviation over all entries. For a table (``likelihood`` a
    :class:`TableLikelihood`), a :class:`TableCorruption`: the numeric
    entries get the noise (its standard deviation ``noise_level`` in their
    standardised units) or the masking, and each categorical or Bernoulli
    column is swapped to another level with probability ``noise_level``
    (at most 1).
    """
    if noise is None:
        return None
    if isinstance(likelihood, TableLikelihood):
        _, means = moments()
        if noise == "masking":
            numeric = Masking(noise_level, means)
        else:
            numeric = GaussianNoise(noise_level)
        return TableCorruption(numeric, min(noise_level, 1.0), likelihood)
    variances, means = moments()
    if noise == "masking":
        return Masking(noise_level, means)
    # the mean within-feature variance plus the spread of the feature means
    shifted = means.double() + torch.as_tensor(offset / scale, device=means.device)
    variance = variances.double().mean() + shifted.var(unbiased=False)
    return GaussianNoise(noise_level * float(variance.sqrt()))


# ----------------------------------------------------------- missing values


class MissingEntries:
    """Missing entries (NaN in the normalised rows): fed to the network as
    ``fill``, their feature's mean over the observed training entries, and
    left out of the loss. For a table's encoded rows (see :mod:`skae._table`)
    the fill of a numeric column is its mean in standardised units (about
    0), of a one-hot block its levels' frequencies, of a Bernoulli entry
    the frequency of its second level; a missing column's whole term is
    left out of the loss for that row."""

    def __init__(self, fill):
        self.fill = fill

    @classmethod
    def from_rows(cls, X_train, ranks=None, weights=None):
        """The piece for normalised training rows holding NaN; with
        ``ranks`` (a data-parallel fit's processes, each with its own rows),
        each feature's mean over the observed entries of every rank; with
        ``weights`` (the rows' sample weights), the weighted mean."""
        if weights is not None:
            observed = (~torch.isnan(X_train)) * weights[:, None]
            sums = (torch.nan_to_num(X_train) * weights[:, None]).sum(dim=0)
            counts = observed.sum(dim=0)
            return cls(torch.where(counts > 0, sums / counts.clamp(min=_TINY), 0.0))
        if ranks is None:
            return cls(torch.nan_to_num(torch.nanmean(X_train, dim=0)))
        observed = ~torch.isnan(X_train)
        local = torch.cat(
            [
                observed.sum(dim=0).double(),
                torch.nan_to_num(X_train).double().sum(dim=0),
            ]
        )
        totals = torch.from_numpy(ranks.sum(local.cpu().numpy()))
        counts, sums = totals.chunk(2)
        fill = torch.where(counts > 0, sums / counts.clamp(min=1), 0.0)
        return cls(fill.to(X_train))

    def fill_in(self, x):
        """``x`` with each NaN replaced by its feature's fill value."""
        return torch.where(torch.isnan(x), self.fill.to(x).expand_as(x), x)

    def loss(self, likelihood, output, target, weights=None):
        """The likelihood's reconstruction loss over the observed entries of
        ``target`` only (a mean over them, each counted by its row's sample
        weight when ``weights`` are given)."""
        observed = ~torch.isnan(target)
        target = torch.where(observed, target, torch.zeros_like(target))
        if isinstance(likelihood, TableLikelihood):  # one term a column
            observed = likelihood.observed_terms(observed)
            entries = likelihood.training_terms(target, output, observed, weights)
        else:
            entries = likelihood.entries(output, target)
        if weights is not None:
            counts = observed * weights[:, None]
            return (entries * counts).sum() / counts.sum().clamp(min=_TINY)
        return (entries * observed).sum() / observed.sum().clamp(min=1)
