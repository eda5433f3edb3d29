"""The data side of a fit: validating X, choosing ``loss="auto"``, the
normalisation (one global affine map into the network's units), the
training rows (a tensor, or rows read a batch at a time from sparse,
memory-mapped or very large X), their dataset and the validation split.

Nothing here knows about estimators beyond ``validate_data``'s need for
one: every function takes arrays and returns arrays or tensors.
"""

import math

import numpy as np
import scipy.sparse as sp
import torch

from ._compat import (
    _check_sample_weight,
    _num_samples,
    _safe_indexing,
    validate_data,
)
from ._objectives import MissingEntries

#: Rows per chunk wherever X is read a block at a time in float64 (the
#: normalisation's statistics, normalising a float64 X into float32,
#: denormalising).
CHUNK_ROWS = 8192


def validate_X(estimator, X, reset, **kwargs):
    """``validate_data`` for X alone, with hints for images and non-numeric
    columns."""
    if getattr(X, "ndim", 2) > 2 and not sp.issparse(X):
        raise ValueError(
            f"{type(estimator).__name__} takes 2-D input (n_samples, n_features); "
            f"got an array of shape {X.shape}. Flatten each sample first, e.g. "
            "X.reshape(len(X), -1); for images, keep the flat rows and use "
            "encoder=skae.nn.ConvEncoder(image_shape) and "
            "decoder=skae.nn.ConvDecoder(image_shape), which reshape them. "
            f"(Found array with dim {X.ndim}.)"
        )
    kwargs.setdefault("accept_sparse", ("csr", "csc"))
    try:
        return validate_data(
            estimator,
            X,
            dtype=[np.float64, np.float32],
            reset=reset,
            **kwargs,
        )
    except ValueError as exc:
        if "could not convert" in str(exc) or "dtype='numeric'" in str(exc):
            raise ValueError(
                f"{type(estimator).__name__} needs numeric input; "
                f"{_non_numeric_columns(X)}has non-numeric values ({exc}). Encode "
                "categorical columns first, for example with "
                "sklearn.preprocessing.OneHotEncoder."
            ) from exc
        raise


def refuse_weights_in_parallel(sample_weight, model, who):
    """A ValueError naming ``who`` when ``sample_weight`` is given for a
    data-parallel ``model`` (its ``strategy`` set): such a fit does not
    support them. Before any work."""
    strategy = getattr(model, "strategy", None)
    if sample_weight is not None and strategy is not None:
        raise ValueError(
            f"{who} takes no sample_weight with strategy={strategy!r}: a "
            "data-parallel fit does not support sample weights. Fit with "
            "strategy=None, or repeat the rows of integer weight instead of "
            "weighting them."
        )


def check_sample_weight(sample_weight, X, min_rows=1, who="fit"):
    """``sample_weight`` checked against X (scikit-learn's checks: one
    finite, non-negative number a row, not all zero; a scalar stands for
    that weight on every row), as a float64 array, or None; at least
    ``min_rows`` of the weights must be positive (the rows a fit needs)."""
    if sample_weight is None:
        return None
    try:
        weights = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True, copy=True
        )
    except ValueError as exc:
        raise ValueError(
            f"{who} got invalid sample_weight: {exc} Pass one finite, "
            f"non-negative weight per row of X ({_num_samples(X)} rows), not "
            "all zero, or sample_weight=None."
        ) from exc
    positive = int(np.count_nonzero(weights))
    if positive < min_rows:
        raise ValueError(
            f"{who} needs at least {min_rows} rows of positive sample_weight "
            f"(rows of weight 0 are left out); got {positive}. Give more "
            "rows a positive weight."
        )
    return weights


