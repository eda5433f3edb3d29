"""The supervised option's target: ``y`` checked, its task inferred and
encoded for the network's head (``target_weight > 0``).

The task follows y's dtype, as the fitted attributes say:

- a float ``y`` (one column or several; also an object ``y`` whose known
  values are all floats) is a regression target: the head
  predicts it standardised (each column's mean and standard deviation over
  the known rows, ``target_mean_`` and ``target_scale_``), with a squared
  error (a Gaussian likelihood); ``target_type_`` is ``"continuous"`` or
  ``"continuous-multioutput"``;
- any other ``y`` (integers, booleans, strings, objects: labels) is a
  classification target over ``classes_`` (``"binary"`` or
  ``"multiclass"``), with a softmax head and the cross-entropy.

Unknown targets (semi-supervised rows, which train the reconstruction only)
are missing values: NaN in a float ``y``; None, NaN or ``pandas.NA`` in an
object ``y`` (a pandas nullable ``Int64`` or ``string`` column too). An
integer ``y`` has no unknown value: ``-1`` is a label like any other (as in
the common ``{-1, 1}`` coding of a binary target).

Nothing here knows about networks beyond the tensors it returns.
"""

import warnings
from numbers import Integral

import numpy as np
import scipy.sparse as sp
import torch

#: The fitted attributes the supervised option sets (and a later
#: unsupervised fit removes).
ATTRIBUTES = ("target_type_", "classes_", "target_mean_", "target_scale_")

#: ``target_type_`` values, by task.
CLASSIFICATION = ("binary", "multiclass")
REGRESSION = ("continuous", "continuous-multioutput")

#: An integer y with more classes than this is likely a quantity read as
#: labels: ``fit`` warns (a count target has hundreds of values).
MANY_INTEGER_CLASSES = 50


def _unknown(y):
    """Boolean mask of y's unknown entries (rows for 1-d y)."""
    if y.dtype.kind == "f":
        return np.isnan(y)
    if y.dtype.kind != "O":
        return np.zeros(y.shape, dtype=bool)
    try:
        import pandas as pd

        na = pd.NA
    except ImportError:  # pragma: no cover
        na = None
    return np.frompyfunc(
        lambda v: v is None or v is na or (isinstance(v, float) and v != v), 1, 1
    )(y).astype(bool)


