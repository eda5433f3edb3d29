"""``skae.save`` / ``skae.load``: a model file that runs no code when loaded.

A pickle of an estimator (what ``joblib.dump`` writes, and what
cross-validated search needs between processes) runs code when it is loaded:
it is for files you trust. A skae model file holds only data:

- ``manifest.json``: format version, the versions of skae, torch and
  scikit-learn that wrote it, the estimator's class and parameters, its
  fitted attributes (sizes, feature names, normalisation statistics, loss
  curves), the per-epoch training log, and the SHA-256 of the weights;
- ``weights.pt``: the torch module's ``state_dict``, read back with
  ``torch.load(weights_only=True)``, which accepts tensors and plain
  containers only and refuses anything that would import or call code;
- ``manifest.sha256``: the SHA-256 of the manifest, so that a damaged or
  edited manifest is refused rather than silently loaded.

All sit in one zip file (its container is :mod:`skae._modelfile`), written
to a temporary file beside the target and moved over it only when complete: a
failed save leaves any older file intact.

An :class:`~skae.AutoencoderOutlierDetector` or :class:`~skae.AutoencoderImputer`
whose model is a skae estimator is saved the same way: its own parameters
and fitted attributes beside those of its model (``estimator_``), whose
weights fill ``weights.pt``.

A model with its own encoder or decoder module is saved as weights plus the
module's import path; :func:`load` takes the module (or its class) back from
the caller, as torch's ``load_state_dict`` takes a module to fill, so the file
still runs no code.
"""

import hashlib
import io
import pickle

import numpy as np
import torch
from sklearn.base import clone
from sklearn.impute import MissingIndicator
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from ._base import BaseAutoencoder
from ._device import resolve_device
from ._modelfile import read, write
from ._objectives import MissingEntries, likelihood
from ._training import build_net, max_epochs, warn_at_caller

#: Parameters that may hold a torch module of the caller's.
MODULE_PARAMS = ("encoder", "decoder")


def _classes():
    """The estimator classes a model file may name as its model: skae's
    public estimators, discovered from ``skae.__all__``. Nothing else is
    ever instantiated (but the wrappers of :func:`_wrappers`)."""
    import skae

    found = {}
    for name in skae.__all__:
        obj = getattr(skae, name)
        if isinstance(obj, type) and issubclass(obj, BaseAutoencoder):
            found[name] = obj
    return found


def _wrappers():
    """The skae meta-estimators a model file may name, each around a fitted
    skae estimator (``estimator_``)."""
    from ._impute import AutoencoderImputer
    from ._outlier import AutoencoderOutlierDetector

    return {
        cls.__name__: cls for cls in (AutoencoderOutlierDetector, AutoencoderImputer)
    }


def save(estimator, path):
    """Save a fitted skae estimator to a file that runs no code when loaded.

    Parameters
    ----------
    estimator : skae estimator
        A fitted estimator: an autoencoder (``AutoencoderTransformer``,
        ``SparseAutoencoder``, ``DenoisingAutoencoder``, ``VAETransformer``,
        ...), or an ``AutoencoderOutlierDetector`` or ``AutoencoderImputer``
        whose model is one of those.
    path : str or path-like
        Where to write the file (a zip archive; ``.skae`` is a good suffix).

    See Also
    --------
    load : Read such a file back.
    """
    wrapped = type(estimator) in _wrappers().values()
    if not wrapped and type(estimator) not in _classes().values():
        raise TypeError(
            "skae.save saves fitted skae estimators; got "
            f"{type(estimator).__name__}. For a Pipeline, save its skae steps "
            "with skae.save and the rest with joblib or skops (see the user "
            "guide's section on persistence)."
        )
    check_is_fitted(estimator)
    model = estimator.estimator_ if wrapped else estimator
    if type(model) not in _classes().values():
        raise TypeError(
            f"skae.save saves an {type(estimator).__name__} only when its model "
            f"is a skae estimator; this one's is a {type(model).__name__}. Save "
            "it with joblib (trusted files only) or skops."
        )
    record, weights = _model_record(model)
    if wrapped:
        record = {**_wrapper_record(estimator), "estimator": record}
    write(path, record, weights)