def positive_rows(X, weights, *others):
    """``(X, weights, *others)`` without the rows of weight 0 (``weights``
    checked by :func:`check_sample_weight`; X and each of ``others`` an
    array-like indexed by rows, a DataFrame or a list), for a caller that
    must leave them out before anything else reads X (a table's encoding,
    an imputer's empty features, a detector's held-out split). When one of
    ``others`` has another length than X, all are returned as given, for
    its own check to refuse it with the lengths the caller passed."""
    if weights is None or weights.all():
        return (X, weights, *others)
    if not all(_rows_of(a) == len(weights) for a in others):
        return (X, weights, *others)
    keep = np.flatnonzero(weights)
    return tuple(_safe_indexing(a, keep) for a in (X, weights, *others))


def _rows_of(values):
    """The rows of an array-like, or None for what has none (a scalar)."""
    try:
        return _num_samples(values)
    except TypeError:
        return None


def weighted_rows(X, targets, weights):
    """``(X, targets, weights)`` with the rows of weight 0 left out (as if
    removed; a copy of the others) and ``weights`` None when the rest are
    all equal (the same objective as no weights: the unweighted path runs,
    bit for bit), else divided by their largest (the objective does not
    depend on their scale, and no sum of them overflows)."""
    if weights is None:
        return X, targets, None
    if not weights.all():
        keep = np.flatnonzero(weights)
        X = X[keep]
        targets = None if targets is None else targets[torch.from_numpy(keep)]
        weights = weights[keep]
    if np.all(weights == weights[0]):
        return X, targets, None
    return X, targets, weights / weights.max()


def _non_numeric_columns(X):
    """'column(s) [...] ' naming the non-numeric columns of X, or 'X '."""
    columns = getattr(X, "columns", None)
    if columns is not None:
        bad = [
            str(c)
            for c in columns
            if not np.issubdtype(np.asarray(X[c]).dtype, np.number)
            and not np.issubdtype(np.asarray(X[c]).dtype, np.bool_)
        ]
        if bad:
            return f"X's column(s) {bad} "
    try:
        array = np.asarray(X, dtype=object)
    except Exception:
        return "X "
    if array.ndim == 2:
        bad = []
        for j in range(array.shape[1]):
            try:
                array[:, j].astype(np.float64)
            except (TypeError, ValueError):
                bad.append(j)
        if bad:
            return f"X's column(s) at index {bad} "
    return "X "


#: ``loss="auto"`` picks ``"bce"`` when at least this fraction of X's entries
#: sit at X's global minimum or maximum ...
AUTO_BCE_AT_BOUNDS = 0.1
#: ... and both bounds are reached by at least this fraction each.
AUTO_BCE_EACH_BOUND = 1e-3


def auto_loss(X, ranks=None, weights=None):
    """``loss="auto"``: ``"bce"`` for data that piles up at a floor and a
    ceiling (pixel intensities, binary features), else ``"mse"``.

    Counted a chunk at a time, so no full-size temporary is made. With
    ``ranks`` (the processes of a data-parallel fit, each with its own
    rows: :class:`~skae._ddp.Ranks`), over the rows of every rank; with
    ``weights`` (the rows' sample weights), each row's entries counted by
    its weight.
    """
    if sp.issparse(X):
        low, high = X.min(), X.max()
    else:  # NaN are missing entries (the imputer's engine)
        low, high = np.nanmin(X), np.nanmax(X)
    if ranks is not None:
        low, high = ranks.min([low])[0], ranks.max([high])[0]
    if low == high:
        return "mse"
    if weights is not None:
        at_low, at_high = _weighted_counts(X, weights, low, high)
        size = float(weights.sum()) * X.shape[1]
    elif sp.issparse(X):
        implicit_zeros = X.shape[0] * X.shape[1] - X.nnz
        at_low = int(np.count_nonzero(X.data == low)) + (
            implicit_zeros if low == 0 else 0
        )
        at_high = int(np.count_nonzero(X.data == high)) + (
            implicit_zeros if high == 0 else 0
        )
    else:
        at_low = at_high = 0
        for start in range(0, len(X), CHUNK_ROWS):
            chunk = X[start : start + CHUNK_ROWS]
            at_low += int(np.count_nonzero(chunk == low))
            at_high += int(np.count_nonzero(chunk == high))
    if weights is None:
        size = X.shape[0] * X.shape[1]
    if ranks is not None:
        at_low, at_high, size = ranks.sum([at_low, at_high, size])
    if (
        at_low + at_high >= AUTO_BCE_AT_BOUNDS * size
        and min(at_low, at_high) >= AUTO_BCE_EACH_BOUND * size
    ):
        return "bce"
    return "mse"


