"""The finish: after a held table fit, the network's last linear layer is
refitted in closed form, column by column, where that is expected to do
better on new rows (issue 27).

Stochastic gradient descent leaves the last layer of a network short of
its optimum for the features it reads. A table's numeric columns feel it
in precision, most where PCA is exact (as many numeric columns as the code
is wide: PCA gives them back to 1e-3 of their standard deviation, a
network trained by SGD to 1e-2); its categorical columns where the hold
weighs them little (their rows of the last layer barely train while the
numeric columns pull hard). For fixed features the best last layer is a
regression with a closed form or a convex one:
:func:`finish_numeric` refits each numeric column's row by ridge
regression, its penalty chosen by the exact leave-one-out error;
:func:`finish_categorical` refits each categorical or Bernoulli column's
rows by logistic regression. Each refit is kept only where its held-out
estimate beats the trained rows' error on the training rows (which
underestimates their error on new rows): a column the trained layer fits
as well is left as it was. The codes (``transform``) and every layer
before the last are unchanged.
"""

import numpy as np
import torch
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from torch import nn

from ._inference import inference_batch_rows

#: The ridge penalties tried, as multiples of the mean eigenvalue of the
#: features' (weighted) covariance: scale-free, from almost none to ten
#: times the features' mean variance along their principal axes.
PENALTY_SCALES = torch.logspace(-8, 1, 19, dtype=torch.float64)

#: The logistic regressions' penalty (scikit-learn's ``C``: the inverse of
#: the L2 penalty's strength on the standardised features, the log-loss
#: summed over the rows; 0.01 to 1 chosen by cross-validation did as
#: well on the benchmark's tables, at three times the cost).
LOGISTIC_C = 0.1

#: The folds of a logistic regression's cross-validated log-loss (its
#: guard).
CV_FOLDS = 3

#: The most training rows the logistic regressions read (evenly spaced
#: rows, when there are more): each column costs four fits.
LOGISTIC_ROWS = 2**11

#: The logistic regressions' iterations (lbfgs).
LOGISTIC_ITER = 1000

#: The most training rows the regressions read (evenly spaced rows, when
#: there are more): enough for a last layer of a few hundred features, and
#: it bounds the finish's time (a second on the 2-core development VM).
MAX_ROWS = 2**14

#: The least one minus a row's leverage for which its leave-one-out
#: residual (its residual over that) is computed; a penalty that leaves a
#: row less is not chosen (float64's rounding in both parts stays below
#: 1e-5 of the quotient).
MIN_FREEDOM = 1e-10


class Moments:
    """The weighted moments of the features and targets that the
    regressions need, and the trained layer's squared error, summed over
    batches of rows: memory of the features' width squared, whatever the
    number of rows."""

    def __init__(self, n_features, n_targets):
        p, t = n_features, n_targets
        f64 = dict(dtype=torch.float64)
        self.parts = {
            "w": torch.zeros(1, **f64),  # the weights' sum
            "h": torch.zeros(p, **f64),
            "y": torch.zeros(t, **f64),
            "hh": torch.zeros(p, p, **f64),
            "hy": torch.zeros(p, t, **f64),
            "now": torch.zeros(t, **f64),  # the trained layer's squared error
        }

    def add(self, h, y, trained, w):
        """Add a batch: features ``h`` (rows, p), targets ``y`` (rows, t),
        the trained layer's outputs ``trained`` (rows, t), row weights
        ``w`` (rows,)."""
        parts = self.parts
        wh = h * w[:, None]
        parts["w"] += w.sum()
        parts["h"] += wh.sum(dim=0)
        parts["y"] += (y * w[:, None]).sum(dim=0)
        parts["hh"] += h.T @ wh
        parts["hy"] += wh.T @ y
        parts["now"] += ((trained - y).square() * w[:, None]).sum(dim=0)


