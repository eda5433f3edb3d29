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
  containers only and refuses anything that would import or call code.

Both sit in one zip file.
"""

import hashlib
import io
import json
import pickle
import warnings
import zipfile

import numpy as np
import sklearn
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from ._autoencoder import AutoencoderTransformer
from ._base import resolve_device
from ._denoising import DenoisingAutoencoder
from ._sparse import SparseAutoencoder
from ._vae import VAETransformer

FORMAT = "skae-model"
#: Bumped whenever a file written by this version could be misread by an
#: older reader, or a file of an older version by this reader.
FORMAT_VERSION = 1

#: The classes a model file may name: nothing else is ever instantiated.
CLASSES = {
    cls.__name__: cls
    for cls in (
        AutoencoderTransformer,
        SparseAutoencoder,
        DenoisingAutoencoder,
        VAETransformer,
    )
}


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
    if type(estimator) not in CLASSES.values():
        raise TypeError(
            "skae.save saves fitted skae estimators; got "
            f"{type(estimator).__name__}. For a Pipeline, save its skae steps "
            "with skae.save and the rest with joblib or skops (see the user "
            "guide's section on persistence)."
        )
    check_is_fitted(estimator)
    params = estimator.get_params(deep=False)
    random_state = params["random_state"]
    if random_state is not None and not isinstance(random_state, int | np.integer):
        raise ValueError(
            "skae.save stores parameters as JSON and cannot store a "
            f"{type(random_state).__name__} as random_state. Set random_state "
            "to an int (or None) before fitting, or use pickle for trusted use."
        )
    params["random_state"] = None if random_state is None else int(random_state)
    params["hidden_layer_sizes"] = [int(h) for h in params["hidden_layer_sizes"]]
    params["device"] = str(params["device"])  # a torch.device is stored as its name

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
        "history": [dict(epoch) for epoch in estimator.net_.history],
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
        archive.writestr("weights.pt", weights)


def load(path, device=None):
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

    Returns
    -------
    estimator : AutoencoderTransformer, SparseAutoencoder, \
DenoisingAutoencoder or VAETransformer
        The fitted estimator; its transforms equal the saved model's.

    Raises
    ------
    ValueError
        If the file is not a skae model file, names a class that is not a
        skae estimator, was written by an incompatible format version, or
        its weights were altered or hold anything but tensors.

    See Also
    --------
    save : Write such a file.
    """
    manifest, weights = _read(path)
    cls = CLASSES.get(manifest.get("class"))
    if cls is None:
        raise ValueError(
            f"{path} names the class {manifest.get('class')!r}, which is not a "
            f"skae estimator (expected one of {sorted(CLASSES)}); refusing to load it."
        )
    if hashlib.sha256(weights).hexdigest() != manifest.get("weights_sha256"):
        raise ValueError(
            f"{path}: the weights do not match the checksum in the manifest; the "
            "file was altered or corrupted. Refusing to load it."
        )
    params = dict(manifest["params"])
    params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
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
    net = estimator._new_net(
        estimator.n_features_in_,
        target,
        max_epochs=estimator.max_iter,
        batch_size=estimator.batch_size,
        train_split=None,
        callbacks=[],
        verbose=0,
    )
    net.module_.load_state_dict(state)
    net.history = History(manifest["history"])
    estimator.net_ = net
    return estimator


# ----------------------------------------------------------------- helpers


def _skae_version():
    from . import __version__

    return __version__


def _read(path):
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            weights = archive.read("weights.pt")
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{path} is not a skae model file (written by skae.save): {exc}"
        ) from exc
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
    return manifest, weights


def _saved_device(saved):
    """The saved device when it exists here; the CPU, with a warning, when it
    is an accelerator this machine lacks."""
    try:
        return resolve_device(saved)
    except ValueError:
        if not saved.startswith(("cuda", "mps", "xpu")):
            raise
        warnings.warn(
            f"This model was saved with device={saved!r}, which is not available "
            "here; it is loaded on the CPU (its device parameter is now 'cpu').",
            UserWarning,
            stacklevel=3,
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
    return value


def _from_json(value):
    if isinstance(value, dict) and set(value) == {"ndarray", "dtype"}:
        dtype = np.dtype(value["dtype"])
        if dtype.kind not in "biufUO":
            raise ValueError(f"unsupported array dtype {dtype} in the manifest")
        return np.asarray(value["ndarray"], dtype=dtype)
    return value
