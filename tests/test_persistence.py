"""skae.save / skae.load: a model file that runs no code when loaded."""

import hashlib
import io
import json
import os
import pickle
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import FAST, fast_autoencoders, fast_imputers
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import skae

ESTIMATORS = fast_autoencoders()
IDS = [f"{type(e).__name__}-{i}" for i, e in enumerate(ESTIMATORS)]


def _fit(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clone(estimator).set_params(random_state=0).fit(X)


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).normal(size=(60, 6))


def _rewrite(path, manifest=None, weights=None):
    """Replace the manifest and/or the weights of a model file."""
    with zipfile.ZipFile(path) as archive:
        old_manifest = json.loads(archive.read("manifest.json"))
        old_weights = archive.read("weights.pt")
    manifest = old_manifest if manifest is None else manifest(old_manifest)
    weights = old_weights if weights is None else weights
    manifest = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", manifest)
        # as an attacker would: the manifest's checksum fixed too, so that
        # the checks behind it are reached
        archive.writestr("manifest.sha256", hashlib.sha256(manifest).hexdigest())
        archive.writestr("weights.pt", weights)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_round_trip_is_bit_identical(estimator, X, tmp_path):
    fitted = _fit(estimator, X)
    path = tmp_path / "model.skae"
    skae.save(fitted, path)
    loaded = skae.load(path)
    assert type(loaded) is type(fitted)
    assert loaded.get_params() == fitted.get_params()
    for X_in in (X, X.astype(np.float32)):
        np.testing.assert_array_equal(loaded.transform(X_in), fitted.transform(X_in))
        Z = fitted.transform(X_in)
        np.testing.assert_array_equal(
            loaded.inverse_transform(Z), fitted.inverse_transform(Z)
        )
    np.testing.assert_array_equal(loaded.score_samples(X), fitted.score_samples(X))
    assert loaded.loss_curve_ == fitted.loss_curve_
    assert loaded.n_iter_ == fitted.n_iter_ and loaded.loss_ == fitted.loss_
    np.testing.assert_array_equal(loaded.offset_, fitted.offset_)
    assert len(loaded.net_.history) == len(fitted.net_.history)


