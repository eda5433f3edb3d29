"""Reliability, round two: saves never destroy a file, a model file is the
fitted model, warm starts obey their parameters, threads do not share
randomness, refits are published in one step, numerics at the edges."""

import errno
import hashlib
import json
import os
import random
import shutil
import subprocess
import threading
import warnings
import zipfile

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

import skae
from skae import AutoencoderTransformer, SparseAutoencoder, VAETransformer

SMALL = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).normal(size=(60, 6))


@pytest.fixture
def good_file(X, tmp_path):
    path = tmp_path / "m.skae"
    skae.save(AutoencoderTransformer(2, **SMALL).fit(X), path)
    return path


def _same_file(path, data):
    assert path.read_bytes() == data
    assert skae.load(path).transform(np.zeros((1, 6))).shape == (1, 2)
    # no temporary file is left beside it
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


# 1. a failed save never destroys the file already there ------------------------


def test_numpy_scalar_parameters_save(X, tmp_path):
    # what GridSearchCV over np.arange leaves behind
    model = AutoencoderTransformer(
        np.int64(2), penalty="l2", alpha=np.float64(0.5), **SMALL
    )
    skae.save(model.fit(X), tmp_path / "m.skae")
    loaded = skae.load(tmp_path / "m.skae")
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


def test_unserialisable_parameter_keeps_the_old_file(X, good_file, monkeypatch):
    before = good_file.read_bytes()
    model = AutoencoderTransformer(2, **SMALL).fit(X)

    def unserialisable(*args, **kwargs):
        raise TypeError("Object of type Foo is not JSON serializable")

    monkeypatch.setattr(json, "dumps", unserialisable)
    with pytest.raises(TypeError, match="not JSON serializable"):
        skae.save(model, good_file)
    monkeypatch.undo()
    _same_file(good_file, before)


def test_interrupt_mid_write_keeps_the_old_file(X, good_file, monkeypatch):
    before = good_file.read_bytes()
    real = zipfile.ZipFile.writestr

    def interrupted(self, name, data, *args, **kwargs):
        if name == "weights.pt":
            raise KeyboardInterrupt
        return real(self, name, data, *args, **kwargs)

    model = AutoencoderTransformer(2, **SMALL).fit(X)
    monkeypatch.setattr(zipfile.ZipFile, "writestr", interrupted)
    with pytest.raises(KeyboardInterrupt):
        skae.save(model, good_file)
    monkeypatch.undo()
    _same_file(good_file, before)


