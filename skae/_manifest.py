"""A model file's record, field by field: how ``skae.save`` writes values
as JSON, and how ``skae.load`` reads them back, checking each field's type,
range and shape against the others before anything is built from it.

Nothing here allocates more than the manifest already holds: an array is
checked (its dtype against a short list, its length against the size it
must have) before numpy makes it, and a size that shapes the network is
checked against the weights later (see ``skae._training.planned_state``).
Every refusal is a ValueError naming the file and the field.
"""

import math
from numbers import Integral, Real

import numpy as np

from ._target import ATTRIBUTES as TARGET_ATTRIBUTES
from ._target import CLASSIFICATION, REGRESSION

#: The dtypes a model file's arrays are written in, by kind: floats (the
#: normalisation, diagnostics), booleans, integer indices, and objects
#: (feature names, strings). Nothing else is ever decoded.
ARRAY_DTYPES = {
    "f": ("<f8", ">f8", "<f4", ">f4"),
    "b": ("|b1",),
    "i": ("<i8", ">i8", "<i4", ">i4"),
    "O": ("|O",),
}


def to_json(value):
    """A fitted attribute (or a piece of the training log) as JSON: an array
    as ``{"ndarray": [...], "dtype": ...}``, numpy scalars as plain numbers."""
    if isinstance(value, np.ndarray):
        return {"ndarray": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def refuse(path, field, problem):
    """The ValueError for a ``field`` of ``path``'s manifest."""
    return ValueError(
        f"{path}: the manifest's {field} {problem}; the file is not a valid skae "
        "model file (damaged, or edited). Refusing to load it."
    )


# ------------------------------------------------------------ single values


def integer(path, field, value, low=0):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
        raise refuse(path, field, f"must be an integer >= {low}; got {value!r:.80}")
    return int(value)


def number(path, field, value, finite=False, low=-math.inf, high=math.inf):
    """A JSON number (NaN and infinities only when not ``finite``)."""
    if not isinstance(value, Real) or isinstance(value, bool):
        raise refuse(path, field, f"must be a number; got {value!r:.80}")
    value = float(value)
    if finite and not math.isfinite(value):
        raise refuse(path, field, f"must be a finite number; got {value!r}")
    if not (low <= value <= high) and not math.isnan(value):
        raise refuse(path, field, f"must lie in [{low}, {high}]; got {value!r}")
    return value


def numbers(path, field, value, length=None, max_length=None, finite=False):
    """A JSON list of numbers, of exactly ``length`` or at most ``max_length``."""
    if not isinstance(value, list):
        raise refuse(path, field, f"must be a list of numbers; got {value!r:.80}")
    _check_length(path, field, len(value), length, max_length)
    return [number(path, f"{field}[{i}]", v, finite) for i, v in enumerate(value)]


def _check_length(path, field, n, length, max_length):
    if length is not None and n != length:
        raise refuse(
            path, field, f"has the wrong shape: {n} entries where {length} are expected"
        )
    if max_length is not None and n > max_length:
        raise refuse(path, field, f"has {n} entries, more than {max_length}")


def sizes(path, field, value):
    """Layer widths: a list of positive integers; also the array record that
    skae 0.1's ``save`` wrote for a numpy array of widths."""
    if isinstance(value, dict):
        value = array(path, field, value, "i").tolist()
    if not isinstance(value, list):
        raise refuse(path, field, f"must be a list of layer widths; got {value!r:.80}")
    return tuple(integer(path, f"{field}[{i}]", v, 1) for i, v in enumerate(value))


# ------------------------------------------------------------------- arrays


def array(path, field, value, kind, length=None, finite=False):
    """A 1-d array record back as numpy, its dtype one of ``ARRAY_DTYPES[kind]``
    and its length ``length`` (when given), checked before numpy builds it."""
    if not (isinstance(value, dict) and set(value) == {"ndarray", "dtype"}):
        raise refuse(
            path, field, f"must be an array {{ndarray, dtype}}; got {value!r:.80}"
        )
    dtype, data = value["dtype"], value["ndarray"]
    if dtype not in ARRAY_DTYPES[kind]:
        raise refuse(
            path, field, f"has dtype {dtype!r:.40}, not one of {ARRAY_DTYPES[kind]}"
        )
    if not isinstance(data, list):
        raise refuse(path, field, "must hold a list of values")
    _check_length(path, field, len(data), length, None)
    element = {
        "f": lambda v: isinstance(v, Real) and not isinstance(v, bool),
        "b": lambda v: isinstance(v, bool),
        "i": lambda v: isinstance(v, Integral) and not isinstance(v, bool),
        "O": lambda v: isinstance(v, str),
    }[kind]
    if not all(element(v) for v in data):
        raise refuse(path, field, f"must hold {_KIND_NAMES[kind]} only")
    try:
        out = np.asarray(data, dtype=np.dtype(dtype))
    except OverflowError as exc:  # an integer beyond int64
        raise refuse(path, field, f"holds a value out of range ({exc})") from exc
    if finite and not np.all(np.isfinite(out)):
        raise refuse(path, field, "must hold finite numbers only")
    return out


_KIND_NAMES = {"f": "numbers", "b": "booleans", "i": "integers", "O": "strings"}


# --------------------------------------------------------- fitted attributes


def _feature_names(path, field, value, fitted):
    return array(path, field, value, "O", fitted["n_features_in_"])


def _offset(path, field, value, fitted):
    table = fitted.get("table_")
    width = fitted["n_features_in_"] if table is None else table.width
    return array(path, field, value, "f", width, finite=True)


def _table(path, field, value, fitted):
    """A table's encoding (``table_``), or None for a numeric model."""
    if value is None:
        return None
    from ._table import TableEncoding  # pandas, for table models only

    try:
        table = TableEncoding.from_record(value)
    except (ValueError, ImportError) as exc:
        raise refuse(path, field, str(exc)) from exc
    if len(table.columns) != fitted["n_features_in_"]:
        raise refuse(path, field, "has another number of columns than n_features_in_")
    return table


def _curve(path, field, value, fitted):
    return numbers(path, field, value, length=fitted["n_iter_"])


def _some_epochs(path, field, value, fitted):
    if value is None:
        return None
    return numbers(path, field, value, max_length=fitted["n_iter_"])


def _optional_number(path, field, value, fitted):
    return None if value is None else number(path, field, value)


def _dead_components(path, field, value, fitted):
    dead = integer(path, field, value, 0)
    if dead > fitted["n_components_"]:
        raise refuse(path, field, "must be at most n_components_")
    return dead


def _code_means(path, field, value, fitted):
    return array(path, field, value, "f", fitted["n_components_"])


def _target_type(path, field, value, fitted):
    return _choice(path, field, value, CLASSIFICATION + REGRESSION)


def _classes(path, field, value, fitted):
    """A classification target's labels: integers, booleans or strings,
    distinct and sorted, two of them for a binary target."""
    if fitted.get("target_type_") not in CLASSIFICATION:
        raise refuse(path, field, "belongs to a classification target only")
    dtype = value.get("dtype") if isinstance(value, dict) else None
    kind = next((k for k in "ibO" if dtype in ARRAY_DTYPES[k]), "O")
    classes = array(path, field, value, kind)
    binary = fitted["target_type_"] == "binary"
    if (len(classes) != 2) if binary else (len(classes) < 3):
        raise refuse(
            path,
            field,
            f"has {len(classes)} labels for a {fitted['target_type_']} target",
        )
    if not all(a < b for a, b in zip(classes[:-1], classes[1:])):
        raise refuse(path, field, "must hold distinct labels, sorted")
    return classes


def _target_statistics(path, field, value, fitted):
    """A regression target's per-target mean or scale."""
    if fitted.get("target_type_") not in REGRESSION:
        raise refuse(path, field, "belongs to a regression target only")
    length = 1 if fitted["target_type_"] == "continuous" else None
    out = array(path, field, value, "f", length, finite=True)
    if len(out) == 0 or (field.endswith("scale_") and not np.all(out > 0)):
        raise refuse(path, field, "must hold positive numbers, one per target")
    return out


#: A skae estimator's fitted attributes, in the order they are checked
#: (sizes first: later ones are checked against them), each with its check
#: and the class (by name) it belongs to, None for every estimator.
MODEL_FITTED = {
    "n_features_in_": (None, lambda p, f, v, d: integer(p, f, v, 1)),
    "n_iter_": (None, lambda p, f, v, d: integer(p, f, v, 0)),
    "n_components_": (None, lambda p, f, v, d: integer(p, f, v, 1)),
    "n_samples_seen_": (None, lambda p, f, v, d: integer(p, f, v, 1)),
    "feature_names_in_": (None, _feature_names),
    "table_": (None, _table),
    "loss_": (None, lambda p, f, v, d: _choice(p, f, v, ("mse", "bce", "table"))),
    "offset_": (None, _offset),
    "scale_": (None, lambda p, f, v, d: number(p, f, v, True, math.ulp(0.0))),
    "loss_curve_": (None, _curve),
    "validation_scores_": (None, _some_epochs),
    "best_validation_score_": (None, _optional_number),
    "n_dead_components_": (None, _dead_components),
    "reconstruction_curve_": ("VAETransformer", _curve),
    "kl_curve_": ("VAETransformer", _curve),
    "kl_weight_curve_": ("VAETransformer", _curve),
    "inactive_fraction_": (
        "SparseAutoencoder",
        lambda p, f, v, d: number(p, f, v, True, 0.0, 1.0),
    ),
    "mean_activation_": ("SparseAutoencoder", _code_means),
    "target_type_": (None, _target_type),
    "classes_": (None, _classes),
    "target_mean_": (None, _target_statistics),
    "target_scale_": (None, _target_statistics),
    # penalty="topk" or "batchtopk" only (skae._topk), whatever the class
    "n_nonzero_coefs_": (None, lambda p, f, v, d: integer(p, f, v, 1)),
    "dead_fraction_": (None, lambda p, f, v, d: number(p, f, v, True, 0.0, 1.0)),
    "mean_nonzeros_": (None, lambda p, f, v, d: number(p, f, v, True, 0.0)),
    "fvu_": (None, lambda p, f, v, d: number(p, f, v, True, 0.0)),
}

#: Fitted attributes a model may lack: set only for some inputs, for some
#: penalties or for the supervised option (see :func:`target_fields`), or
#: recorded only since a later version (``n_dead_components_``: a file saved
#: before it loads without it).
OPTIONAL = (
    "feature_names_in_",
    "table_",
    "n_dead_components_",
    *TARGET_ATTRIBUTES,
    "n_nonzero_coefs_",
    "dead_fraction_",
    "mean_nonzeros_",
    "fvu_",
)


def _choice(path, field, value, choices):
    if value not in choices:
        raise refuse(path, field, f"must be one of {choices}; got {value!r:.80}")
    return value


def _owner(cls, owner):
    return owner is None or any(c.__name__ == owner for c in cls.__mro__)


def model_fitted(path, cls, fitted, n_components):
    """A skae estimator's recorded fitted attributes, checked and decoded:
    every one the class sets, nothing else, each consistent with the
    others and with the ``n_components`` it was fitted with."""
    where = "fitted"
    if not isinstance(fitted, dict):
        raise refuse(path, where, "must be an object of fitted attributes")
    expected = {
        name: check
        for name, (owner, check) in MODEL_FITTED.items()
        if _owner(cls, owner)
    }
    _check_names(path, where, fitted, expected, cls.__name__)
    out = {}
    for name, check in expected.items():
        if name in fitted:
            out[name] = check(path, f"{where}.{name}", fitted[name], out)
    if out["n_components_"] != n_components:
        raise refuse(
            path,
            f"{where}.n_components_",
            f"is {out['n_components_']} but the parameters say n_components="
            f"{n_components}",
        )
    return out


def target_fields(path, fitted, target_weight):
    """Refuse a record whose supervised option's attributes do not match its
    ``target_weight`` parameter, or each other: all those of its task when
    ``target_weight > 0``, none otherwise."""
    target_type = fitted.get("target_type_")
    if target_type is None:
        wanted = ()
    elif target_type in CLASSIFICATION:
        wanted = ("target_type_", "classes_")
    else:
        wanted = ("target_type_", "target_mean_", "target_scale_")
    if (target_weight > 0) != bool(wanted):
        raise refuse(
            path,
            "fitted.target_type_",
            f"{'is missing' if not wanted else 'is set'} while params.target_weight "
            f"is {target_weight!r}",
        )
    for name in TARGET_ATTRIBUTES:
        if (name in fitted) != (name in wanted):
            raise refuse(
                path, f"fitted.{name}", f"does not agree with a {target_type} target"
            )
    if target_type in REGRESSION and len(fitted["target_mean_"]) != len(
        fitted["target_scale_"]
    ):
        raise refuse(path, "fitted.target_scale_", "has another length than its mean")


def _check_names(path, where, fitted, expected, cls_name):
    unknown = sorted(set(fitted) - set(expected))
    if unknown:
        raise refuse(
            path,
            f"{where}.{unknown[0]}",
            f"is not a fitted attribute of a {cls_name}",
        )
    missing = sorted(set(expected) - set(fitted) - set(OPTIONAL))
    if missing:
        raise refuse(path, f"{where}.{missing[0]}", "is missing")


def _indicator(path, field, value, fitted):
    if value is None:
        return None
    if not (isinstance(value, dict) and set(value) == {"features_"}):
        raise refuse(path, field, "must be null or an object {features_}")
    n = fitted["n_features_in_"]
    features = array(path, f"{field}.features_", value["features_"], "i")
    if np.any((features < 0) | (features >= n)) or np.any(np.diff(features) <= 0):
        raise refuse(
            path, f"{field}.features_", f"are not increasing feature indices (of {n})"
        )
    return features


def _empty(path, field, value, fitted):
    return array(path, field, value, "b", fitted["n_features_in_"])


#: A detector's and an imputer's own fitted attributes (beside their
#: model's), with their checks, by class name.
WRAPPER_FITTED = {
    "AutoencoderOutlierDetector": {
        "n_features_in_": lambda p, f, v, d: integer(p, f, v, 1),
        "feature_names_in_": _feature_names,
        "offset_": lambda p, f, v, d: number(p, f, v, finite=True),
    },
    "AutoencoderImputer": {
        "n_features_in_": lambda p, f, v, d: integer(p, f, v, 1),
        "feature_names_in_": _feature_names,
        "_empty": _empty,
        "indicator_": _indicator,
    },
}


def wrapper_fitted(path, cls, fitted):
    """A detector's or imputer's recorded fitted attributes, checked and
    decoded (the imputer's indicator as its feature indices)."""
    where = "fitted"
    if not isinstance(fitted, dict):
        raise refuse(path, where, "must be an object of fitted attributes")
    expected = WRAPPER_FITTED[cls.__name__]
    _check_names(path, where, fitted, expected, cls.__name__)
    out = {}
    for name, check in expected.items():
        if name in fitted:
            out[name] = check(path, f"{where}.{name}", fitted[name], out)
    return out


# -------------------------------------------------- the log and the network


#: History keys that skae reads back as numbers.
NUMERIC_LOG = (
    "dur",
    "kl_weight",
    "train_loss",
    "valid_loss",
    "train_reconstruction",
    "train_kl",
    "valid_reconstruction",
    "valid_kl",
)


def history(path, value, n_iter):
    """The per-epoch training log: one object per epoch (``n_iter`` of
    them), with a whole ``epoch`` number, a list of ``batches`` objects, and
    numbers where skae reads numbers."""
    field = "history"
    if not isinstance(value, list):
        raise refuse(path, field, "must be a list of epochs")
    _check_length(path, field, len(value), n_iter, None)
    for i, epoch in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(epoch, dict):
            raise refuse(path, where, f"must be an object; got {epoch!r:.80}")
        if "epoch" in epoch:
            integer(path, f"{where}.epoch", epoch["epoch"])
        batches = epoch.get("batches", [])
        if not (
            isinstance(batches, list) and all(isinstance(b, dict) for b in batches)
        ):
            raise refuse(path, f"{where}.batches", "must be a list of objects")
        for key in NUMERIC_LOG:
            if key in epoch:
                number(path, f"{where}.{key}", epoch[key])
    return value


def fill_values(path, value, n_features):
    """An imputer's model's values for missing entries: ``n_features`` finite
    numbers, or None."""
    if value is None:
        return None
    field = "missing_fill (the fill values of missing entries)"
    return numbers(path, field, value, length=n_features, finite=True)


def buffer_names(path, value):
    """The names of the non-persistent buffers saved beside the state."""
    field = "non_persistent_buffers"
    if value is None:
        return []
    if not (
        isinstance(value, list)
        and all(isinstance(v, str) for v in value)
        and len(set(value)) == len(value)
    ):
        raise refuse(path, field, "must be a list of distinct buffer names")
    return value