def _capped(rows, weights, most=None):
    """At most ``most`` (:data:`MAX_ROWS` by default) of the rows, evenly
    spaced, and their weights."""
    most = MAX_ROWS if most is None else most
    if len(rows) <= most:
        return rows, weights
    index = spaced_rows(len(rows), most)
    return rows[index], None if weights is None else weights[index.to(weights.device)]


def _batches(module, layer, rows, weights, columns):
    """For each batch of ``rows``: the features ``layer`` reads, the
    targets (the rows' ``columns``), the layer's outputs on those columns
    and the rows' weights, float64 on the CPU; a list (the module read in
    eval mode, its mode given back)."""
    features = layer_input(module, layer)
    weight = layer.weight[columns]
    bias = layer.bias[columns]
    step = inference_batch_rows(rows[0:1].shape[1])
    batches = []
    was_training = module.training
    module.eval()
    try:
        for start in range(0, len(rows), step):
            x = rows[start : start + step]
            h = features(module.encode(x))
            w = (
                torch.ones(len(x), device=x.device)
                if weights is None
                else weights[start : start + step]
            )
            out = (h, x[:, columns.to(x.device)], h @ weight.T + bias, w)
            batches.append(tuple(t.detach().to("cpu", torch.float64) for t in out))
    finally:
        module.train(was_training)
    return batches


def layer_input(module, layer):
    """The map from a code to the features ``layer`` (the last linear
    layer: the output head, or the decoder's last layer) reads."""
    if layer is module.output_head:
        return lambda z: module.decoder(z).reshape(len(z), -1)
    # the decoder's layers but its last (a slice of an MLPDecoder would
    # build a new one: nn.Sequential slices through the class's __init__)
    body = list(module.decoder)[:-1]

    def features(z):
        for step in body:
            z = step(z)
        return z.reshape(len(z), -1)

    return features


def last_layer(module):
    """The linear layer that maps the decoder's features to the output:
    skae's output head, or the last layer of skae's MLP decoder; None for
    a decoder of one's own that ends otherwise."""
    if module.output_head is not None:
        return module.output_head
    decoder = module.decoder
    if isinstance(decoder, nn.Sequential) and len(decoder):
        if isinstance(decoder[-1], nn.Linear):
            return decoder[-1]
    return None


def spaced_rows(n, most=None):
    """``most`` (:data:`MAX_ROWS` by default) evenly spaced positions among
    ``n`` rows, the first and the last included (float64: float32's
    spacing passes 1 at 2**24)."""
    most = MAX_ROWS if most is None else most
    return torch.linspace(0, n - 1, most, dtype=torch.float64).round().long()


@torch.no_grad()
def finish_numeric(module, rows, weights, columns):
    """Refit the output rows ``columns`` (a table's numeric columns) of
    ``module``'s last linear layer (:func:`last_layer`) by ridge regression
    on the features it reads, computed from the normalised training
    ``rows`` (a tensor or :class:`~skae._data.LazyRows`), each row counted
    by its weight (``weights`` or None). Each column's penalty is chosen among
    :data:`PENALTY_SCALES` by its exact leave-one-out error (the
    regression's residual over one minus the row's leverage: GCV's mean
    leverage was far too hopeful on heavy-tailed tables; a penalty that
    leaves a row less than :data:`MIN_FREEDOM` of one minus its leverage is
    not chosen), and the column is refitted only where that error is below
    the trained layer's error on the rows. One inference pass over the rows
    (at most :data:`MAX_ROWS` of them, evenly spaced), then two over its
    features: the moments, then the leave-one-out errors.
    Returns the mask of the columns refitted."""
    layer = last_layer(module)
    columns = torch.as_tensor(columns, dtype=torch.long)
    if layer is None or not len(columns):
        return torch.zeros(len(columns), dtype=torch.bool)
    # the features once: the rows are capped, so they fit in memory
    batches = _batches(module, layer, *_capped(rows, weights), columns)
    moments = Moments(layer.weight.shape[1], len(columns))
    for h, y, trained, w in batches:
        moments.add(h, y, trained, w)
    fit = Ridge.from_moments(moments)
    if fit is None:
        return torch.zeros(len(columns), dtype=torch.bool)
    for h, y, _, w in batches:
        fit.add_errors(h, y, w)
    coef, intercept, loo = fit.chosen()
    better = loo < moments.parts["now"] / moments.parts["w"]
    refit = columns[better]
    layer.weight[refit] = coef[better].to(layer.weight)
    layer.bias[refit] = intercept[better].to(layer.bias)
    return better


