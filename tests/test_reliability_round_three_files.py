"""Issue 31, model files: numpy layer widths, non-persistent buffers,
callbacks, and crafted manifests (every field checked before anything is
allocated; every refusal a ValueError naming the file and the field).

Crafted cases that allocate gigabytes on a reader without the checks run in
a child process whose address space is capped (``RLIMIT_AS``), so that
running these tests against such a reader fails instead of exhausting the
machine's memory.
"""

import hashlib
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import time
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback

import skae
from skae import (
    AutoencoderImputer,
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    SparseAutoencoder,
    VAETransformer,
)

FAST = dict(hidden_layer_sizes=(4,), max_iter=3, batch_size=16, random_state=0)

#: What a child process may allocate beyond what importing skae takes.
HEADROOM = 1536 * 2**20


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture
def X():
    return np.random.RandomState(0).randn(60, 5)


def _manifest(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("manifest.json"))


def _write(path, source, manifest_bytes):
    """``source``'s weights with ``manifest_bytes`` as its manifest, the
    manifest's checksum recomputed (as an attacker would), at ``path``."""
    with zipfile.ZipFile(source) as archive:
        weights = archive.read("weights.pt")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", manifest_bytes)
        archive.writestr("manifest.sha256", hashlib.sha256(manifest_bytes).hexdigest())
        archive.writestr("weights.pt", weights)


def _edited(tmp_path, source, edit, name="edited.skae"):
    manifest = _manifest(source)
    edit(manifest)
    path = tmp_path / name
    _write(path, source, json.dumps(manifest).encode())
    return path


def _outputs(model, X):
    """Every output a loaded model must reproduce."""
    if isinstance(model, AutoencoderOutlierDetector):
        return [model.score_samples(X), model.predict(X)]
    if isinstance(model, AutoencoderImputer):
        X = X.copy()
        X[::4, 1] = np.nan
        return [model.transform(X)]
    return [model.transform(X), model.inverse_transform(model.transform(X))]


# 4. numpy layer widths ---------------------------------------------------------


def test_numpy_layer_sizes_round_trip(X, tmp_path):
    model = AutoencoderTransformer(
        2,
        **{**FAST, "hidden_layer_sizes": np.array([6, 4])},
        decoder_layer_sizes=np.arange(3, 5),
    ).fit(X)
    skae.save(model, tmp_path / "m.skae")
    params = _manifest(tmp_path / "m.skae")["params"]
    assert params["hidden_layer_sizes"] == [6, 4]  # plain JSON, as a tuple is
    assert params["decoder_layer_sizes"] == [3, 4]
    loaded = skae.load(tmp_path / "m.skae")
    assert loaded.hidden_layer_sizes == (6, 4)
    assert loaded.decoder_layer_sizes == (3, 4)
    for got, want in zip(_outputs(loaded, X), _outputs(model, X), strict=True):
        np.testing.assert_array_equal(got, want)


def test_files_with_numpy_layer_sizes_from_before_the_fix_load(X, tmp_path):
    # skae.save wrote a numpy array of widths as an array record
    model = AutoencoderTransformer(2, **{**FAST, "hidden_layer_sizes": (6, 4)}).fit(X)
    skae.save(model, tmp_path / "m.skae")

    def as_array(m):
        m["params"]["hidden_layer_sizes"] = {"ndarray": [6, 4], "dtype": "<i8"}

    loaded = skae.load(_edited(tmp_path, tmp_path / "m.skae", as_array))
    assert loaded.hidden_layer_sizes == (6, 4)
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


# 11. non-persistent buffers ----------------------------------------------------


class CentringEncoder(torch.nn.Module):
    """An encoder whose output is centred by a running mean it updates in
    training, kept in a non-persistent buffer (not in the ``state_dict``)."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(5, 6)
        self.register_buffer("running_mean", torch.zeros(6), persistent=False)

    def forward(self, x):
        h = torch.tanh(self.linear(x))
        if self.training:
            with torch.no_grad():
                self.running_mean.mul_(0.5).add_(0.5 * h.mean(0))
        return h - self.running_mean


def test_non_persistent_buffers_are_saved(X, tmp_path):
    model = AutoencoderTransformer(2, encoder=CentringEncoder(), **FAST).fit(X * 3 + 1)
    trained = model.net_.module_.encoder.running_mean.clone()
    assert trained.abs().max() > 0.01  # training changed it
    skae.save(model, tmp_path / "m.skae")
    handed = CentringEncoder()
    loaded = skae.load(tmp_path / "m.skae", encoder=handed)
    assert torch.equal(loaded.net_.module_.encoder.running_mean, trained)
    assert torch.equal(handed.running_mean, torch.zeros(6))  # not changed
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    assert "running_mean" not in "".join(model.net_.module_.state_dict())


def test_buffer_names_not_in_the_network_are_refused(X, tmp_path):
    model = AutoencoderTransformer(2, encoder=CentringEncoder(), **FAST).fit(X)
    skae.save(model, tmp_path / "m.skae")

    def rename(m):
        m["non_persistent_buffers"] = ["encoder.other"]

    path = _edited(tmp_path, tmp_path / "m.skae", rename)
    with pytest.raises(ValueError, match="non_persistent_buffers"):
        skae.load(path, encoder=CentringEncoder)


class ItemEncoder(torch.nn.Module):
    """An encoder that cannot run on torch's meta device (``.item()``)."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(5, 6)

    def forward(self, x):
        return torch.tanh(self.linear(x)) / (1.0 + x.abs().max().item())