def _weighted_counts(X, weights, low, high):
    """The entries of X equal to ``low`` and to ``high``, each counted by
    its row's weight (for :func:`auto_loss`)."""
    if sp.issparse(X):
        X = X.tocsr()
        counts = []
        for bound in (low, high):
            hits = X.copy()
            hits.data = (hits.data == bound).astype(np.float64)
            per_row = np.asarray(hits.sum(axis=1)).ravel()
            if bound == 0:  # the implicit zeros
                per_row += X.shape[1] - np.diff(X.indptr)
            counts.append(float(per_row @ weights))
        return counts
    at_low = at_high = 0.0
    for start in range(0, len(X), CHUNK_ROWS):
        chunk = X[start : start + CHUNK_ROWS]
        w = weights[start : start + CHUNK_ROWS]
        at_low += float(np.count_nonzero(chunk == low, axis=1) @ w)
        at_high += float(np.count_nonzero(chunk == high, axis=1) @ w)
    return at_low, at_high


def _weighted_statistics(X, loss, missing, weights):
    """:func:`_statistics` with each row counted by its (positive) sample
    weight: the weighted feature means and root mean square about them,
    what the statistics of the rows repeated by integer weights are. The
    range of ``"bce"`` does not depend on positive weights."""
    if loss == "bce":
        return _statistics(X, loss, missing)
    n_features = X.shape[1]
    total = float(weights.sum())
    if missing:
        observed = ~np.isnan(X)
        counts = weights @ observed
        sums = weights @ np.nan_to_num(X.astype(np.float64))
        offset = np.divide(sums, counts, out=np.zeros(n_features), where=counts > 0)
        centred = X.astype(np.float64) - offset
        return offset, _rescaled_rms(centred, 0.0, observed=True, weights=weights)
    if sp.issparse(X):
        X = X.tocsr()
        offset = np.asarray(X.T @ weights).ravel() / total
        row_squares = np.asarray(X.multiply(X).sum(axis=1)).ravel()
        squares = max(
            float(row_squares @ weights) - total * float(offset @ offset), 0.0
        )
        return offset, np.sqrt(squares / (total * n_features))
    sums = np.zeros(n_features)
    for start in range(0, X.shape[0], CHUNK_ROWS):
        chunk = X[start : start + CHUNK_ROWS].astype(np.float64)
        sums += weights[start : start + CHUNK_ROWS] @ chunk
    offset = sums / total
    squares = 0.0
    for start in range(0, X.shape[0], CHUNK_ROWS):
        chunk = X[start : start + CHUNK_ROWS].astype(np.float64) - offset
        w = weights[start : start + CHUNK_ROWS]
        squares += float(np.einsum("i,ij,ij->", w, chunk, chunk))
    if not _SQUARES_SAFE[0] < squares < _SQUARES_SAFE[1]:
        return offset, _rescaled_rms(X, offset, weights=weights)
    return offset, np.sqrt(squares / (total * n_features))


