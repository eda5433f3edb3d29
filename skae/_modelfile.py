"""The model file's container: what ``skae.save`` writes to disk and
``skae.load`` reads back, knowing nothing of estimators.

A model file is one zip holding

- ``manifest.json``: a record (a JSON object, from :mod:`skae._persistence`)
  framed by the format's name and version, the versions of skae, torch and
  scikit-learn that wrote it, and the SHA-256 of the weights;
- ``manifest.sha256``: the SHA-256 of the manifest;
- ``weights.pt``: the weights' bytes.

:func:`write` serialises everything before it touches the file, then writes
it to a temporary file beside the target and moves it over the target only
when complete. :func:`read` refuses oversized members before reading them,
and any damaged or edited manifest, one nested deeper than ``MAX_DEPTH``,
foreign file or other format version; every such refusal is a ValueError.
"""

import hashlib
import json
import os
import tempfile
import zipfile
import zlib

import sklearn
import torch

FORMAT = "skae-model"
#: Bumped whenever a file written by this version could be misread by an
#: older reader, or a file of an older version by this reader.
FORMAT_VERSION = 2

#: No member of a model file is decompressed beyond this many bytes, nor
#: beyond this ratio to its compressed size (weights barely compress; a
#: crafted file declaring gigabytes is refused before anything is read).
MAX_MEMBER_BYTES = 64 * 2**20
MAX_RATIO = 200

#: No manifest nests deeper than this (a model file's nests about six
#: levels); deeper is refused before anything walks it.
MAX_DEPTH = 32


def write(path, record, weights):
    """Write the model file of ``record`` (a JSON-ready dict) and ``weights``
    (bytes) to ``path``, replacing any file there only once it is complete."""
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": {
            "skae": _skae_version(),
            "torch": torch.__version__,
            "scikit-learn": sklearn.__version__,
        },
        **record,
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


def read(path):
    """The manifest (checked against its checksum) and the weights' bytes;
    anything wrong with the file is a ValueError (a path with no readable
    file at it, open's OSError: FileNotFoundError, say). The weights are not checked
    here: the reader checks them against the manifest's ``weights_sha256``."""
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
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise  # no file to read (an OSError naming the path, as open's)
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
    except (ValueError, RecursionError) as exc:
        # (JSONDecodeError, UnicodeError and an integer of too many digits
        # are ValueErrors; json's decoder recurses once a level)
        raise ValueError(
            f"{path} is not a skae model file: its manifest is not JSON that "
            f"skae reads ({type(exc).__name__}: {exc})"
        ) from exc
    if _depth(manifest) > MAX_DEPTH:
        raise ValueError(
            f"{path} is not a skae model file: its manifest nests deeper than "
            f"{MAX_DEPTH} levels."
        )
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


def _depth(value):
    """How deeply ``value`` (decoded JSON) nests, found without recursion."""
    deepest, level = 0, [value]
    while level:
        deepest += 1
        if deepest > MAX_DEPTH:
            return deepest
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
    return deepest


def _skae_version():
    from . import __version__

    return __version__
