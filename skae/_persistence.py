"""``skae.save`` / ``skae.load``: a model file that runs no code when loaded.

A pickle of an estimator (what ``joblib.dump`` writes, and what
cross-validated search needs between processes) runs code when it is loaded:
it is for files you trust. A skae model file holds only data:

- ``manifest.json``: format version, the versions of skae, torch and
  scikit-learn that wrote it, the estimator's class and parameters, its
  fitted attributes (sizes, feature names, normalisation statistics, loss
  curves), the per-epoch training log, and the SHA-256 of the weights;
- ``weights.pt``: the torch module's ``state_dict`` and its non-persistent
  buffers (which ``state_dict`` leaves out, but which a module may update
  in training), read back with ``torch.load(weights_only=True)``, which
  accepts tensors and plain containers only and refuses anything that
  would import or call code;
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

Loading checks every field of the manifest (types, ranges, the lengths of
arrays and logs against the sizes, the sizes against the weights' shapes)
before anything is built from it (:mod:`skae._manifest`), so that a
damaged or crafted file is a ValueError naming the field, and allocates no
more than the file holds.
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

from . import _manifest as fields
from ._base import BaseAutoencoder
from ._device import resolve_device
from ._manifest import refuse, to_json
from ._modelfile import read, write
from ._objectives import MissingEntries, likelihood
from ._params import ADDED_PARAMS, signature_params, sizes_of
from ._training import build_net, max_epochs, planned_state, warn_at_caller

#: Parameters that may hold a torch module of the caller's.
MODULE_PARAMS = ("encoder", "decoder")

#: Parameters holding layer widths (a tuple, a list or a numpy array).
SIZE_PARAMS = ("hidden_layer_sizes", "decoder_layer_sizes")


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

    Notes
    -----
    ``callbacks`` are code, which a model file does not hold: a model fitted
    with callbacks is saved without them, with a warning, and loads with
    ``callbacks=None`` (set them again before continuing its training).
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
    if params["callbacks"]:
        warn_at_caller(
            f"This {type(estimator).__name__} was fitted with callbacks "
            f"({_callback_names(params['callbacks'])}). A model file holds no "
            "code, so it is saved without them and loads with callbacks=None: "
            "the network, its outputs and its training log are saved all the "
            "same. Set callbacks again (set_params) before continuing its "
            "training.",
            UserWarning,
        )
        params["callbacks"] = None
    params = {name: _param_to_json(name, value) for name, value in params.items()}
    classes = getattr(estimator, "classes_", None)
    if classes is not None and classes.dtype.kind == "O":
        odd = [c for c in classes if not isinstance(c, str)]
        if odd:
            raise ValueError(
                f"skae.save stores class labels as JSON integers, booleans or "
                f"strings; this model's classes_ hold {odd[0]!r} "
                f"({type(odd[0]).__name__}). Fit it with labels of one of "
                "those types, or use pickle for trusted use."
            )

    module = estimator.net_.module_
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    # buffers registered with persistent=False are not in the state_dict,
    # but the module may have updated them in training: saved beside it
    buffers = {k: v.detach().cpu() for k, v in module.named_buffers() if k not in state}
    buffer = io.BytesIO()
    torch.save({**state, **buffers}, buffer)
    record = {
        "class": type(estimator).__name__,
        "params": params,
        "fitted": {
            name: value.to_record() if name == "table_" else to_json(value)
            for name, value in _fitted_attributes(estimator)
            if not (name == "table_" and value is None)
        },
        "history": [to_json(dict(epoch)) for epoch in estimator.net_.history],
    }
    if buffers:
        record["non_persistent_buffers"] = sorted(buffers)
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
    params = {name: to_json(value) for name, value in params.items()}
    params["estimator"] = None if given is None else type(wrapper.estimator_).__name__
    fitted = {
        name: to_json(value)
        for name, value in _fitted_attributes(wrapper)
        if name not in ("estimator_", "indicator_")
    }
    if hasattr(wrapper, "indicator_"):  # the imputer
        fitted["_empty"] = to_json(wrapper._empty)
        indicator = wrapper.indicator_
        fitted["indicator_"] = (
            None if indicator is None else {"features_": to_json(indicator.features_)}
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
    FileNotFoundError
        If there is no file at ``path`` (and, like :func:`open`, another
        OSError, e.g. IsADirectoryError or PermissionError, if it cannot be
        opened).
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
        wrapper = _wrappers().get(manifest.get("class"))
        if wrapper is None:
            return _build(path, manifest, weights, device, encoder, decoder)
        # the wrapper's own record is checked before its model is built
        parts = _wrapper_parts(path, wrapper, manifest)
        record = manifest.get("estimator")
        if not isinstance(record, dict):
            raise refuse(path, "estimator", "must be an object (the model's record)")
        record = {**record, "weights_sha256": manifest.get("weights_sha256")}
        model = _build(path, record, weights, device, encoder, decoder)
        return _build_wrapper(path, wrapper, parts, model)
    except (
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        OverflowError,
        RecursionError,
    ) as exc:
        # every field is checked before use: this is a safety net only (and
        # leaves out MemoryError: the checks bound what a load allocates, so
        # one means this machine is short of memory, not a bad file)
        raise ValueError(
            f"{path} is not a valid skae model file (its manifest is "
            f"inconsistent: {type(exc).__name__}: {exc})."
        ) from exc


def _build(path, manifest, weights, device, encoder, decoder):
    """The skae estimator that ``manifest`` describes (a whole manifest, or a
    wrapper's ``estimator`` part with the weights' checksum): every field
    checked (the sizes against the weights' shapes) before the network is
    built."""
    classes = _classes()
    cls = classes.get(manifest.get("class"))
    if cls is None:
        raise ValueError(
            f"{path} names the class {manifest.get('class')!r:.80}, which is not a "
            f"skae estimator (expected one of {sorted(classes | _wrappers())}); "
            "refusing to load it."
        )
    if hashlib.sha256(weights).hexdigest() != manifest.get("weights_sha256"):
        raise ValueError(
            f"{path}: the weights do not match the checksum in the manifest; the "
            "file was altered or corrupted. Refusing to load it."
        )
    params = _params_back(path, cls, manifest.get("params"))
    given = {"encoder": encoder, "decoder": decoder}
    for name in MODULE_PARAMS:
        params[name] = _module_back(path, name, params[name], given[name])
    estimator = _estimator(path, cls, params)
    fitted = fields.model_fitted(
        path, cls, manifest.get("fitted"), params["n_components"]
    )
    fields.target_fields(path, fitted, params["target_weight"])
    table = fitted.get("table_")
    # the network's inputs: a table's encoded width
    n_features = fitted["n_features_in_"] if table is None else table.width
    if (table is None) == (fitted["loss_"] == "table"):
        raise refuse(path, "fitted.loss_", "does not agree with fitted.table_")
    history = fields.history(path, manifest.get("history"), fitted["n_iter_"])
    fill = fields.fill_values(path, manifest.get("missing_fill"), n_features)
    names = fields.buffer_names(path, manifest.get("non_persistent_buffers"))
    if device is None:
        target = _saved_device(params["device"])
        if target.type == "cpu" and params["device"] not in ("auto", "cpu"):
            estimator.device = "cpu"  # a GPU model on a machine without one
    else:
        target = resolve_device(device)
        estimator.device = device
    state = _weights_back(path, weights, target)
    buffers = {name: state.pop(name, None) for name in names}
    estimator._fitted_params = estimator.get_params(deep=False)
    lik = likelihood(fitted["loss_"]) if table is None else table.likelihood
    # the fitted attributes first: the supervised option's shape the network
    for name, value in fitted.items():
        setattr(estimator, name, value)
    _check_shapes(path, estimator, n_features, lik, state, buffers)
    net = build_net(
        estimator,
        n_features,
        target,
        lik,
        max_epochs=max_epochs(estimator, estimator.n_samples_seen_),
        batch_size=estimator.batch_size,
        train_split=None,
        callbacks=[],
        verbose=0,
        missing=None
        if fill is None
        else MissingEntries(torch.tensor(fill, dtype=torch.float32, device=target)),
    )
    try:
        net.module_.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(
            f"{path}: the saved weights do not fit the network built from the "
            f"file's parameters and the modules handed back: {exc}"
        ) from exc
    module = net.module_
    _check_buffer_names(
        path, buffers, {n for n, _ in module.named_buffers()} - set(state)
    )
    for name, tensor in buffers.items():
        owner, _, leaf = name.rpartition(".")
        module.get_submodule(owner).register_buffer(
            leaf, tensor.to(target), persistent=False
        )
    net.history = History(history)
    estimator.net_ = net
    return estimator


def _exact_params(path, cls, recorded):
    """A copy of the ``recorded`` parameters, checked to be exactly the
    parameters of ``cls``."""
    if not isinstance(recorded, dict):
        raise refuse(path, "params", "must be an object of parameters")
    expected = set(signature_params(cls)) - {"self"}
    # a file written before a parameter existed: its older behaviour
    recorded = {
        **{k: v for k, v in ADDED_PARAMS.items() if k in expected},
        **recorded,
    }
    for name in sorted(set(recorded) ^ expected):
        problem = "is missing" if name in expected else f"is not a {cls.__name__} one"
        raise refuse(path, f"params.{name}", problem)
    return dict(recorded)


def _params_back(path, cls, recorded):
    """The recorded parameters of a ``cls``: exactly its parameters (those
    of :data:`~skae._params.ADDED_PARAMS` at their old meaning in a file
    that predates them), the layer widths as tuples of ints, no callbacks."""
    params = _exact_params(path, cls, recorded)
    for name in SIZE_PARAMS:
        if params[name] is not None:
            params[name] = fields.sizes(path, f"params.{name}", params[name])
    if params["callbacks"] is not None:
        raise refuse(path, "params.callbacks", "must be null (files hold no code)")
    for name in MODULE_PARAMS:
        value = params[name]
        if value is not None and not (
            isinstance(value, dict)
            and set(value) == {"module"}
            and isinstance(value["module"], str)
        ):
            raise refuse(path, f"params.{name}", "must be null or {module: path}")
    if not isinstance(params["device"], str):
        raise refuse(path, "params.device", "must be a string")
    _check_table_params(path, params)
    return params


def _check_table_params(path, params):
    """``categorical_features``: None, "from_dtype" or a list of indices,
    names or flags; ``column_likelihoods``: None or column -> kind."""
    given = params["categorical_features"]
    if not (given is None or given == "from_dtype"):
        kinds = {type(v) for v in given} if isinstance(given, list) else {dict}
        if len(kinds) > 1 or not kinds <= {int, str, bool}:
            raise refuse(
                path,
                "params.categorical_features",
                "must be null, 'from_dtype' or a list of indices, names or flags",
            )
    chosen = params["column_likelihoods"]
    pairs = chosen.get("pairs") if isinstance(chosen, dict) else None
    if len(chosen or ()) == 1 and isinstance(pairs, list):
        # written so for a dict keyed by column indices (JSON keys are strings)
        if not all(_is_column_pair(pair) for pair in pairs):
            raise refuse(
                path, "params.column_likelihoods", "must hold [column, kind] pairs"
            )
        chosen = params["column_likelihoods"] = dict(pairs)
    if chosen is not None and not (
        isinstance(chosen, dict) and all(isinstance(v, str) for v in chosen.values())
    ):
        raise refuse(
            path, "params.column_likelihoods", "must be null or column -> likelihood"
        )


def _is_column_pair(pair):
    """Whether ``pair`` is ``[column index or name, likelihood name]``."""
    return (
        isinstance(pair, list)
        and len(pair) == 2
        and isinstance(pair[0], int | str)
        and not isinstance(pair[0], bool)
        and isinstance(pair[1], str)
    )


def _estimator(path, cls, params):
    """``cls(**params)``, its parameters validated (scikit-learn's checks,
    and for a skae model those of its ``fit`` that need no data)."""
    estimator = cls(**params)
    try:
        estimator._validate_params()
        if isinstance(estimator, BaseAutoencoder):
            estimator._check_params(None, incremental=False)
    except ValueError as exc:
        raise ValueError(
            f"{path}: the manifest's parameters of the {cls.__name__} are "
            f"invalid: {exc}"
        ) from exc
    return estimator


def _weights_back(path, weights, device):
    """The saved tensors by name (the weights' bytes, at most the
    container's member limit, are the only thing read)."""
    try:
        state = torch.load(io.BytesIO(weights), map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        raise ValueError(
            f"{path}: the weights hold something other than plain tensors, which "
            f"skae.load refuses to unpickle ({exc})."
        ) from exc
    if not (
        isinstance(state, dict)
        and all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
        )
    ):
        raise ValueError(f"{path}: the weights are not a dict of named tensors.")
    return state


def _check_shapes(path, estimator, n_features, lik, state, buffers):
    """Refuse sizes (``n_features_in_``, ``n_components``, the layer widths)
    that the weights do not have, before a network of those sizes is built:
    the network is first built on torch's meta device, which allocates
    nothing. A module of the caller's that cannot run there is checked
    more roughly: no size beyond the number of saved weights."""
    try:
        planned, planned_buffers = planned_state(estimator, n_features, lik)
    except Exception as exc:
        if all(estimator._fitted_params[n] is None for n in MODULE_PARAMS):
            raise ValueError(
                f"{path}: the manifest's parameters do not build a network "
                f"({type(exc).__name__}: {exc})."
            ) from exc
        # a module of the caller's that does not run on the meta device:
        # skae's own layers must be among the saved weights
        held = sum(t.numel() for t in state.values())
        if _own_weights(estimator._fitted_params, n_features) > held:
            raise refuse(
                path, "params", f"build more weights than the {held} saved"
            ) from exc
        return
    _check_buffer_names(path, buffers, planned_buffers)
    saved = {name: tuple(t.shape) for name, t in state.items()}
    if saved != planned:
        differ = sorted(set(saved) ^ set(planned)) or sorted(
            n for n in saved if saved[n] != planned[n]
        )
        name = differ[0]
        raise ValueError(
            f"{path}: the saved weights do not fit the network that the "
            f"manifest's sizes (n_features_in_={n_features}, n_components="
            f"{estimator.n_components}, hidden_layer_sizes="
            f"{estimator.hidden_layer_sizes}, decoder_layer_sizes="
            f"{estimator.decoder_layer_sizes}) and the modules handed back "
            f"build: {name} is {saved.get(name, 'missing')} in the file, "
            f"{planned.get(name, 'missing')} in the network. Refusing to load it."
        )


def _own_weights(p, n_features):
    """A lower bound on the weights of skae's own layers: the code head
    (``n_components`` rows at least) and its MLP blocks, if any."""
    count = p["n_components"]
    hidden = p["hidden_layer_sizes"] or ()
    chains = []
    if p["encoder"] is None:
        chains.append([n_features, *hidden])
    if p["decoder"] is None:
        decoder = p["decoder_layer_sizes"]
        decoder = hidden[::-1] if decoder is None else decoder
        chains.append([p["n_components"], *decoder, n_features])
    for chain in chains:
        count += sum(a * b for a, b in zip(chain, chain[1:]))
    return count


def _check_buffer_names(path, buffers, known):
    """The saved non-persistent buffers must be ones of the network."""
    for name, tensor in buffers.items():
        if name not in known or tensor is None:
            raise refuse(
                path,
                f"non_persistent_buffers ({name!r:.80})",
                "names no non-persistent buffer of the network, or one missing "
                "from the weights",
            )


def _wrapper_parts(path, cls, manifest):
    """A detector's or imputer's own record, checked: (its parameters but
    the model, the model's recorded class name or None, its fitted
    attributes)."""
    recorded = manifest.get("params")
    params = _exact_params(path, cls, recorded)
    named = params.pop("estimator")
    if named is not None and not isinstance(named, str):
        raise refuse(path, "params.estimator", "must be null or a class name")
    _estimator(path, cls, {**params, "estimator": None})
    fitted = fields.wrapper_fitted(path, cls, manifest.get("fitted"))
    if "indicator_" in fitted and (fitted["indicator_"] is None) == bool(
        params["add_indicator"]
    ):
        raise refuse(
            path, "fitted.indicator_", "does not agree with params.add_indicator"
        )
    return params, named, fitted


def _build_wrapper(path, cls, parts, model):
    """A detector or imputer around its loaded ``model``."""
    params, named, fitted = parts
    if named is not None and named != type(model).__name__:
        raise ValueError(
            f"{path}: the {cls.__name__}'s estimator is recorded as a {named!r:.80} "
            f"but its saved model is a {type(model).__name__}."
        )
    # the unfitted estimator it was given: the model's parameters
    wrapper = cls(**params, estimator=None if named is None else clone(model))
    n_features = fitted["n_features_in_"]
    modelled = n_features
    if "_empty" in fitted:  # the imputer
        modelled = n_features - int(fitted["_empty"].sum())
        indicator = fitted.pop("indicator_")
        fitted["indicator_"] = (
            None if indicator is None else _missing_indicator(n_features, indicator)
        )
    if model.n_features_in_ != modelled:
        raise ValueError(
            f"{path}: the {cls.__name__} has {n_features} features and its model "
            f"{model.n_features_in_}; the manifest is inconsistent."
        )
    for name, value in fitted.items():
        setattr(wrapper, name, value)
    wrapper.estimator_ = model
    return wrapper


def _missing_indicator(n_features, features):
    """A fitted ``MissingIndicator(error_on_new=False)`` (the imputer's) whose
    ``features_`` are ``features`` (checked indices): fitted by scikit-learn
    on one row that is missing exactly there."""
    row = np.zeros((1, n_features))
    row[0, features] = np.nan
    return MissingIndicator(missing_values=np.nan, error_on_new=False).fit(row)


# ----------------------------------------------------------------- helpers


def _import_path(module):
    return f"{type(module).__module__}.{type(module).__qualname__}"


def _callback_names(callbacks):
    return ", ".join(
        type(item[1] if isinstance(item, tuple) else item).__name__
        for item in callbacks
    )


def _param_to_json(name, value):
    """A parameter as JSON: plain values; a module as its import path; layer
    widths as a list of ints (a numpy array of them too)."""
    if name in MODULE_PARAMS and value is not None:
        return {"module": _import_path(value)}
    if name in SIZE_PARAMS and value is not None:
        return list(sizes_of(value))
    if name == "categorical_features" and not (value is None or isinstance(value, str)):
        return to_json(list(np.asarray(value).tolist()))
    if name == "column_likelihoods" and value is not None:
        # JSON keys are strings: a dict keyed by column indices (an array's
        # columns) is written as its pairs, so the indices come back as ints
        if not all(isinstance(column, str) for column in value):
            return {"pairs": [[to_json(k), v] for k, v in value.items()]}
    if isinstance(value, torch.device):
        return str(value)
    return to_json(value)


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
