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

All sit in one zip file, written to a temporary file beside the target and
moved over it only when complete: a failed save leaves any older file intact.

A model with its own encoder or decoder module is saved as weights plus the
module's import path; :func:`load` takes the module (or its class) back from
the caller, as torch's ``load_state_dict`` takes a module to fill, so the file
still runs no code.
"""

import hashlib
import io
import json
import os
import pickle
import tempfile
import zipfile
import zlib

import numpy as np
import sklearn
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from ._base import BaseAutoencoder, warn_at_caller
from ._device import resolve_device
from ._objectives import likelihood

FORMAT = "skae-model"
#: Bumped whenever a file written by this version could be misread by an
#: older reader, or a file of an older version by this reader.
FORMAT_VERSION = 2

#: Parameters that may hold a torch module of the caller's.
MODULE_PARAMS = ("encoder", "decoder")

#: No member of a model file is decompressed beyond this many bytes, nor
#: beyond this ratio to its compressed size (weights barely compress; a
#: crafted file declaring gigabytes is refused before anything is read).
MAX_MEMBER_BYTES = 64 * 2**20
MAX_RATIO = 200


def _classes():
    """The estimator classes a model file may name: skae's public estimators,
    discovered from ``skae.__all__``. Nothing else is ever instantiated."""
    import skae

    found = {}
    for name in skae.__all__:
        obj = getattr(skae, name)
        if isinstance(obj, type) and issubclass(obj, BaseAutoencoder):
            found[name] = obj
    return found


def save(estimator, path):
    """Save a fitted skae estimator to a file that runs no code when loaded.

    Parameters
    ----------
    estimator : AutoencoderTransformer, SparseAutoencoder, \
DenoisingAutoencoder or VAETransformer
        A fitted estimator.
    path : str or path-like
        Where to write the file (a zip archive; ``.skae`` is a good suffix).

    See Also
    --------
    load : Read such a file back.
    """
    if type(estimator) not in _classes().values():
        raise TypeError(
            "skae.save saves fitted skae estimators; got "
            f"{type(estimator).__name__}. For a Pipeline, save its skae steps "
            "with skae.save and the rest with joblib or skops (see the user "
            "guide's section on persistence)."
        )
    check_is_fitted(estimator)
    # the parameters the network was built and trained with, not any set
    # after the fit
    params = dict(estimator._fitted_params)
    random_state = params["random_state"]
    if random_state is not None and not isinstance(random_state, int | np.integer):
        raise ValueError(
            "skae.save stores parameters as JSON and cannot store a "
            f"{type(random_state).__name__} as random_state. Set random_state "
            "to an int (or None) before fitting, or use pickle for trusted use."
        )
    params = {name: _param_to_json(name, value) for name, value in params.items()}

    buffer = io.BytesIO()
    state = {
        k: v.detach().cpu() for k, v in estimator.net_.module_.state_dict().items()
    }
    torch.save(state, buffer)
    weights = buffer.getvalue()
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": {
            "skae": _skae_version(),
            "torch": torch.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "class": type(estimator).__name__,
        "params": params,
        "fitted": {
            name: _to_json(value) for name, value in _fitted_attributes(estimator)
        },
        "history": [_to_json(dict(epoch)) for epoch in estimator.net_.history],
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
    }
    # everything is serialised before the file is touched
    manifest_bytes = json.dumps(manifest, indent=1, allow_nan=True).encode()
    _write_atomically(
        path,
        {
            "manifest.json": manifest_bytes,
            "manifest.sha256": hashlib.sha256(manifest_bytes).hexdigest().encode(),
            "weights.pt": weights,
        },
    )


def _write_atomically(path, members):
    """Write a zip of ``members`` to a temporary file beside ``path``, flush
    it to disk, then move it over ``path`` in one step (``os.replace``)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".skae-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as z:
                for name, data in members.items():
                    z.writestr(name, data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


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
    estimator : BaseAutoencoder
        The fitted estimator, of the class that was saved; its transforms
        equal the saved model's.

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
    manifest, weights = _read(path)
    try:
        return _build(path, manifest, weights, device, encoder, decoder)
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(
            f"{path} is not a valid skae model file (its manifest is "
            f"inconsistent: {type(exc).__name__}: {exc})."
        ) from exc


def _build(path, manifest, weights, device, encoder, decoder):
    classes = _classes()
    cls = classes.get(manifest.get("class"))
    if cls is None:
        raise ValueError(
            f"{path} names the class {manifest.get('class')!r}, which is not a "
            f"skae estimator (expected one of {sorted(classes)}); refusing to load it."
        )
    if hashlib.sha256(weights).hexdigest() != manifest.get("weights_sha256"):
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
    for name, value in manifest["fitted"].items():
        setattr(estimator, name, _from_json(value))
    estimator._fitted_params = estimator.get_params(deep=False)
    net = estimator._new_net(
        estimator.n_features_in_,
        target,
        likelihood(estimator.loss_),
        max_epochs=estimator._epochs(estimator.n_samples_seen_),
        batch_size=estimator.batch_size,
        train_split=None,
        callbacks=[],
        verbose=0,
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


# ----------------------------------------------------------------- helpers


def _skae_version():
    from . import __version__

    return __version__


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


def _read(path):
    """The manifest (checked against its checksum) and the weights' bytes;
    anything wrong with the file is a ValueError."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = {}
            for name in ("manifest.json", "manifest.sha256", "weights.pt"):
                info = archive.getinfo(name)
                if info.file_size > max(
                    MAX_MEMBER_BYTES, MAX_RATIO * info.compress_size
                ):
                    raise ValueError(
                        f"its member {name} declares {info.file_size} bytes from "
                        f"{info.compress_size} compressed, more than a model file holds"
                    )
                members[name] = archive.read(name)
    except ValueError as exc:
        raise ValueError(
            f"{path} is not a skae model file (written by skae.save): {exc}"
        ) from exc
    except (
        zipfile.BadZipFile,
        KeyError,
        OSError,
        EOFError,
        NotImplementedError,
        zlib.error,
        RuntimeError,
        UnicodeError,
    ) as exc:
        raise ValueError(
            f"{path} is not a skae model file (written by skae.save), or it is "
            f"damaged: {type(exc).__name__}: {exc}"
        ) from exc
    manifest_bytes = members["manifest.json"]
    if (
        hashlib.sha256(manifest_bytes).hexdigest().encode()
        != members["manifest.sha256"]
    ):
        raise ValueError(
            f"{path}: the manifest does not match its checksum; the file was "
            "altered or corrupted. Refusing to load it."
        )
    try:
        manifest = json.loads(manifest_bytes)
    except (json.JSONDecodeError, UnicodeError) as exc:
        raise ValueError(f"{path} is not a skae model file: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{path} is not a skae model file (written by skae.save).")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path} was written in skae model format {version!r} (by skae "
            f"{manifest.get('versions', {}).get('skae')}); this skae "
            f"({_skae_version()}) reads format {FORMAT_VERSION} only. Load it with "
            "the skae version that wrote it."
        )
    return manifest, members["weights.pt"]


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