def test_modules_that_cannot_run_on_the_meta_device_load(X, tmp_path):
    model = AutoencoderTransformer(2, encoder=ItemEncoder(), **FAST).fit(X)
    skae.save(model, tmp_path / "m.skae")
    loaded = skae.load(tmp_path / "m.skae", encoder=ItemEncoder)
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))

    def wide(m):
        m["params"]["hidden_layer_sizes"] = [512]  # the default: unused
        m["params"]["decoder_layer_sizes"] = [1000]  # harmless on any reader

    with pytest.raises(ValueError, match="build more weights than the"):
        skae.load(_edited(tmp_path, tmp_path / "m.skae", wide), encoder=ItemEncoder)


# minor: callbacks --------------------------------------------------------------


class RecordsAScore(Callback):
    def on_epoch_end(self, net, **kwargs):
        net.history.record("my_score", 0.5)


def test_model_with_callbacks_is_saved_without_them_with_a_warning(X, tmp_path):
    model = AutoencoderTransformer(2, callbacks=[RecordsAScore()], **FAST).fit(X)
    with pytest.warns(UserWarning, match="saved without them.*RecordsAScore|Records"):
        skae.save(model, tmp_path / "m.skae")
    loaded = skae.load(tmp_path / "m.skae")
    assert loaded.callbacks is None
    assert loaded.net_.history[-1, "my_score"] == 0.5  # its log is kept
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    loaded.partial_fit(X)  # continues, without the callback


# 13. crafted manifests ---------------------------------------------------------


@pytest.fixture
def saved(X, tmp_path):
    """A saved model, detector and imputer: {kind: (path, fitted object)}."""
    out = {}
    model = AutoencoderTransformer(2, **FAST).fit(X)
    detector = AutoencoderOutlierDetector(AutoencoderTransformer(2, **FAST)).fit(X)
    X_missing = X.copy()
    X_missing[::3, 0] = np.nan
    imputer = AutoencoderImputer(
        AutoencoderTransformer(2, **FAST), add_indicator=True
    ).fit(X_missing)
    for kind, fitted in [
        ("model", model),
        ("detector", detector),
        ("imputer", imputer),
    ]:
        skae.save(fitted, tmp_path / f"{kind}.skae")
        out[kind] = (tmp_path / f"{kind}.skae", fitted)
    return out


def _set(*keys, value):
    def edit(m):
        for key in keys[:-1]:
            m = m[key]
        m[keys[-1]] = value

    return edit