def test_loaded_model_keeps_feature_names_and_can_warm_start(X, tmp_path):
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    fitted = _fit(
        skae.AutoencoderTransformer(2, hidden_layer_sizes=(8,), max_iter=3), df
    )
    skae.save(fitted, tmp_path / "m.skae")
    loaded = skae.load(tmp_path / "m.skae")
    np.testing.assert_array_equal(loaded.feature_names_in_, fitted.feature_names_in_)
    assert list(loaded.get_feature_names_out()) == list(fitted.get_feature_names_out())
    loaded.set_params(warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        loaded.fit(df)
    assert loaded.n_iter_ == 6  # three saved epochs, three more


def test_save_refuses_what_it_cannot_store(X, tmp_path):
    with pytest.raises(NotFittedError):
        skae.save(skae.AutoencoderTransformer(), tmp_path / "m.skae")
    with pytest.raises(TypeError, match="saves fitted skae estimators"):
        skae.save(object(), tmp_path / "m.skae")
    est = skae.AutoencoderTransformer(2, hidden_layer_sizes=(4,), max_iter=1)
    est.set_params(random_state=np.random.RandomState(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
    with pytest.raises(ValueError, match="random_state to an int"):
        skae.save(est, tmp_path / "m.skae")


def _same_params(loaded, fitted):
    """Equal parameters, the unfitted ``estimator`` compared by its own."""
    ours, theirs = loaded.get_params(deep=False), fitted.get_params(deep=False)
    inner, given = ours.pop("estimator"), theirs.pop("estimator")
    assert ours == pytest.approx(theirs, nan_ok=True)
    assert (inner is None) == (given is None)
    if given is not None:
        assert type(inner) is type(given) and inner.get_params() == given.get_params()
        assert not hasattr(inner, "net_")  # unfitted, as it was given


def _fitted_edit(**changes):
    return lambda m: {**m, "fitted": {**m["fitted"], **changes}}


def _model_edit(**changes):
    return lambda m: {**m, "estimator": {**m["estimator"], **changes}}


def _bools(n):
    """An array record of ``n`` False values, as a model file holds it."""
    return {"ndarray": [False] * n, "dtype": "|b1"}


def _ints(*values):
    return {"ndarray": list(values), "dtype": "<i8"}


@pytest.mark.parametrize(
    "detector",
    [
        skae.AutoencoderOutlierDetector(
            skae.AutoencoderTransformer(random_state=0, **FAST), contamination=0.2
        ),
        skae.AutoencoderOutlierDetector(
            skae.VAETransformer(random_state=0, **FAST),
            validation_fraction=0.3,
            random_state=0,
        ),
    ],
    ids=["autoencoder", "vae-held-out-threshold"],
)
def test_a_detector_round_trips_bit_for_bit(detector, X, tmp_path):
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    fitted = _fit(detector, df)
    skae.save(fitted, tmp_path / "d.skae")
    loaded = skae.load(tmp_path / "d.skae")
    assert type(loaded) is type(fitted)
    _same_params(loaded, fitted)
    assert loaded.offset_ == fitted.offset_
    np.testing.assert_array_equal(loaded.feature_names_in_, fitted.feature_names_in_)
    new = df * 1.5
    for method in ("score_samples", "decision_function", "predict"):
        np.testing.assert_array_equal(
            getattr(loaded, method)(new), getattr(fitted, method)(new)
        )
    # the detector hands a DataFrame to its model as given (issue 31)
    np.testing.assert_array_equal(
        loaded.estimator_.transform(new), fitted.estimator_.transform(new)
    )


@pytest.mark.parametrize(
    "imputer",
    [
        *fast_imputers(),
        skae.AutoencoderImputer(missing_values=-1.0, keep_empty_features=True),
        skae.AutoencoderImputer(skae.SparseAutoencoder(4, **FAST), add_indicator=True),
    ],
    ids=["denoising", "indicator", "placeholder-default-model", "sparse"],
)
def test_an_imputer_round_trips_bit_for_bit(imputer, X, tmp_path):
    X_missing = X.copy()
    holes = np.random.RandomState(1).rand(*X.shape) < 0.3
    holes[:, 1] = True  # a feature missing everywhere
    holes[:, 4:] = False  # and two never missing: not in the indicator
    placeholder = imputer.missing_values
    X_missing[holes] = placeholder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the empty feature
        fitted = clone(imputer).fit(X_missing)
        skae.save(fitted, tmp_path / "i.skae")
        loaded = skae.load(tmp_path / "i.skae")
        assert type(loaded) is type(fitted)
        _same_params(loaded, fitted)
        new = X_missing[::-1].copy()
        out = fitted.transform(new)
        np.testing.assert_array_equal(loaded.transform(new), out)
    assert np.isfinite(out).all()
    assert out.shape[1] == X.shape[1] - 1 + imputer.keep_empty_features + (
        imputer.add_indicator * 4  # the features with missing entries
    )
    if imputer.add_indicator:
        np.testing.assert_array_equal(
            loaded.indicator_.features_, fitted.indicator_.features_
        )


def test_a_wrapper_is_saved_only_around_a_skae_model(X, tmp_path):
    from sklearn.decomposition import PCA

    detector = skae.AutoencoderOutlierDetector(PCA(2)).fit(X)
    with pytest.raises(TypeError, match="only when its model is a skae estimator"):
        skae.save(detector, tmp_path / "d.skae")
    assert not (tmp_path / "d.skae").exists()
    with pytest.raises(NotFittedError):
        skae.save(skae.AutoencoderImputer(), tmp_path / "i.skae")


@pytest.fixture
def saved(X, tmp_path):
    fitted = _fit(
        skae.AutoencoderTransformer(2, hidden_layer_sizes=(4,), max_iter=2), X
    )
    path = tmp_path / "m.skae"
    skae.save(fitted, path)
    return path


def test_a_pickle_payload_is_refused_and_never_runs(saved, tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    buffer = io.BytesIO()
    torch.save({"encoder.0.weight": Payload()}, buffer)
    evil = buffer.getvalue()
    # the attacker also fixes the checksum: only weights_only loading stops it
    _rewrite(
        saved,
        manifest=lambda m: {**m, "weights_sha256": hashlib.sha256(evil).hexdigest()},
        weights=evil,
    )
    with pytest.raises(ValueError, match="other than plain tensors"):
        skae.load(saved)
    assert not marker.exists()
    # not a vacuous pass: unpickled the usual way, the payload does run
    torch.load(io.BytesIO(evil), weights_only=False)
    assert marker.exists()


def test_tampered_weights_are_refused(saved):
    with zipfile.ZipFile(saved) as archive:
        weights = bytearray(archive.read("weights.pt"))
    weights[-100] ^= 0xFF
    _rewrite(saved, weights=bytes(weights))
    with pytest.raises(ValueError, match="altered or corrupted"):
        skae.load(saved)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda m: {**m, "class": "os.system"}, "not a skae estimator"),
        (lambda m: {**m, "class": "Pipeline"}, "not a skae estimator"),
        (lambda m: {**m, "format_version": 99}, "reads format 2 only"),
        (lambda m: {**m, "format": "other"}, "not a skae model file"),
        (lambda m: {**m, "params": {**m["params"], "max_iter": -1}}, "max_iter"),
        (_fitted_edit(transform=1), "not a fitted attribute"),
    ],
)
def test_bad_manifests_are_refused(saved, edit, match):
    _rewrite(saved, manifest=edit)
    with pytest.raises(ValueError, match=match):
        skae.load(saved)


@pytest.mark.parametrize(
    "edit, match",
    [
        (
            lambda m: {**m, "estimator": {**m["estimator"], "class": "PCA"}},
            "not a skae estimator",
        ),
        (
            lambda m: {**m, "params": {**m["params"], "estimator": "VAETransformer"}},
            "recorded as a 'VAETransformer'",
        ),
        (
            lambda m: {**m, "params": {**m["params"], "contamination": 2}},
            "contamination",
        ),
    ],
)
def test_bad_detector_manifests_are_refused(X, tmp_path, edit, match):
    path = tmp_path / "d.skae"
    detector = skae.AutoencoderOutlierDetector(
        skae.AutoencoderTransformer(random_state=0, **FAST)
    )
    skae.save(_fit(detector, X), path)
    _rewrite(path, manifest=edit)
    with pytest.raises(ValueError, match=match):
        skae.load(path)


def test_not_a_model_file(tmp_path):
    path = tmp_path / "x.skae"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a skae model file"):
        skae.load(path)


def test_gpu_model_loads_on_cpu_only_machine(saved, monkeypatch):
    # a file written on a GPU machine names device="cuda"; here torch sees no
    # GPU (patched, so that this runs on GPU machines too)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _rewrite(
        saved, manifest=lambda m: {**m, "params": {**m["params"], "device": "cuda"}}
    )
    with pytest.warns(UserWarning, match="loaded on the CPU"):
        loaded = skae.load(saved)
    assert loaded.device == "cpu"
    assert loaded.net_.module_.encoder[0].weight.device.type == "cpu"
    assert np.isfinite(loaded.transform(np.zeros((2, 6)))).all()
    # an explicit device that does not exist is an error, not a fallback
    with pytest.raises(ValueError, match="no CUDA GPU"):
        skae.load(saved, device="cuda")