def _model_record(estimator):
    """A fitted skae estimator as (its part of the manifest, the weights'
    bytes)."""
    # the parameters the network was built and trained with, not any set
    # after the fit
    params = dict(estimator._fitted_params)
    _check_random_state(params["random_state"])
    params = {name: _param_to_json(name, value) for name, value in params.items()}

    buffer = io.BytesIO()
    state = {
        k: v.detach().cpu() for k, v in estimator.net_.module_.state_dict().items()
    }
    torch.save(state, buffer)
    record = {
        "class": type(estimator).__name__,
        "params": params,
        "fitted": {
            name: _to_json(value) for name, value in _fitted_attributes(estimator)
        },
        "history": [_to_json(dict(epoch)) for epoch in estimator.net_.history],
    }
    missing = estimator.net_.missing
    if missing is not None:
        # an imputer's model: the values its network takes for missing entries
        record["missing_fill"] = missing.fill.detach().cpu().tolist()
    return record, buffer.getvalue()


def _wrapper_record(wrapper):
    """A fitted detector's or imputer's own part of the manifest: its
    parameters and its fitted state beyond ``estimator_``. The ``estimator``
    parameter is recorded as None (the default model) or as the class of
    the fitted model, which is saved beside: it is loaded back as an
    unfitted clone of that model, whatever was set after the fit."""
    params = wrapper.get_params(deep=False)
    if "random_state" in params:
        _check_random_state(params["random_state"])
    given = params.pop("estimator")
    params = {name: _to_json(value) for name, value in params.items()}
    params["estimator"] = None if given is None else type(wrapper.estimator_).__name__
    fitted = {
        name: _to_json(value)
        for name, value in _fitted_attributes(wrapper)
        if name not in ("estimator_", "indicator_")
    }
    if hasattr(wrapper, "indicator_"):  # the imputer
        fitted["_empty"] = _to_json(wrapper._empty)
        indicator = wrapper.indicator_
        fitted["indicator_"] = (
            None if indicator is None else {"features_": _to_json(indicator.features_)}
        )
    return {"class": type(wrapper).__name__, "params": params, "fitted": fitted}


def _check_random_state(random_state):
    if random_state is not None and not isinstance(random_state, int | np.integer):
        raise ValueError(
            "skae.save stores parameters as JSON and cannot store a "
            f"{type(random_state).__name__} as random_state. Set random_state "
            "to an int (or None) before fitting, or use pickle for trusted use."
        )


def load(path, device=None, *, encoder=None, decoder=None):
    """Load an estimator saved by :func:`save`, running no code from the file.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    device : str or torch.device, default=None
        Where to put the network: ``"auto"`` or any device the estimators'
        ``device`` parameter accepts (``"cpu"``, ``"cuda:N"``, ``"mps"``,
        ...). None keeps the saved ``device`` parameter when it can run
        here, and otherwise (a model trained on a GPU, loaded on a machine
        without one) uses the CPU with a warning. The returned estimator's
        ``device`` parameter names the device actually used.
    encoder, decoder : torch.nn.Module or class, default=None
        For a model fitted with your own encoder or decoder: the module it
        was fitted with (an instance, or its class when that builds it with
        no arguments). The file records only the module's import path, which
        must match; its weights come from the file. Not needed otherwise.

    Returns
    -------
    estimator : BaseAutoencoder, AutoencoderOutlierDetector or \
AutoencoderImputer
        The fitted estimator, of the class that was saved; its transforms
        (and scores, predictions, imputations) equal the saved model's.

    Raises
    ------
    ValueError
        If the file is not a skae model file, is damaged or was edited, names
        a class that is not a skae estimator, was written by an incompatible
        format version, its weights hold anything but tensors, or it needs an
        encoder or decoder module that was not handed back (or that does not
        fit its weights).

    See Also
    --------
    save : Write such a file.
    """
    manifest, weights = read(path)
    try:
        sha256 = manifest.get("weights_sha256")
        wrapper = _wrappers().get(manifest.get("class"))
        record = manifest if wrapper is None else manifest["estimator"]
        model = _build(path, record, weights, sha256, device, encoder, decoder)
        if wrapper is None:
            return model
        return _build_wrapper(path, wrapper, manifest, model)
    except (
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        MemoryError,
        OverflowError,
    ) as exc:
        raise ValueError(
            f"{path} is not a valid skae model file (its manifest is "
            f"inconsistent: {type(exc).__name__}: {exc})."
        ) from exc