def _statistics(X, loss, missing=False):
    """(offset, scale) of :meth:`Normalisation.fit`, possibly non-finite."""
    n_samples, n_features = X.shape
    if missing:  # NaN entries are missing: statistics of the observed ones
        if loss == "bce":
            low, high = float(np.nanmin(X)), float(np.nanmax(X))
            return np.full(n_features, low), high - low
        offset = np.nan_to_num(np.nanmean(X, axis=0, dtype=np.float64))
        centred = X.astype(np.float64) - offset
        return offset, _rescaled_rms(centred, 0.0, observed=True)
    if loss == "bce":
        low, high = float(X.min()), float(X.max())
        offset = np.full(n_features, low)
        scale = high - low
    elif sp.issparse(X):
        offset = np.asarray(X.mean(axis=0, dtype=np.float64)).ravel()
        data = X.data.astype(np.float64)
        # sum of (x - mean)² over every entry, implicit zeros included
        squares = max(float(data @ data) - n_samples * float(offset @ offset), 0.0)
        scale = np.sqrt(squares / (n_samples * n_features))
    else:
        offset = X.mean(axis=0, dtype=np.float64)
        squares = 0.0
        for start in range(0, n_samples, CHUNK_ROWS):
            chunk = X[start : start + CHUNK_ROWS].astype(np.float64) - offset
            squares += float(np.einsum("ij,ij->", chunk, chunk))
        if not _SQUARES_SAFE[0] < squares < _SQUARES_SAFE[1]:
            # the squares underflow (spread below ~1e-150) or overflow: redo
            # the sum with each chunk divided by its largest entry
            return offset, _rescaled_rms(X, offset)
        scale = np.sqrt(squares / X.size)
    return offset, scale


def _pooled(shape, loss, offset, scale, ranks):
    """The statistics of :func:`_statistics` over the rows of every rank,
    from each rank's own (``shape``: its X's): the global minimum and
    maximum for ``"bce"``; for ``"mse"`` the pooled feature means and the
    root mean square about them, from each rank's sum of squares about its
    own means plus its rows' shift to the pooled ones (Chan et al.)."""
    n, n_features = shape
    if loss == "bce":
        return _pooled_bounds(offset[0], offset[0] + scale, n_features, ranks)
    totals = ranks.sum(np.concatenate([[n], n * offset, [scale**2 * n * n_features]]))
    count = totals[0]
    mean = totals[1:-1] / count
    shift = ranks.sum([n * float(np.sum((offset - mean) ** 2))])[0]
    return mean, np.sqrt((totals[-1] + shift) / (count * n_features))


def _pooled_bounds(low, high, n_features, ranks):
    """``"bce"``'s statistics over every rank's rows, from this rank's
    minimum ``low`` and maximum ``high``: the global minimum as each
    feature's offset, the global range as the scale."""
    low = ranks.min([low])[0]
    high = ranks.max([high])[0]
    return np.full(n_features, low), high - low


def _pooled_observed(X, loss, ranks):
    """The statistics of :func:`_statistics` with ``missing`` over the
    observed entries of every rank's rows: the global minimum and maximum
    for ``"bce"``; for ``"mse"`` each feature's mean over its observed
    entries (every rank's counts and sums added; 0 for a feature no rank
    observed), then the root mean square about these means (every rank's
    sum of squares and count of observed entries added)."""
    n_features = X.shape[1]
    if loss == "bce":
        return _pooled_bounds(np.nanmin(X), np.nanmax(X), n_features, ranks)
    observed = ~np.isnan(X)
    totals = ranks.sum(
        np.concatenate([observed.sum(axis=0), np.nansum(X, axis=0, dtype=np.float64)])
    )
    counts, sums = totals[:n_features], totals[n_features:]
    offset = np.divide(sums, counts, out=np.zeros(n_features), where=counts > 0)
    rms = _rescaled_rms(X.astype(np.float64) - offset, 0.0, observed=True)
    squares = ranks.sum([rms**2 * np.count_nonzero(observed)])[0]
    return offset, np.sqrt(squares / max(counts.sum(), 1))


#: A sum of squares within these bounds lost nothing to underflow or overflow.
_SQUARES_SAFE = (1e-290, 1e290)