class Ridge:
    """Ridge regressions of the targets on the features for each penalty
    of :data:`PENALTY_SCALES` (times the features' mean variance along
    their principal axes), from :class:`Moments`, in the eigenbasis of the
    features' covariance; :meth:`add_errors` accumulates each penalty's
    leave-one-out squared errors over batches of rows."""

    def __init__(self, moments, eigenvalues, vectors):
        m = moments.parts
        self.total = m["w"]
        self.mean_h, self.mean_y = m["h"] / self.total, m["y"] / self.total
        cross = m["hy"] / self.total - torch.outer(self.mean_h, self.mean_y)
        self.eigenvalues, self.vectors = eigenvalues, vectors
        self.c = vectors.T @ cross  # (p, t)
        self.penalties = PENALTY_SCALES * eigenvalues.mean()
        self.errors = torch.zeros(
            len(self.penalties), cross.shape[1], dtype=torch.float64
        )

    @classmethod
    def from_moments(cls, moments):
        m = moments.parts
        mean_h = m["h"] / m["w"]
        cov = m["hh"] / m["w"] - torch.outer(mean_h, mean_h)
        eigenvalues, vectors = torch.linalg.eigh(cov)
        eigenvalues = eigenvalues.clamp(min=0)
        if not eigenvalues.mean() > 0:  # constant features
            return None
        return cls(moments, eigenvalues, vectors)

    def add_errors(self, h, y, w):
        """Add a batch's leave-one-out squared errors (each row's residual
        over one minus its leverage, the intercept's included), for every
        penalty at once."""
        u = (h - self.mean_h) @ self.vectors  # the rows on the eigenvectors
        share = (w / self.total)[:, None]  # each row's weight in the means
        inverse = 1 / (self.eigenvalues[:, None] + self.penalties[None, :])  # (p, k)
        leverage = share * (u.square() @ inverse + 1)  # (rows, k)
        p, t = self.c.shape
        slopes = (self.c[:, None, :] * inverse[:, :, None]).reshape(p, -1)
        fitted = (u @ slopes).reshape(len(u), len(self.penalties), t)
        residual = (y - self.mean_y)[:, None, :] - fitted
        # exact down to a row's 1 - leverage of MIN_FREEDOM; below it (a row
        # the regression all but interpolates, its residual and 1 - leverage
        # both rounding errors) the penalty is ruled out: a floor on the
        # divisor would make an interpolation's error look small
        freedom = (1 - leverage)[:, :, None]
        loo = torch.where(
            freedom > MIN_FREEDOM, residual / freedom.clamp(min=MIN_FREEDOM), torch.inf
        )
        self.errors += (loo.square() * share[:, :, None]).sum(dim=0)

    def chosen(self):
        """Each target's coefficients ``(t, p)``, intercept and
        leave-one-out error at its best penalty."""
        loo, best = self.errors.min(dim=0)
        d = self.eigenvalues[:, None] + self.penalties[best][None, :]  # (p, t)
        coef = (self.vectors @ (self.c / d)).T
        return coef, self.mean_y - coef @ self.mean_h, loo