def test_gpu_pickle_unpickles_on_cpu_only_machine(X, monkeypatch):
    # a pickle made on a GPU machine holds a net whose device is "cuda";
    # stand-in: a CPU model whose device says "cuda", unpickled where torch
    # (patched, so that this runs on GPU machines too) sees no GPU
    model = _fit(skae.AutoencoderTransformer(2, **FAST), X)
    expected = model.transform(X)
    model.device = model.net_.device = "cuda"
    blob = pickle.dumps(model)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = pickle.loads(blob)
    assert any("loaded on the CPU" in str(w.message) for w in caught)
    assert loaded.device == "cpu"
    assert torch.device(loaded.net_.device).type == "cpu"
    np.testing.assert_array_equal(loaded.transform(X), expected)


@pytest.mark.gpu
def test_gpu_trained_model_moves_to_cpu_by_pickle_and_by_file(X, tmp_path):
    model = _fit(skae.AutoencoderTransformer(2, device="cuda", **FAST), X)
    expected = model.transform(X)
    blob = pickle.dumps(model)
    skae.save(model, tmp_path / "m.skae")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.cuda, "is_available", lambda: False)
        with pytest.warns(UserWarning, match="loaded on the CPU"):
            from_pickle = pickle.loads(blob)
        with pytest.warns(UserWarning, match="loaded on the CPU"):
            from_file = skae.load(tmp_path / "m.skae")
    for loaded in (from_pickle, from_file):
        assert loaded.device == "cpu"
        weight = loaded.net_.module_.encoder[0].weight
        assert weight.device.type == "cpu"
        np.testing.assert_allclose(loaded.transform(X), expected, rtol=1e-5, atol=1e-6)