def as_target_array(y, n_samples, who):
    """``y`` as a numpy array of ``n_samples`` rows (1-d, or 2-d with
    several columns), refused with the problem named."""
    if sp.issparse(y):
        raise ValueError(
            f"{who} takes a dense y (an array, list or pandas Series); got a "
            "sparse matrix. Convert it with y.toarray()."
        )
    if _pandas_extension(y):
        # a pandas extension dtype (nullable Int64, boolean, string,
        # category): its NA is an unknown target; numpy would turn a
        # nullable integer column into floats, a regression target
        if y.dtype.kind == "f":
            y = y.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            y = y.to_numpy(dtype=object, na_value=None)
    y = np.asarray(y)
    if y.dtype.kind == "O":
        # floats with None for unknown ones (a list, say) are a float y
        known = y[~_unknown(y)]
        if len(known) and all(
            isinstance(v, float | np.floating) for v in known.ravel()
        ):
            y = np.where(_unknown(y), np.nan, y).astype(np.float64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim not in (1, 2):
        raise ValueError(
            f"{who} takes y of shape (n_samples,) or (n_samples, n_targets); "
            f"got an array of shape {y.shape}."
        )
    if y.shape[0] != n_samples:
        raise ValueError(
            f"y has {y.shape[0]} rows but X has {n_samples}: give one target "
            "per row of X (an unknown one as NaN, or None in an object y)."
        )
    if y.dtype.kind not in "biufOUS":
        raise ValueError(
            f"{who} takes y as numbers (a float y is a regression target) or "
            f"labels (integers, booleans, strings); got dtype {y.dtype}."
        )
    return y


def _pandas_extension(y):
    """Whether ``y`` is a pandas Series or array of an extension dtype."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        return False
    return isinstance(y, pd.Series | pd.api.extensions.ExtensionArray) and isinstance(
        y.dtype, pd.api.extensions.ExtensionDtype
    )


class Target:
    """A fitted target encoding: the task (``target_type_``), its classes or
    its standardisation, and the head's width (``n_outputs``)."""

    def __init__(self, target_type, classes=None, mean=None, scale=None):
        self.target_type = target_type
        self.classes = classes
        self.mean = mean
        self.scale = scale

    @property
    def classification(self):
        return self.target_type in CLASSIFICATION

    @property
    def n_outputs(self):
        """Outputs of the head: one logit per class, or one per target."""
        return len(self.classes) if self.classification else len(self.scale)

    @staticmethod
    def part(y, who, classes=None):
        """What one process's ``y`` (as :func:`as_target_array` returns it)
        adds to the encoding :meth:`pool` fits: its task (None when every
        target is unknown), its known labels or each column's count, mean
        and variance over its known rows, and ``classes`` sorted. Refuses
        what is wrong with this ``y`` alone (infinite values, labels in
        several columns, labels outside ``classes``)."""
        known = ~_unknown(y)
        part = {
            "kind": None,
            "dtype": y.dtype.kind,
            "columns": 1 if y.ndim == 1 else y.shape[1],
            "classes": None if classes is None else _sorted_labels(np.asarray(classes)),
        }
        if y.dtype.kind == "f":
            if np.isinf(y).any():
                raise ValueError(
                    "y holds infinite values; a regression target must be finite "
                    "(write an unknown target as NaN)."
                )
            Y = y.reshape(len(y), -1)
            counts = (~_unknown(Y)).sum(axis=0)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an empty column
                mean = np.nanmean(Y, axis=0, dtype=np.float64)
                variance = np.nanvar(Y, axis=0, dtype=np.float64)
            if known.any():
                part["kind"] = "regression"
            part.update(counts=counts, mean=mean, variance=variance, labels=np.empty(0))
            return part
        if known.any():
            part["kind"] = "classification"
            if y.ndim == 2:
                raise ValueError(
                    f"{who}'s supervised option predicts one label column (softmax "
                    f"over classes_) or float targets (regression); got labels in "
                    f"{y.shape[1]} columns (multilabel or multioutput "
                    "classification), which it does not support. Give one label "
                    "column, or the columns as floats to fit them as a regression "
                    "target."
                )
        labels = _sorted_labels(y[known])
        if part["classes"] is not None:
            unseen = _unseen(labels, part["classes"])
            if unseen:
                raise ValueError(
                    f"y holds labels {unseen} that are not in "
                    f"classes={list(part['classes'])}."
                )
        part["labels"] = labels
        return part

    @classmethod
    def pool(cls, parts, who):
        """The encoding fitted on the targets of every process (``parts``:
        each one's :meth:`part`, in rank order; one for a fit in one
        process): the task of the parts with known targets, the sorted
        union of their labels (or ``classes``) or each column's mean and
        standard deviation over all their known rows. The same on every
        process, errors included."""
        several = len(parts) > 1
        where = " (all ranks together)" if several else ""
        given = [p["classes"] for p in parts]
        if several and any(
            (c is None) != (given[0] is None)
            or (c is not None and not np.array_equal(c, given[0]))
            for c in given
        ):
            raise ValueError(
                "strategy='ddp': partial_fit's classes differ between ranks; "
                "pass the same classes=[...] on every rank."
            )
        kinds = {p["kind"] for p in parts} - {None}
        if len(kinds) > 1:
            raise ValueError(
                "strategy='ddp': some ranks' y is float (a regression target) and "
                "others' holds labels; give y in one type on every rank."
            )
        columns = {p["columns"] for p in parts}
        if len(columns) > 1 and kinds != {"classification"}:
            raise ValueError(
                f"strategy='ddp': the ranks' y have {sorted(columns)} columns; "
                "give the same regression targets on every rank."
            )
        if kinds == {"classification"} and columns != {1}:
            raise ValueError(
                "strategy='ddp': a rank's y has several columns and another's "
                "holds labels; give one label column on every rank."
            )
        if kinds == {"regression"} or (not kinds and parts[0]["dtype"] == "f"):
            return cls._pooled_regression(
                [p for p in parts if p["dtype"] == "f"], where
            )
        if given[0] is not None:
            classes = given[0]
        else:
            labels = [p["labels"] for p in parts if len(p["labels"])]
            if not labels:
                raise ValueError(
                    f"y has no known label{where} (every entry is missing): the "
                    "supervised option (target_weight > 0) needs labelled rows. "
                    "Set target_weight=0 to fit without y."
                )
            classes = _sorted_labels(np.concatenate(labels))
        if len(classes) < 2:
            only = classes[0].item() if hasattr(classes[0], "item") else classes[0]
            raise ValueError(
                f"y has a single class ({only!r}){where}: a classification "
                "head needs at least 2. Give rows of other classes (partial_fit: "
                "name every class on the first call with classes=[...]), or "
                "set target_weight=0 to fit without y."
            )
        integers = all(p["dtype"] in "iu" for p in parts if p["kind"] is not None)
        if integers and len(classes) > MANY_INTEGER_CLASSES:
            from ._training import warn_at_caller

            warn_at_caller(
                f"y holds {len(classes)} distinct integers, which {who}'s "
                f"supervised option trains as {len(classes)} classes (a softmax: "
                "integers are labels). If y is a quantity (a count, a price in "
                "whole units), pass y.astype(float) for a regression target.",
                UserWarning,
            )
        return cls("binary" if len(classes) == 2 else "multiclass", classes=classes)

    @classmethod
    def _pooled_regression(cls, parts, where):
        """The regression encoding of the float ``parts``: each column's
        mean and standard deviation over the known rows of all of them
        (Chan's pooling of counts, means and variances)."""
        counts = sum(p["counts"] for p in parts)
        if counts.min() == 0:
            raise ValueError(
                f"y has no known value (all NaN){where}"
                + (f" in column {int(np.argmin(counts))}" if len(counts) > 1 else "")
                + ": the supervised option (target_weight > 0) needs some "
                "known targets. Set target_weight=0 to fit without y."
            )
        parts = [p for p in parts if p["counts"].any()]
        if len(parts) == 1:  # one process: numpy's own statistics
            mean, variance = parts[0]["mean"], parts[0]["variance"]
        else:
            mean = sum(np.nan_to_num(p["mean"]) * p["counts"] for p in parts) / counts
            variance = (
                sum(
                    p["counts"]
                    * (
                        np.nan_to_num(p["variance"])
                        + (np.nan_to_num(p["mean"]) - mean) ** 2
                    )
                    for p in parts
                )
                / counts
            )
        scale = np.sqrt(variance)
        scale[~(scale > np.finfo(np.float64).tiny)] = 1.0  # constant: as is
        target_type = "continuous" if len(scale) == 1 else "continuous-multioutput"
        return cls(target_type, mean=mean, scale=scale)

    @classmethod
    def of(cls, estimator):
        """The fitted estimator's encoding, or None when it was fitted
        without the supervised option."""
        target_type = getattr(estimator, "target_type_", None)
        if target_type is None:
            return None
        return cls(
            target_type,
            classes=getattr(estimator, "classes_", None),
            mean=getattr(estimator, "target_mean_", None),
            scale=getattr(estimator, "target_scale_", None),
        )

    def check_classes(self, classes, first):
        """Refuse ``partial_fit``'s ``classes`` where it does not apply: a
        regression target, or a later call naming other classes."""
        if not self.classification:
            raise ValueError(
                "classes is for a classification target; y is float, which is "
                "a regression target (leave classes out, or give labels)."
            )
        if not first and not np.array_equal(
            _sorted_labels(np.asarray(classes)), self.classes
        ):
            raise ValueError(
                f"classes={list(np.asarray(classes))} differs from the fitted "
                f"classes_={list(self.classes)}; classes is read on the first "
                "partial_fit call only (leave it out, or pass the same)."
            )

    def attributes(self):
        """The fitted attributes that describe this encoding."""
        if self.classification:
            return {"target_type_": self.target_type, "classes_": self.classes}
        return {
            "target_type_": self.target_type,
            "target_mean_": self.mean,
            "target_scale_": self.scale,
        }

    def encode(self, y):
        """``y`` as the head's target, a CPU tensor: class indices (int64,
        -1 where unknown), or the standardised targets (float32, one column
        per target, NaN where unknown). A label not among ``classes_``, or a
        number of regression targets other than the fitted one, is refused."""
        unknown = _unknown(y)
        if self.classification:
            if y.dtype.kind == "f" and not unknown.all():
                raise ValueError(
                    f"This model was fitted for classification over classes_="
                    f"{list(self.classes)}; y is float, which is a regression "
                    "target. Give the labels in their own type (e.g. integers)."
                )
            if y.ndim == 2:
                raise ValueError(
                    "This model was fitted for one label column; y has "
                    f"{y.shape[1]} columns."
                )
            labels = _narrow(y[~unknown])
            unseen = _unseen(labels, self.classes)
            if unseen:
                raise ValueError(
                    f"y holds labels {unseen} that the model was not fitted with "
                    f"(classes_={list(self.classes)}). For partial_fit, give every "
                    "class on the first call with classes=[...]."
                )
            codes = np.full(len(y), -1, dtype=np.int64)
            codes[~unknown] = np.searchsorted(self.classes, labels)
            return torch.from_numpy(codes)
        if y.dtype.kind != "f" and unknown.all():  # no target known: NaN
            y = np.full(y.shape, np.nan)
        if y.dtype.kind != "f":
            raise ValueError(
                f"This model was fitted for a regression target ({self.target_type}); "
                f"y has dtype {y.dtype}. Give y as floats."
            )
        Y = y.reshape(len(y), -1)
        if Y.shape[1] != len(self.scale):
            raise ValueError(
                f"This model was fitted for {len(self.scale)} regression target(s); "
                f"y has {Y.shape[1]}."
            )
        if np.isinf(Y).any():
            raise ValueError(
                "y holds infinite values; a regression target must be finite "
                "(write an unknown target as NaN)."
            )
        return torch.from_numpy(((Y - self.mean) / self.scale).astype(np.float32))


def _narrow(labels):
    """Labels in the array type that says what they are: strings as an
    object array (as model files hold them); an object array of integers
    (a pandas nullable ``Int64`` column's known values) as int64, of
    booleans as bool."""
    if labels.dtype.kind in "US":
        return labels.astype(object)
    if labels.dtype.kind == "O" and len(labels):
        if all(isinstance(v, bool | np.bool_) for v in labels):
            return labels.astype(bool)
        if all(
            isinstance(v, Integral) and not isinstance(v, bool | np.bool_)
            for v in labels
        ):
            return labels.astype(np.int64)
    return labels


def _sorted_labels(labels):
    """The distinct labels, sorted (``np.unique``, after :func:`_narrow`),
    refused with the reason when they cannot be compared."""
    labels = _narrow(labels)
    try:
        return np.unique(labels)
    except TypeError as exc:
        raise ValueError(
            f"y's labels cannot be sorted ({exc}): give labels of one type "
            "(all strings, or all integers)."
        ) from exc


def _unseen(labels, classes):
    """The distinct ``labels`` not among the sorted ``classes`` (a list,
    empty when there are none)."""
    labels = _sorted_labels(labels)
    if len(labels) == 0:
        return []
    try:
        at = np.searchsorted(classes, labels).clip(max=len(classes) - 1)
        missing = classes[at] != labels
    except TypeError:
        return [v.item() if hasattr(v, "item") else v for v in labels[:5]]
    return [v.item() if hasattr(v, "item") else v for v in labels[missing][:5]]


class SupervisedTargets:
    """Mixin of :class:`~skae._base.BaseAutoencoder`: the supervised
    option's targets of a ``fit`` or ``partial_fit`` call (checked before
    any training) and a new fit's task, pooled over the ranks of a
    data-parallel fit."""

    def _targets(self, y, n_samples, resume, incremental, classes):
        """The supervised option's targets of this call, with this process's
        part of a new fit's task: ``(encoded, None)`` when the fitted task
        encodes them (a CPU tensor, see
        :meth:`~skae._target.Target.encode`; None when ``target_weight=0``,
        ``y`` then ignored), ``(y, part)`` for a new fit (not a resume), whose
        task :meth:`_fit_target` fixes from every rank's
        :meth:`~skae._target.Target.part`. A new fit removes the fitted
        attributes of an earlier one's task. The checks of this rank's ``y``
        happen here, before any training."""
        method = "partial_fit" if incremental else "fit"
        on = self.target_weight > 0
        if resume:
            fitted = Target.of(self)
            if (fitted is not None) != on:
                raise ValueError(
                    f"warm_start=True and partial_fit continue a model fitted "
                    f"{'with' if fitted is not None else 'without'} the supervised "
                    f"option; target_weight={self.target_weight!r} would "
                    f"{'drop' if fitted is not None else 'add'} its head. Keep "
                    "target_weight "
                    + ("> 0" if fitted is not None else "at 0")
                    + ", or set warm_start=False (and call fit) to fit a new model."
                )
        else:
            for name in ATTRIBUTES:
                self.__dict__.pop(name, None)
        if not on:
            return None, None
        who = type(self).__name__
        if y is None:
            raise ValueError(
                f"target_weight={self.target_weight!r} trains a head on the code "
                f"to predict y, but {method} got y=None. Pass y ({who}.{method}(X, "
                "y), or y to the Pipeline's fit; an unknown target is NaN), or set "
                "target_weight=0 for unsupervised codes (AutoencoderImputer and "
                "AutoencoderOutlierDetector train their model without y)."
            )
        y = as_target_array(y, n_samples, who)
        if not resume:
            return y, Target.part(y, who, classes)
        target = Target.of(self)
        if classes is not None:
            target.check_classes(classes, first=False)
        return target.encode(y), None

    def _fit_target(self, y, part, classes, ranks):
        """A new fit's task, from every rank's ``part`` (this process's
        alone without ``ranks``): sets its fitted attributes and returns
        ``y`` encoded. Its errors (a single class over all the rows, say)
        are the same on every rank."""
        parts = [part] if ranks is None else ranks.gather(part)
        target = Target.pool(parts, type(self).__name__)
        if classes is not None:
            target.check_classes(classes, first=True)
        self.__dict__.update(target.attributes())
        return target.encode(y)