@torch.no_grad()
def finish_categorical(module, rows, weights, columns):
    """Refit the output rows of a table's categorical and Bernoulli columns
    (``columns``: ``(kind, start, width)`` of each) in ``module``'s last
    linear layer by logistic regression (multinomial for a categorical
    column of more than two levels) on the features it reads, computed from
    the normalised training ``rows`` (at most :data:`LOGISTIC_ROWS`,
    evenly spaced), each row counted by its weight, at the penalty
    :data:`LOGISTIC_C`. The column is refitted only where the regression's
    cross-validated log-loss (:data:`CV_FOLDS` stratified folds) is below
    the trained rows' log-loss on the rows. A
    column with a level that no row holds is left as it was. Returns the
    mask of the columns refitted."""
    layer = last_layer(module)
    refitted = np.zeros(len(columns), dtype=bool)
    if layer is None or not len(columns):
        return refitted
    rows, weights = _capped(rows, weights, LOGISTIC_ROWS)
    all_columns = torch.arange(layer.weight.shape[0])
    batches = _batches(module, layer, rows, weights, all_columns)
    h, x, logits, w = (torch.cat(parts).numpy() for parts in zip(*batches, strict=True))
    # standardised features: lbfgs converges (the code's scale is not the
    # hidden units'), and the penalty weighs every feature alike
    center, scale = h.mean(axis=0), h.std(axis=0)
    scale[scale == 0] = 1.0
    z = (h - center) / scale
    for j, (kind, start, width) in enumerate(columns):
        block = slice(start, start + width)
        if kind == "bernoulli":
            y = x[:, start].astype(int)
            trained = np.stack([np.zeros(len(x)), logits[:, start]], axis=1)
        else:
            y = x[:, block].argmax(axis=1)
            trained = logits[:, block]
        counts = np.bincount(y, minlength=max(width, 2))
        folds = min(CV_FOLDS, int(counts.min()))
        if folds < 2:
            continue  # a level no row holds, or too few rows of one
        if not _cross_validated_log_loss(z, y, w, folds) < _log_loss(y, trained, w):
            continue
        fit = LogisticRegression(C=LOGISTIC_C, max_iter=LOGISTIC_ITER).fit(
            z, y, sample_weight=w
        )
        # back to the features' own units
        coef = fit.coef_ / scale
        intercept = fit.intercept_ - coef @ center
        if kind != "bernoulli" and width == 2:  # binary: logits (0, z)
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.concatenate([[0.0], intercept])
        out = [start] if kind == "bernoulli" else list(range(start, start + width))
        layer.weight[out] = torch.as_tensor(coef).to(layer.weight)
        layer.bias[out] = torch.as_tensor(intercept).to(layer.bias)
        refitted[j] = True
    return refitted


def _log_loss(y, logits, w):
    """The weighted mean of ``-log softmax(logits)[y]``."""
    nll = logsumexp(logits, axis=1) - logits[np.arange(len(y)), y]
    return float(np.average(nll, weights=w))


def _cross_validated_log_loss(h, y, w, folds):
    """The log-loss of the logistic regression of ``y`` on ``h`` at
    :data:`LOGISTIC_C`, each row predicted by the fit on the other folds
    (``folds`` stratified folds; the rows counted by their weights ``w``)."""
    nll = np.zeros(len(y))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(h, y):
        fit = LogisticRegression(C=LOGISTIC_C, max_iter=LOGISTIC_ITER)
        fit.fit(h[train], y[train], sample_weight=w[train])
        proba = fit.predict_proba(h[test])
        seen = np.searchsorted(fit.classes_, y[test])
        nll[test] = -np.log(np.clip(proba[np.arange(len(test)), seen], 1e-15, 1))
    return float(np.average(nll, weights=w))


def finish_network(net, data, incremental):
    """After a fit's training: :func:`finish_numeric` on the table's
    numeric columns and :func:`finish_categorical` on its categorical and
    Bernoulli ones, where the fit held the numeric columns
    (:class:`~skae._pca_start.NumericHold`: a table's clean, complete rows,
    reconstructed by skae's blocks started at PCA); not after
    ``partial_fit`` (a chunk of the rows)."""
    if incremental or getattr(net, "hold_", None) is None:
        return
    lik = data.likelihood
    finish_numeric(net.module_, data.rows, data.weights, lik.gaussian)
    discrete = [c for c in lik.columns if c[0] in ("categorical", "bernoulli")]
    finish_categorical(net.module_, data.rows, data.weights, discrete)