def _build(path, manifest, weights, sha256, device, encoder, decoder):
    """The skae estimator that ``manifest`` describes (a whole manifest, or a
    wrapper's ``estimator`` part), its weights checked against ``sha256``."""
    classes = _classes()
    cls = classes.get(manifest.get("class"))
    if cls is None:
        raise ValueError(
            f"{path} names the class {manifest.get('class')!r}, which is not a "
            f"skae estimator (expected one of {sorted(classes | _wrappers())}); "
            "refusing to load it."
        )
    if hashlib.sha256(weights).hexdigest() != sha256:
        raise ValueError(
            f"{path}: the weights do not match the checksum in the manifest; the "
            "file was altered or corrupted. Refusing to load it."
        )
    params = dict(manifest["params"])
    given = {"encoder": encoder, "decoder": decoder}
    for name in MODULE_PARAMS:
        params[name] = _module_back(path, name, params.get(name), given[name])
    params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    if params.get("decoder_layer_sizes") is not None:
        params["decoder_layer_sizes"] = tuple(params["decoder_layer_sizes"])
    estimator = cls(**params)
    estimator._validate_params()  # a hand-edited manifest gets sklearn's errors
    if device is None:
        target = _saved_device(params["device"])
        if target.type == "cpu" and params["device"] not in ("auto", "cpu"):
            estimator.device = "cpu"  # a GPU model on a machine without one
    else:
        target = resolve_device(device)
        estimator.device = device
    try:
        state = torch.load(io.BytesIO(weights), map_location=target, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        raise ValueError(
            f"{path}: the weights hold something other than plain tensors, which "
            f"skae.load refuses to unpickle ({exc})."
        ) from exc
    _set_fitted(path, estimator, manifest["fitted"])
    missing = _missing_entries(
        path, manifest.get("missing_fill"), estimator.n_features_in_, target
    )
    estimator._fitted_params = estimator.get_params(deep=False)
    net = build_net(
        estimator,
        estimator.n_features_in_,
        target,
        likelihood(estimator.loss_),
        max_epochs=max_epochs(estimator, estimator.n_samples_seen_),
        batch_size=estimator.batch_size,
        train_split=None,
        callbacks=[],
        verbose=0,
        missing=missing,
    )
    try:
        net.module_.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(
            f"{path}: the saved weights do not fit the network built from the "
            f"file's parameters and the modules handed back: {exc}"
        ) from exc
    net.history = History(manifest["history"])
    estimator.net_ = net
    return estimator


def _missing_entries(path, fill, n_features, device):
    """An imputer's model's fill values back as its net's ``missing``."""
    if fill is None:
        return None
    if len(fill) != n_features:
        raise ValueError(
            f"{path}: the manifest records {len(fill)} fill values for "
            f"{n_features} features."
        )
    return MissingEntries(torch.tensor(fill, dtype=torch.float32, device=device))


def _build_wrapper(path, cls, manifest, model):
    """A detector or imputer around its loaded ``model``."""
    params = dict(manifest["params"])
    named = params.pop("estimator")
    if named is not None and named != type(model).__name__:
        raise ValueError(
            f"{path}: the {cls.__name__}'s estimator is recorded as a {named!r} "
            f"but its saved model is a {type(model).__name__}."
        )
    # the unfitted estimator it was given: the model's parameters
    params["estimator"] = None if named is None else clone(model)
    wrapper = cls(**params)
    wrapper._validate_params()
    fitted = dict(manifest["fitted"])
    imputer = "_empty" in fitted
    indicator = fitted.pop("indicator_", None)
    _set_fitted(path, wrapper, fitted, private=("_empty",) if imputer else ())
    n_features = wrapper.n_features_in_
    modelled = n_features
    if imputer:
        empty = np.asarray(wrapper._empty, dtype=bool)
        if empty.shape != (n_features,):
            raise ValueError(f"{path}: the imputer's _empty has the wrong shape.")
        wrapper._empty = empty
        modelled = n_features - int(empty.sum())
        if indicator is not None:
            indicator = _missing_indicator(
                path, n_features, _from_json(indicator["features_"])
            )
        wrapper.indicator_ = indicator
    if model.n_features_in_ != modelled:
        raise ValueError(
            f"{path}: the {cls.__name__} has {n_features} features and its model "
            f"{model.n_features_in_}; the manifest is inconsistent."
        )
    wrapper.estimator_ = model
    return wrapper


def _set_fitted(path, estimator, fitted, private=()):
    """Set the recorded fitted attributes: public names ending in ``_``, and
    the ``private`` ones, nothing else (no method, no ``__dict__``)."""
    for name, value in fitted.items():
        public = name.endswith("_") and not name.startswith("_")
        if not (public or name in private):
            raise ValueError(
                f"{path}: the manifest sets {name!r}, which is not a fitted "
                "attribute; refusing to load it."
            )
        setattr(estimator, name, _from_json(value))


def _missing_indicator(path, n_features, features):
    """A fitted ``MissingIndicator(error_on_new=False)`` (the imputer's) whose
    ``features_`` are ``features``: fitted by scikit-learn on one row that is
    missing exactly there."""
    features = np.asarray(features)
    if features.dtype.kind not in "iu" or np.any(
        (features < 0) | (features >= n_features)
    ):
        raise ValueError(f"{path}: the indicator's features_ are not feature indices.")
    row = np.zeros((1, n_features))
    row[0, features] = np.nan
    return MissingIndicator(missing_values=np.nan, error_on_new=False).fit(row)


# ----------------------------------------------------------------- helpers


def _import_path(module):
    return f"{type(module).__module__}.{type(module).__qualname__}"


def _param_to_json(name, value):
    """A parameter as JSON: plain values; a module as its import path."""
    if name in MODULE_PARAMS and value is not None:
        return {"module": _import_path(value)}
    if isinstance(value, torch.device):
        return str(value)
    return _to_json(value)


def _module_back(path, name, recorded, given):
    """The module the caller handed back for the ``name`` parameter, checked
    against the import path the file records."""
    if recorded is None:
        if given is not None:
            raise ValueError(
                f"{path} was fitted with skae's own {name}; do not pass {name}=."
            )
        return None
    wanted = recorded["module"] if isinstance(recorded, dict) else recorded
    if given is None:
        raise ValueError(
            f"{path} was fitted with your own {name}, a {wanted}. A model file "
            f"runs no code, so it holds only that module's weights: pass the "
            f"module (or its class) back, skae.load(path, {name}=...)."
        )
    if isinstance(given, type):
        try:
            given = given()
        except TypeError as exc:
            raise ValueError(
                f"{name}={given.__name__} cannot be built without arguments "
                f"({exc}); pass an instance instead."
            ) from exc
    if not isinstance(given, torch.nn.Module) or _import_path(given) != wanted:
        raise ValueError(
            f"{path} was fitted with a {name} of class {wanted}; got "
            f"{_import_path(given) if isinstance(given, torch.nn.Module) else given!r}."
        )
    return given


def _saved_device(saved):
    """The saved device when it exists here; the CPU, with a warning, when it
    is an accelerator this machine lacks."""
    try:
        return resolve_device(saved)
    except ValueError:
        if not str(saved).startswith(("cuda", "mps", "xpu")):
            raise
        warn_at_caller(
            f"This model was saved with device={saved!r}, which is not available "
            "here; it is loaded on the CPU (its device parameter is now 'cpu').",
            UserWarning,
        )
        return torch.device("cpu")


def _fitted_attributes(estimator):
    """(name, value) of every public fitted attribute but the net."""
    for name, value in vars(estimator).items():
        if name.endswith("_") and not name.startswith("_") and name != "net_":
            yield name, value


def _to_json(value):
    if isinstance(value, np.ndarray):
        return {"ndarray": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    return value


def _from_json(value):
    if isinstance(value, dict) and set(value) == {"ndarray", "dtype"}:
        dtype = np.dtype(value["dtype"])
        if dtype.kind not in "biufUO":
            raise ValueError(f"unsupported array dtype {dtype} in the manifest")
        return np.asarray(value["ndarray"], dtype=dtype)
    return value