def test_a_detector_around_your_own_encoder_takes_it_back(X, tmp_path):
    from skae.nn import MLPEncoder

    model = skae.AutoencoderTransformer(
        2, encoder=MLPEncoder((8,)), random_state=0, **FAST
    )
    fitted = _fit(skae.AutoencoderOutlierDetector(model), X)
    skae.save(fitted, tmp_path / "d.skae")
    with pytest.raises(ValueError, match="pass the module"):
        skae.load(tmp_path / "d.skae")
    loaded = skae.load(tmp_path / "d.skae", encoder=MLPEncoder((8,)))
    np.testing.assert_array_equal(loaded.score_samples(X), fitted.score_samples(X))
    assert isinstance(loaded.estimator.encoder, MLPEncoder)


def test_a_wrapper_is_saved_as_fitted_whatever_was_set_after(X, tmp_path):
    from sklearn.decomposition import PCA

    model = skae.AutoencoderTransformer(2, random_state=0, **FAST)
    fitted = _fit(skae.AutoencoderOutlierDetector(model), X)
    fitted.set_params(estimator=PCA(2))  # preparing another fit, say
    skae.save(fitted, tmp_path / "d.skae")
    loaded = skae.load(tmp_path / "d.skae")
    assert type(loaded.estimator) is skae.AutoencoderTransformer
    assert loaded.estimator.get_params() == fitted.estimator_.get_params()
    np.testing.assert_array_equal(loaded.score_samples(X), fitted.score_samples(X))


@pytest.mark.parametrize(
    "edit, match",
    [
        (_fitted_edit(predict=1), "not a fitted attribute"),
        (_fitted_edit(__dict__={}), "not a fitted attribute"),
        (_fitted_edit(_empty=_bools(1)), "wrong shape"),
        (_fitted_edit(n_features_in_=7, _empty=_bools(7)), "inconsistent"),
        (
            _fitted_edit(indicator_={"features_": _ints(0, 99)}),
            "not increasing feature indices",
        ),
        (_model_edit(missing_fill=[0.0] * 99), "fill values"),
        (_fitted_edit(n_features_in_=10**13, _empty=_bools(0)), "wrong shape"),
    ],
)
def test_bad_imputer_manifests_are_refused(X, tmp_path, edit, match):
    path = tmp_path / "i.skae"
    X_missing = X.copy()
    X_missing[::3, 0] = np.nan
    imputer = skae.AutoencoderImputer(
        skae.AutoencoderTransformer(2, random_state=0, **FAST), add_indicator=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        skae.save(imputer.fit(X_missing), path)
    _rewrite(path, manifest=edit)
    with pytest.raises(ValueError, match=match):
        skae.load(path)


def test_pickles_naming_the_classes_in_their_old_module_still_load(X):
    # before the base was recomposed (issue 26), a fitted net's stopping
    # rule and validation split were pickled as skae._net.TrainingMonitor
    # and skae._net.ShuffledSplit; protocol 0 names each class on a line
    model = skae.AutoencoderTransformer(
        2, hidden_layer_sizes=(4,), max_iter=2, early_stopping=True, random_state=0
    ).fit(X)
    raw = pickle.dumps(model, protocol=0)
    old = raw
    for module, name in [("_data", "ShuffledSplit"), ("_callbacks", "TrainingMonitor")]:
        line = f"cskae.{module}\n{name}\n".encode()
        assert raw.count(line) == 1
        old = old.replace(line, f"cskae._net\n{name}\n".encode())
    back = pickle.loads(old)
    np.testing.assert_array_equal(back.transform(X), model.transform(X))