def _tiny_filesystem(path):
    """Mount a 64 kB tmpfs at ``path`` when this runs as root and may mount."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    os.makedirs(path, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)],
        capture_output=True,
    )
    return done.returncode == 0


def test_full_disk_keeps_the_old_file(X, tmp_path, monkeypatch):
    small = AutoencoderTransformer(2, hidden_layer_sizes=(4,), max_iter=1).fit(X)
    # about 70 kB of weights: more than the disk has left
    big = AutoencoderTransformer(2, hidden_layer_sizes=(2048,), max_iter=1).fit(X)
    where = tmp_path / "disk"
    mounted = _tiny_filesystem(where)
    try:
        if not mounted:  # not root: a write that fails as a full disk does
            where.mkdir()
            real = os.fsync

            def full(fd):
                if os.fstat(fd).st_size > 32_000:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return real(fd)

            monkeypatch.setattr(os, "fsync", full)
        path = where / "m.skae"
        skae.save(small, path)
        before = path.read_bytes()
        with pytest.raises(OSError) as excinfo:
            skae.save(big, path)
        assert excinfo.value.errno == errno.ENOSPC
        monkeypatch.undo()
        _same_file(path, before)
    finally:
        if mounted:
            subprocess.run(["umount", str(where)], check=True)


# 2. the file holds the network that was fitted -----------------------------------


@pytest.mark.parametrize(
    "change",
    [{"activation": "tanh"}, {"n_components": 3}, {"hidden_layer_sizes": (4,)}],
)
def test_set_params_after_fit_changes_nothing_saved(X, tmp_path, change):
    model = AutoencoderTransformer(2, **SMALL).fit(X)
    expected = model.transform(X)
    model.set_params(**change)
    skae.save(model, tmp_path / "m.skae")
    loaded = skae.load(tmp_path / "m.skae")
    np.testing.assert_array_equal(loaded.transform(X), expected)
    assert loaded.get_params()["activation"] == "relu"


# 3. warm starts and partial_fit obey their parameters ----------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"n_components": 3},
        {"hidden_layer_sizes": (4,)},
        {"activation": "tanh"},
        {"dropout": 0.2},
        {"code_activation": "relu"},
        {"penalty": "l2"},
    ],
)
@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_changed_architecture_is_an_error_naming_it(X, change, how):
    model = AutoencoderTransformer(2, **SMALL).fit(X)
    before = model.transform(X)
    model.set_params(**change)
    name = next(iter(change))
    with pytest.raises(ValueError, match=f"{name} \\(fitted"):
        if how == "warm_start":
            model.set_params(warm_start=True).fit(X)
        else:
            model.partial_fit(X)
    np.testing.assert_array_equal(model.transform(X), before)


def test_training_parameters_take_effect_on_continuation(X):
    model = SparseAutoencoder(2, **SMALL).fit(X)
    model.set_params(
        warm_start=True, learning_rate_init=0.05, weight_decay=0.01, alpha=0.7
    ).fit(X)
    group = model.net_.optimizer_.param_groups[0]
    assert model.net_.lr == group["lr"] == 0.05
    assert group["weight_decay"] == 0.01 and model.net_.alpha == 0.7
    model.set_params(learning_rate_init=0.02, alpha=0.1).partial_fit(X)
    assert model.net_.optimizer_.param_groups[0]["lr"] == 0.02
    assert model.net_.alpha == 0.1
    vae = VAETransformer(2, **SMALL).fit(X)
    vae.set_params(beta=3.0).partial_fit(X)
    assert vae.net_.beta == 3.0 and vae.kl_weight_curve_[-1] == 3.0


def test_vae_partial_fit_ignores_kl_warmup_beyond_max_iter(X):
    vae = VAETransformer(2, kl_warmup=10, max_iter=3, hidden_layer_sizes=(8,))
    vae.partial_fit(X)  # max_iter does not apply to partial_fit
    assert vae.n_iter_ == 1
    with pytest.raises(ValueError, match="kl_warmup=10"):
        clone(vae).fit(X)


# 4. threads do not share randomness ------------------------------------------------


def test_fits_in_threads_equal_the_sequential_fit(X):
    est = AutoencoderTransformer(
        2, hidden_layer_sizes=(16,), max_iter=20, random_state=0
    )
    expected = clone(est).fit(X).transform(X)
    torch.manual_seed(1234)
    caller_state = torch.get_rng_state()
    results = [None] * 4

    def fit(i):
        results[i] = clone(est).fit(X).transform(X)

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for result in results:
        np.testing.assert_array_equal(result, expected)
    assert torch.equal(torch.get_rng_state(), caller_state)


def test_grid_search_threading_backend_equals_sequential(X):
    grid = {"noise": [None, "gaussian"], "n_components": [1, 2]}
    est = AutoencoderTransformer(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    serial = GridSearchCV(est, grid, cv=2).fit(X)
    with joblib.parallel_backend("threading", n_jobs=4):
        threaded = GridSearchCV(est, grid, cv=2, n_jobs=4).fit(X)
    np.testing.assert_array_equal(
        serial.cv_results_["mean_test_score"], threaded.cv_results_["mean_test_score"]
    )


# 5. a refit is published in one step -------------------------------------------------


def test_readers_never_see_a_half_published_refit(X):
    X1, X2 = X, 3 * X[::-1] + 5
    model = AutoencoderTransformer(
        2, hidden_layer_sizes=(8,), max_iter=2, random_state=0
    )
    probe = X[:5]
    known = []
    for data in (X1, X2):
        fitted = clone(model).fit(data)
        known.append(fitted.score_samples(probe))
    model.fit(X1)
    stop = threading.Event()
    wrong = []

    def read():
        while not stop.is_set():
            # one call: encoder, decoder and scale_ of one fitted state
            out = model.score_samples(probe)
            if not any(np.array_equal(out, k) for k in known):
                wrong.append(out)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for r in readers:
        r.start()
    try:
        for i in range(12):
            model.fit(X2 if i % 2 == 0 else X1)
    finally:
        stop.set()
        for r in readers:
            r.join()
    assert wrong == []


def test_failed_fit_restores_in_one_step(X):
    model = AutoencoderTransformer(2, **SMALL).fit(X)
    state = model.__dict__
    with pytest.raises(ValueError):
        model.fit(np.full_like(X, np.nan))
    assert model.__dict__ is state  # never cleared, never touched


# 6. the file format is verified ------------------------------------------------


def test_edited_manifest_is_refused(good_file):
    with zipfile.ZipFile(good_file) as z:
        members = {n: z.read(n) for n in z.namelist()}
    manifest = json.loads(members["manifest.json"])
    manifest["fitted"]["offset_"]["ndarray"][0] += 20.3
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(good_file, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(ValueError, match="manifest does not match its checksum"):
        skae.load(good_file)


def test_fuzzed_files_load_identically_or_raise_value_error(X, tmp_path):
    model = AutoencoderTransformer(2, hidden_layer_sizes=(4,), max_iter=1).fit(X)
    path = tmp_path / "m.skae"
    skae.save(model, path)
    data = path.read_bytes()
    expected = model.transform(X)
    rng = random.Random(0)
    cases = [data[:n] for n in sorted(rng.sample(range(len(data)), 60))]
    for position in rng.sample(range(len(data)), 400):
        flipped = bytearray(data)
        flipped[position] ^= 1 << rng.randrange(8)
        cases.append(bytes(flipped))
    outcomes = {"identical": 0, "refused": 0}
    fuzzed = tmp_path / "fuzzed.skae"
    for case in cases:
        fuzzed.write_bytes(case)
        try:
            loaded = skae.load(fuzzed)
        except ValueError:
            outcomes["refused"] += 1
            continue
        np.testing.assert_array_equal(loaded.transform(X), expected)
        outcomes["identical"] += 1
    assert outcomes["refused"] > 300  # not vacuous: most damage is caught


def test_declared_sizes_are_capped_before_reading(good_file, monkeypatch):
    from skae import _modelfile

    monkeypatch.setattr(_modelfile, "MAX_MEMBER_BYTES", 100)
    monkeypatch.setattr(_modelfile, "MAX_RATIO", 1)
    read = []
    real = zipfile.ZipFile.read
    monkeypatch.setattr(
        zipfile.ZipFile, "read", lambda self, n, *a: read.append(n) or real(self, n, *a)
    )
    with pytest.raises(ValueError, match="declares .* bytes"):
        skae.load(good_file)
    assert "manifest.json" not in read  # refused from the declared size alone


def test_load_leaves_the_callers_torch_rng_alone(good_file):
    torch.manual_seed(7)
    state = torch.get_rng_state()
    skae.load(good_file)
    assert torch.equal(torch.get_rng_state(), state)


def test_manifest_checksum_is_of_the_manifest(good_file):
    with zipfile.ZipFile(good_file) as z:
        manifest, checksum = z.read("manifest.json"), z.read("manifest.sha256")
    assert hashlib.sha256(manifest).hexdigest().encode() == checksum


# 7. numerics --------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1e-170, 1e-160, 1e-30, 1e300])
def test_codes_do_not_depend_on_the_units(X, scale):
    unit = AutoencoderTransformer(2, loss="mse", **SMALL).fit(X)
    scaled = AutoencoderTransformer(2, loss="mse", **SMALL).fit(X * scale)
    assert scaled.scale_ == pytest.approx(unit.scale_ * scale, rel=1e-12)
    np.testing.assert_allclose(
        scaled.transform(X * scale), unit.transform(X), rtol=1e-5, atol=1e-6
    )


@pytest.mark.filterwarnings("ignore:invalid value encountered in reduce")
def test_float32_data_near_the_float32_limit_fits(X):
    # (scikit-learn's finiteness check sums X in float32 and warns; PCA too)
    X32 = (X / np.abs(X).max() * 3e38).astype(np.float32)
    model = AutoencoderTransformer(2, **SMALL).fit(X32)
    as64 = AutoencoderTransformer(2, **SMALL).fit(X32.astype(np.float64))
    np.testing.assert_allclose(model.transform(X32), as64.transform(X32), rtol=1e-4)


def test_float64_default_dtype(X):
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        for cls in (AutoencoderTransformer, VAETransformer):
            model = cls(2, **SMALL).fit(X)
            assert np.isfinite(model.transform(X)).all()
    finally:
        torch.set_default_dtype(old)


def test_weight_decay_beyond_float32_is_a_clear_error(X):
    with pytest.raises(ValueError, match="weight_decay=1e\\+300 is beyond float32"):
        AutoencoderTransformer(2, weight_decay=1e300, **SMALL).fit(X)


def test_validation_split_that_leaves_nothing_to_train_on(X):
    with pytest.raises(ValueError, match="leaves none to train on"):
        AutoencoderTransformer(
            2, early_stopping=True, validation_fraction=0.9, **SMALL
        ).fit(X[:3])


def test_hoyer_sparsity_of_one_column_is_an_error():
    with pytest.raises(ValueError, match="at least 2 columns"):
        skae.hoyer_sparsity(np.ones((3, 1)))


def test_float64_inference_copies_the_network_once(X, monkeypatch):
    import copy

    from skae import _inference

    model = AutoencoderTransformer(2, **SMALL).fit(X)
    copies = []
    real = copy.deepcopy

    def counting(obj, *args, **kwargs):
        if isinstance(obj, torch.nn.Module):
            copies.append(obj)
        return real(obj, *args, **kwargs)

    monkeypatch.setattr(_inference.copy, "deepcopy", counting)
    first = model.transform(X)
    for _ in range(5):
        np.testing.assert_array_equal(model.transform(X), first)
    assert len(copies) == 1
    # an in-place change of the weights is seen (torch's version counters)
    with torch.no_grad():
        next(model.net_.module_.parameters()).mul_(2.0)
    assert not np.array_equal(model.transform(X), first)
    assert len(copies) == 2