def _rescaled_rms(X, offset, observed=False, weights=None):
    """The root mean square of X - offset, each chunk scaled by its peak so
    that no square underflows or overflows (as LAPACK's norms do). With
    ``observed``, over the non-NaN entries only; with ``weights``, each
    row's squares counted by its weight."""
    peaks, sums = [], []
    if weights is None:
        count = int(np.count_nonzero(~np.isnan(X))) if observed else X.size
    elif observed:
        count = float((weights @ (~np.isnan(X))).sum())
    else:
        count = float(weights.sum()) * X.shape[1]
    for start in range(0, X.shape[0], CHUNK_ROWS):
        chunk = X[start : start + CHUNK_ROWS].astype(np.float64) - offset
        if observed:
            chunk = np.nan_to_num(chunk)  # a missing entry adds nothing
        if weights is not None:
            chunk *= np.sqrt(weights[start : start + CHUNK_ROWS])[:, None]
        peak = float(np.abs(chunk).max()) if chunk.size else 0.0
        peaks.append(peak)
        if peak:
            chunk /= peak
        sums.append(float(np.einsum("ij,ij->", chunk, chunk)))
    top = max(peaks)
    if top == 0 or not np.isfinite(top):
        return top
    total = sum((p / top) ** 2 * s for p, s in zip(peaks, sums))
    return top * np.sqrt(total / max(count, 1))


class Normalisation:
    """One global affine map x -> (x - offset) / scale: X into the units the
    network trains in, and back.

    ``"mse"``: subtract each feature's mean, divide by one global scale (the
    root mean square of the centred data); squared error in these units is
    PCA's objective up to a constant. ``"bce"``: map the global [min, max] of
    X onto [0, 1]. A fitted estimator keeps the map as ``offset_`` and
    ``scale_``.
    """

    def __init__(self, offset, scale):
        self.offset = offset
        self.scale = scale

    @classmethod
    def fit(cls, X, loss, missing=False, ranks=None, weights=None):
        """The map for X under ``loss``. Statistics are accumulated in
        float64, a chunk at a time; with ``missing``, over the observed
        (non-NaN) entries only; with ``ranks`` (a data-parallel fit's
        processes, see :func:`auto_loss`), over the rows of every rank;
        with ``weights`` (the rows' positive sample weights), the weighted
        statistics (those of the rows repeated by integer weights)."""
        with np.errstate(over="ignore", invalid="ignore"):
            # an overflow is caught below, with advice, not as numpy's warning
            if weights is not None:
                offset, scale = _weighted_statistics(X, loss, missing, weights)
            elif ranks is not None and missing:
                offset, scale = _pooled_observed(X, loss, ranks)
            else:
                offset, scale = _statistics(X, loss, missing)
                if ranks is not None:
                    offset, scale = _pooled(X.shape, loss, offset, scale, ranks)
        if not (np.all(np.isfinite(offset)) and np.isfinite(scale)):
            raise ValueError(
                "X has values too large to normalise: its mean or spread overflows "
                "float64. Rescale X first (for example divide it by its largest "
                "absolute value)."
            )
        if scale == 0 or scale < np.finfo(np.float64).tiny:
            scale = 1.0  # constant data: nothing to scale
        return cls(offset, float(scale))

    def apply(self, X, dtype):
        """``(X - offset) / scale`` as a new ``dtype`` array, X left untouched.

        Same dtype: one copy, computed in it as ``X / scale - offset / scale``
        (``X - offset`` with float64 statistics would first make two float64
        copies of a float32 X; dividing first cannot overflow where the result
        does not, as ``X - offset`` can for float32 data near ±3e38). A float64
        X into float32: computed in float64 a chunk at a time, then narrowed, so
        values beyond float32's range (1e39, say) stay finite.
        """
        offset, scale = self.offset, self.scale
        if X.dtype == dtype:
            out = np.divide(X, scale, dtype=dtype)
            out -= (offset / scale).astype(dtype, copy=False)
            return out
        out = np.empty(X.shape, dtype=dtype)
        for start in range(0, X.shape[0], CHUNK_ROWS):
            chunk = X[start : start + CHUNK_ROWS].astype(np.float64) - offset
            chunk /= scale
            out[start : start + CHUNK_ROWS] = chunk
        return out

    def invert(self, Xn):
        """``Xn * scale + offset`` written into ``Xn`` (an array of ours),
        computed in float64 a block of rows at a time: no float64 copy of the
        whole output."""
        for start in range(0, Xn.shape[0], CHUNK_ROWS):
            block = Xn[start : start + CHUNK_ROWS]
            block[...] = block * self.scale + self.offset
        return Xn

    def check_range(self, X, where, fix):
        """Raise unless X lies within [low, low + width], the range that
        ``loss="bce"`` (a Bernoulli likelihood) maps onto [0, 1]: outside it
        binary cross-entropy is not a likelihood and rewards the farthest
        rows."""
        low, width = self.offset[0], self.scale
        x_min, x_max = float(X.min()), float(X.max())
        high = low + width
        slack = 1e-6 * width  # low + (high - low) need not give high back exactly
        if x_min < low - slack or x_max > high + slack:
            raise ValueError(
                f"X holds values in [{x_min:g}, {x_max:g}], outside the range "
                f"[{low:g}, {high:g}] of {where}, which the binary cross-entropy "
                f"(Bernoulli) loss maps onto [0, 1] and is not defined beyond. {fix}"
            )