#: (which file, the edit, what the ValueError must say). These need little
#: memory on any reader.
CRAFTED = {
    "offset_ wrong length": (
        "model",
        _set("fitted", "offset_", value={"ndarray": [0.0] * 3, "dtype": "<f8"}),
        r"fitted\.offset_ has the wrong shape",
    ),
    "offset_ a scalar": (
        "model",
        _set("fitted", "offset_", value=0.5),
        r"fitted\.offset_ must be an array",
    ),
    "history of numbers": (
        "model",
        _set("history", value=[1, 2]),
        r"history has the wrong shape|history\[0\] must be an object",
    ),
    "history an object": (
        "model",
        _set("history", value={"epoch": 1}),
        r"history must be a list",
    ),
    "detector offset_ NaN": (
        "detector",
        _set("fitted", "offset_", value=math.nan),
        r"fitted\.offset_ must be a finite number",
    ),
    "scale_ zero": (
        "model",
        _set("fitted", "scale_", value=0.0),
        r"fitted\.scale_ must lie in",
    ),
    "n_iter_ a string": (
        "model",
        _set("fitted", "n_iter_", value="3"),
        r"fitted\.n_iter_ must be an integer",
    ),
    "loss_curve_ too short": (
        "model",
        _set("fitted", "loss_curve_", value=[1.0]),
        r"fitted\.loss_curve_ has the wrong shape",
    ),
    "loss_ unknown": (
        "model",
        _set("fitted", "loss_", value="hinge"),
        r"fitted\.loss_ must be one of",
    ),
    "feature names of numbers": (
        "model",
        _set("fitted", "feature_names_in_", value={"ndarray": [1] * 5, "dtype": "|O"}),
        r"fitted\.feature_names_in_ must hold strings",
    ),
    "hidden_layer_sizes of strings": (
        "model",
        _set("params", "hidden_layer_sizes", value=["4"]),
        r"params\.hidden_layer_sizes\[0\] must be an integer",
    ),
    "an unknown parameter": (
        "model",
        _set("params", "surprise", value=1),
        r"params\.surprise is not a AutoencoderTransformer one",
    ),
    "callbacks recorded": (
        "model",
        _set("params", "callbacks", value=[]),
        r"params\.callbacks must be null",
    ),
    "imputer _empty as a list": (
        "imputer",
        _set("fitted", "_empty", value=[False] * 5),
        r"fitted\._empty must be an array",
    ),
    "imputer fill values nested": (
        "imputer",
        _set("estimator", "missing_fill", value=[[0.0]] * 5),
        r"missing_fill .*\[0\] must be a number",
    ),
    "detector's model n_features_in_ a float": (
        "detector",
        _set("estimator", "fitted", "n_features_in_", value=5.0),
        r"fitted\.n_features_in_ must be an integer",
    ),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_manifest_is_a_value_error_naming_the_field(saved, tmp_path, case):
    kind, edit, match = CRAFTED[case]
    path = _edited(tmp_path, saved[kind][0], edit)
    with pytest.raises(ValueError, match=match) as info:
        skae.load(path)
    assert str(path) in str(info.value)


def test_deeply_nested_manifest_is_a_value_error(saved, tmp_path):
    source = saved["model"][0]
    for depth in (40, 100_000):  # beyond the cap; beyond json's recursion
        manifest = _manifest(source)
        manifest["fitted"]["loss_curve_"] = "NEST"
        text = json.dumps(manifest).replace('"NEST"', "[" * depth + "]" * depth)
        path = tmp_path / f"nested{depth}.skae"
        _write(path, source, text.encode())
        with pytest.raises(ValueError, match="nests deeper|not JSON"):
            skae.load(path)


#: Crafted cases that allocate gigabytes on a reader that does not check
#: the sizes against each other and the weights first (run capped).
HUNGRY = {
    "a 100-megabyte-per-entry dtype": (
        _set("fitted", "offset_", value={"ndarray": [""] * 5, "dtype": "<U100000000"}),
        r"fitted\.offset_ has dtype",
    ),
    "n_features_in_ = 10**9": (
        _set("fitted", "n_features_in_", value=10**9),
        r"fitted\.offset_ has the wrong shape",
    ),
    "a hidden layer of 10**9 units": (
        _set("params", "hidden_layer_sizes", value=[10**9]),
        r"saved weights do not fit .*hidden_layer_sizes=\(1000000000,\)",
    ),
    "n_components = 10**9": (
        lambda m: (
            _set("params", "n_components", value=10**9)(m),
            _set("fitted", "n_components_", value=10**9)(m),
        ),
        r"saved weights do not fit .*n_components=1000000000",
    ),
}


_CHILD = r"""
import json, resource, sys
import skae
vm = int([l for l in open("/proc/self/status") if l.startswith("VmSize")][0].split()[1])
limit = vm * 1024 + int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
out = []
for path in sys.argv[2:]:
    try:
        skae.load(path)
        out.append(["loaded", ""])
    except BaseException as exc:
        out.append([type(exc).__name__, str(exc)[:2000]])
print(json.dumps(out))
"""


def _load_capped(paths, headroom=HEADROOM):
    """skae.load of each path in a child process that may allocate at most
    ``headroom`` bytes beyond its imports: [(outcome, message)]."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(headroom), *map(str, paths)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS, /proc")
@pytest.mark.slow
def test_crafted_sizes_are_refused_before_allocating(saved, tmp_path):
    source = saved["model"][0]
    names = sorted(HUNGRY)
    paths = [
        _edited(tmp_path, source, HUNGRY[name][0], f"hungry{i}.skae")
        for i, name in enumerate(names)
    ]
    outcomes = _load_capped([source, *paths])
    assert outcomes[0] == ["loaded", ""]  # the cap leaves room for a real load
    wrong = [
        (name, outcome, message)
        for name, path, (outcome, message) in zip(
            names, paths, outcomes[1:], strict=True
        )
        if not (
            outcome == "ValueError"
            and str(path) in message
            and re.search(HUNGRY[name][1], message)
        )
    ]
    assert not wrong


# the fuzzer --------------------------------------------------------------------

#: Replacement values: wrong types, huge sizes, non-finite numbers, strings
#: and dtype strings (each tried where any value sits in a manifest).
REPLACEMENTS = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2,
    7,
    1.5,
    -0.0,
    10**9,
    10**18,
    2**63,
    10**40,
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    "",
    "x",
    "mse",
    "cuda:7",
    "<U100000000",
    "|V100000000",
    "<f16",
    "S1000000000",
    "<M8[ns]",
    "|O",
    "<c16",
    [],
    [1, 2],
    [[]],
    {},
    {"ndarray": [], "dtype": "<f8"},
    {"ndarray": [1.0] * 5, "dtype": "<U100000000"},
    {"ndarray": [[1.0, 2.0]] * 5, "dtype": "<f8"},
    {"module": "os.system"},
]


def _places(value, where=()):
    """Every (path, value) in decoded JSON, the containers included."""
    yield where, value
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in items:
        yield from _places(child, (*where, key))


def _mutate(manifest, rng):
    """A copy of ``manifest`` with one structured change, and its text."""
    manifest = json.loads(json.dumps(manifest))
    how = rng.randrange(8)
    if how == 7:  # a size made huge: any whole number (n_features_in_, ...)
        places = [p for p, v in _places(manifest) if p and _is_number(v)]
        places = [p for p in places if isinstance(_at(manifest, p), int)]
    else:
        places = [p for p, _ in _places(manifest) if p]
    where = rng.choice(places)
    parent = manifest
    for key in where[:-1]:
        parent = parent[key]
    key, value = where[-1], parent[where[-1]]
    nest = None
    if how == 7:
        parent[key] = rng.choice([10**6, 10**9, 10**12])
    elif how <= 2:  # any replacement
        parent[key] = rng.choice(REPLACEMENTS)
    elif how == 3 and isinstance(value, list):  # a length changed
        parent[key] = rng.choice([value[:-1], value + value[-1:], value + value, []])
    elif how == 3 and isinstance(value, dict) and value:  # a key dropped
        value.pop(rng.choice(sorted(value)))
    elif how == 4:  # a number pushed far
        if isinstance(value, int | float) and not isinstance(value, bool):
            parent[key] = rng.choice([value * 10**6, -value, value + 1, value - 1])
        else:
            parent[key] = rng.choice(REPLACEMENTS)
    elif how == 5:  # nested
        parent[key] = "NEST"
        nest = rng.choice([2, 31, 40, 5000])
    else:  # an extra key, or the value wrapped in a list
        if isinstance(value, dict):
            value[rng.choice(["extra_", "__dict__", "predict", "ndarray"])] = 1
        else:
            parent[key] = [value]
    text = json.dumps(manifest)
    if nest:
        text = text.replace('"NEST"', "[" * nest + "1" + "]" * nest)
    changed = parent[key] if isinstance(parent, list) or key in parent else None
    return text.encode(), (where, how, _is_number(value) and _is_number(changed))


def _at(value, where):
    for key in where:
        value = value[key]
    return value


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def _tried_to_allocate(exc):
    """Whether ``exc`` comes from an allocation that failed (beyond the
    child's cap), whatever wraps it."""
    while exc is not None:
        if isinstance(exc, MemoryError) or "allocate" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class _Slow(Exception):
    pass


def _too_slow(signum, frame):
    raise _Slow


def _parameter(mutation):
    """Whether a mutation changed a parameter (of a model or a wrapper)."""
    where = mutation[0]
    return where[0] == "params" or where[:2] == ("estimator", "params")


def _fuzz(sources, X, budget_s, max_cases, seed=0, traced_every=10, case_s=5.0):
    """Mutate each source's manifest, recompute its checksum and load it:
    each case is a ValueError, or loads a model whose outputs equal the
    source's, or (only when a number was changed into another number, a
    parameter into another value its checks accept, or the imputer's
    indicator into other feature indices, which no check can tell from a
    real model: the checksum is recomputed) loads a working model, whose
    outputs have the source's rows and dtypes. Every
    ``traced_every``-th case is traced (its peak Python and numpy
    allocation). A case is stopped after ``case_s`` seconds (allowed for a
    parameter edit only). Stops after ``budget_s`` seconds or ``max_cases``
    cases."""
    rng = random.Random(seed)
    expected = {path: _outputs(fitted, X) for path, fitted in sources}
    manifests = {path: _manifest(path) for path, _ in sources}
    outcomes = {"identical": 0, "refused": 0, "another number": 0, "slow": 0}
    signal.signal(signal.SIGALRM, _too_slow)
    failures, peaks = [], []
    start = time.monotonic()
    case = 0
    target = sources[0][0].parent / "fuzzed.skae"
    while case < max_cases and time.monotonic() - start < budget_s:
        source, _ = sources[case % len(sources)]
        text, mutation = _mutate(manifests[source], rng)
        _write(target, source, text)
        traced = case % traced_every == 0
        if traced:
            tracemalloc.start()
        signal.setitimer(signal.ITIMER_REAL, case_s)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loaded = skae.load(target)
            got = _outputs(loaded, X)
            pairs = list(zip(got, expected[source], strict=True))
            if all(np.array_equal(a, b, equal_nan=True) for a, b in pairs):
                outcomes["identical"] += 1
            else:
                # the imputer's indicator: which features had missing entries
                indicator = mutation[0][:3] == ("fitted", "indicator_", "features_")
                assert mutation[2] or _parameter(mutation) or indicator, (
                    "a load that differs, not from a valid edit"
                )
                for a, b in pairs:
                    assert a.dtype == b.dtype and len(a) == len(b)
                outcomes["another number"] += 1
        except ValueError as exc:
            if _tried_to_allocate(exc):  # refused only by the capped memory
                failures.append((mutation, "allocation", str(exc)[:300]))
            outcomes["refused"] += 1
        except _Slow:
            # a parameter that asks for much work (n_passes=10**9, say) is
            # a model someone may save; anything else must be quick
            if not _parameter(mutation):
                failures.append((mutation, "slow", f"over {case_s} s"))
            outcomes["slow"] += 1
        except Exception as exc:  # noqa: BLE001 - the failures are collected
            failures.append((mutation, type(exc).__name__, str(exc)[:300]))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            if traced:
                peaks.append((tracemalloc.get_traced_memory()[1], mutation))
                tracemalloc.stop()
        case += 1
    return case, outcomes, failures, peaks


def _fuzz_sources(directory, X):
    """Saved models of every kind the fuzzer mutates: [(path, fitted)]."""
    X_missing = X.copy()
    X_missing[::3, 0] = np.nan
    fitted = {
        "model": AutoencoderTransformer(2, **FAST).fit(X),
        "detector": AutoencoderOutlierDetector(AutoencoderTransformer(2, **FAST)).fit(
            X
        ),
        "imputer": AutoencoderImputer(
            AutoencoderTransformer(2, **FAST), add_indicator=True
        ).fit(X_missing),
        "vae": VAETransformer(2, **FAST).fit(X),
        "sparse": SparseAutoencoder(2, **FAST).fit(X),
    }
    sources = []
    for kind, model in fitted.items():
        path = directory / f"{kind}.skae"
        skae.save(model, path)
        sources.append((path, model))
    return sources


def _fuzz_child(directory, budget_s, max_cases):
    """The fuzzer's run in the capped child process: prints its results."""
    import pathlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = np.random.RandomState(0).randn(60, 5)
        sources = _fuzz_sources(pathlib.Path(directory), X)
    cases, outcomes, failures, peaks = _fuzz(sources, X, budget_s, max_cases)
    worst = max(peaks, key=lambda p: p[0])
    print(json.dumps([cases, outcomes, failures, [worst[0], repr(worst[1])]]))


_FUZZ_CHILD = r"""
import importlib.util, resource, sys
vm = int([l for l in open("/proc/self/status") if l.startswith("VmSize")][0].split()[1])
spec = importlib.util.spec_from_file_location("fuzzed_files", sys.argv[1])
tests = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tests)
vm = int([l for l in open("/proc/self/status") if l.startswith("VmSize")][0].split()[1])
limit = vm * 1024 + tests.HEADROOM
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
tests._fuzz_child(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS, /proc")
@pytest.mark.slow
def test_structured_manifest_mutations_load_identically_or_raise_value_error(tmp_path):
    # bounded for CI: 20 s or 1000 cases, whichever comes first, in a child
    # whose address space is capped (HEADROOM beyond its imports)
    done = subprocess.run(
        [sys.executable, "-c", _FUZZ_CHILD, __file__, str(tmp_path), "20", "1000"],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    cases, outcomes, failures, (peak, worst) = json.loads(
        done.stdout.strip().splitlines()[-1]
    )
    assert not failures, failures[:5]
    assert cases >= 50  # not vacuous on a slow machine
    assert outcomes["refused"] > 0.5 * cases
    assert peak < 64 * 2**20, (peak, worst)  # traced Python and numpy memory