def training_batch_count(n, batch_size):
    """The number of :func:`training_batches` of an epoch over ``n`` rows."""
    count = -(-n // batch_size)
    return count - 1 if count > 1 and n % batch_size == 1 else count


def training_batches(n, batch_size):
    """The ``(start, stop)`` rows of each training mini-batch of an epoch
    over ``n`` rows: ``batch_size`` rows each, the last one what is left,
    except that a last batch of one row joins the batch before it (of
    ``batch_size + 1`` rows). Batch normalisation cannot train on one row,
    and merged, every row still counts in every epoch (a dropped row of a
    ``partial_fit`` chunk would never be seen). Every count of training
    steps (the batch iterator, the one-cycle schedule, ``max_iter="auto"``)
    is :func:`training_batch_count`."""
    count = training_batch_count(n, batch_size)
    for i in range(count):
        start = i * batch_size
        yield start, n if i == count - 1 else start + batch_size


class TensorDataset(torch.utils.data.Dataset):
    """The (already normalised, already on-device) training matrix, the
    supervised option's encoded targets ``y`` (a tensor of as many rows, or
    None) and the rows' sample ``weights`` (a float32 tensor of as many
    rows, or None).

    Items are ``(x, x)``: an autoencoder's target is its input; with ``y``,
    ``(x, (x, y))``: the input and the head's target travel together; with
    ``weights``, ``(x, (x, y or None, w))``.
    """

    def __init__(self, X, y=None, weights=None):
        self.X = X
        self.y = y
        self.weights = weights

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], with_targets(self.X[i], self.y, i, self.weights)


def with_targets(X, y, rows, weights=None):
    """A batch's training target: the input ``X`` itself, or ``(X, y[rows])``
    when there are supervised targets ``y``, or ``(X, y[rows] or None,
    weights[rows])`` when there are sample ``weights``."""
    if weights is not None:
        return (X, None if y is None else y[rows], weights[rows])
    return X if y is None else (X, y[rows])


def split_targets(y_true):
    """(reconstruction target, head target or None) of a batch's target."""
    return y_true[:2] if isinstance(y_true, tuple) else (y_true, None)


def batch_weights(y_true):
    """The sample weights of a batch's rows (a tensor), or None."""
    return y_true[2] if isinstance(y_true, tuple) and len(y_true) == 3 else None


class LazyRows:
    """Training rows normalised on demand, one batch at a time.

    Stands in for the normalised training tensor when X must not be copied
    whole: a scipy.sparse CSR matrix (densified a batch at a time) or an
    ``np.memmap`` (read a batch at a time). Indexing it with a slice or an
    index tensor returns the normalised float32 rows on ``device``, exactly
    what indexing the normalised tensor would return.
    """

    def __init__(self, X, normalisation, device, rows=None):
        self.source = X
        self.rows = np.arange(X.shape[0]) if rows is None else rows
        self.normalisation = Normalisation(
            np.asarray(normalisation.offset, dtype=np.float64), normalisation.scale
        )
        self.device = torch.device(device)

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, key):
        if isinstance(key, torch.Tensor):
            key = key.cpu().numpy()
        block = self.source[np.atleast_1d(self.rows[key])]
        dense = block.toarray() if sp.issparse(block) else block
        # exactly as the estimator normalises a dense X
        rows = self.normalisation.apply(dense, np.float32)
        batch = torch.from_numpy(rows).to(self.device)
        return batch[0] if np.ndim(key) == 0 and not isinstance(key, slice) else batch

    def subset(self, rows):
        """The same source restricted to ``rows`` (positions in this one)."""
        if isinstance(rows, torch.Tensor):
            rows = rows.cpu().numpy()
        return LazyRows(self.source, self.normalisation, self.device, self.rows[rows])

    def moments(self, entries=2**22, weights=None):
        """Per-feature variance and mean of the normalised rows (float32
        tensors on the device, like ``torch.var_mean`` of the tensor), read
        in chunks of about ``entries`` values; with ``weights`` (a tensor
        of the rows' sample weights), each row counted by its weight."""
        n = len(self)
        chunk = max(1, entries // self.source.shape[1])
        total = np.zeros(self.source.shape[1])
        squares = np.zeros(self.source.shape[1])
        w = None if weights is None else weights.double().cpu().numpy()
        for start in range(0, n, chunk):
            batch = self[start : start + chunk].double().cpu().numpy()
            if w is None:
                total += batch.sum(axis=0)
                squares += np.einsum("ij,ij->j", batch, batch)
            else:
                part = w[start : start + chunk]
                total += part @ batch
                squares += np.einsum("i,ij,ij->j", part, batch, batch)
        if w is not None:
            n = float(w.sum())
        mean = total / n
        var = np.maximum(squares / n - mean**2, 0.0)
        to = lambda a: torch.as_tensor(a, dtype=torch.float32).to(self.device)  # noqa: E731
        return to(var), to(mean)


def feature_moments(X_train, weights=None):
    """Per-feature (variance, mean) of the normalised training rows, over
    their observed (non-NaN) entries; with ``weights`` (a tensor of the
    rows' sample weights), each row counted by its weight."""
    if isinstance(X_train, LazyRows):
        return X_train.moments(weights=weights)
    if weights is not None:
        w = weights[:, None]
        counts = ((~torch.isnan(X_train)) * w).sum(dim=0).clamp(min=1e-30)
        mean = (torch.nan_to_num(X_train) * w).sum(dim=0) / counts
        squares = torch.nan_to_num((X_train - mean) ** 2) * w
        return squares.sum(dim=0) / counts, mean
    mean = torch.nan_to_num(torch.nanmean(X_train, dim=0))
    var = torch.nan_to_num(torch.nanmean((X_train - mean) ** 2, dim=0))
    return var, mean


def observed_counts(X_train):
    """Each feature's number of observed (non-NaN) entries in the
    normalised training rows (the number of rows for :class:`LazyRows`)."""
    if isinstance(X_train, LazyRows):
        return len(X_train)
    return (~torch.isnan(X_train)).sum(dim=0)


def held_out(fraction, n):
    """The number of the ``n`` rows that a ``fraction`` holds out for
    validation: ``ceil(fraction * n)``, as scikit-learn's MLP does (the
    estimators' early stopping, the detector's threshold rows)."""
    return math.ceil(fraction * n)


class ShuffledSplit:
    """``train_split`` that holds out a shuffled, seeded fraction.

    skorch's default ``ValidSplit`` takes the last rows unshuffled; this draws
    the held-out rows with ``np.random.RandomState(seed)``, like scikit-learn's
    ``MLPRegressor``, and holds out ``ceil(fraction * n_samples)`` of them.
    """

    def __init__(self, fraction, seed):
        self.fraction = fraction
        self.seed = seed

    def __call__(self, dataset, y=None, **fit_params):
        n = len(dataset)
        n_valid = held_out(self.fraction, n)
        order = np.random.RandomState(self.seed).permutation(n)
        X, y = dataset.X, dataset.y
        train, valid = order[n_valid:], order[:n_valid]
        # the held-out rows keep their targets and sample weights
        y_train, y_valid = _split_rows(y, train, valid)
        w_train, w_valid = _split_rows(dataset.weights, train, valid)
        if isinstance(X, LazyRows):  # split the row indices, copy nothing
            return (
                TensorDataset(X.subset(train), y_train, w_train),
                TensorDataset(X.subset(valid), y_valid, w_valid),
            )
        order = torch.from_numpy(order).to(X.device)
        return (
            TensorDataset(X[order[n_valid:]], y_train, w_train),
            TensorDataset(X[order[:n_valid]], y_valid, w_valid),
        )


def _split_rows(values, train, valid):
    """``values`` (a tensor, or None) at the ``train`` and ``valid`` rows."""
    if values is None:
        return None, None
    return (values[torch.from_numpy(r).to(values.device)] for r in (train, valid))


#: A dense training set whose float32 copy needs more than this fraction of
#: the accelerator's free memory stays on the host and goes to the device one
#: batch at a time (the network, its gradients and Adam's moments need room
#: too).
DEVICE_MEMORY_FRACTION = 0.5


def _free_device_memory(device):
    """Free bytes on a CUDA device; None (no limit applied) elsewhere."""
    if device.type != "cuda":
        return None
    return torch.cuda.mem_get_info(device)[0]


def training_rows(X, normalisation, device, memmap=False):
    """The normalised float32 training rows on ``device``: one tensor, or
    rows read one batch at a time (:class:`LazyRows`) for sparse X, for
    ``memmap`` (X came as an ``np.memmap``, which validation turns into a
    plain view of the map) and for a dense X larger than
    :data:`DEVICE_MEMORY_FRACTION` of the device's free memory."""
    free = _free_device_memory(device)
    too_big = free is not None and 4 * X.size > DEVICE_MEMORY_FRACTION * free
    if sp.issparse(X) or memmap or too_big:
        # densified / read / moved one batch at a time, never whole
        return LazyRows(X.tocsr() if sp.issparse(X) else X, normalisation, device)
    return torch.from_numpy(normalisation.apply(X, np.float32)).to(device)


class TrainingData:
    """What one training run reads: the validated X's shape, the device, the
    likelihood piece, the normalisation, the normalised training rows
    (:func:`training_rows`) and the missing entries' fill (None when X has
    none), prepared together instead of travelling side by side.

    ``resume``: the run continues a fitted net (whose likelihood,
    normalisation and fill these are). ``missing``: True when X's NaN
    entries are missing values (their fill is computed from the rows), a
    fitted net's :class:`~skae._objectives.MissingEntries`, or None.
    ``targets``: the supervised option's encoded targets (a tensor, one
    row per row of X, moved to the device; see
    :meth:`~skae._target.Target.encode`), or None. ``weights``: the rows'
    positive sample weights (float64, see :func:`weighted_rows`), or None;
    kept as ``weights``, a float32 tensor on the device (at least float32's
    smallest normal number, so that none is 0).
    """

    def __init__(
        self,
        X,
        device,
        likelihood,
        normalisation,
        resume,
        memmap=False,
        missing=None,
        targets=None,
        ranks=None,
        weights=None,
    ):
        self.n_samples, self.n_features = X.shape
        self.device = device
        self.likelihood = likelihood
        self.normalisation = normalisation
        self.resume = resume
        self.rows = training_rows(X, normalisation, device, memmap)
        self.targets = None if targets is None else targets.to(device)
        self.weights = None
        if weights is not None:
            # no positive weight rounds to 0 in float32 (a batch of such rows
            # would divide 0 by 0): those below float32's smallest normal
            # number, relative to the largest, count as that number
            weights = np.maximum(weights, np.finfo(np.float32).tiny)
            self.weights = torch.as_tensor(weights, dtype=torch.float32).to(device)
        if missing is True:
            missing = MissingEntries.from_rows(self.rows, ranks, self.weights)
        self.missing = missing
