"""TopK codes (issue 29): SparseAutoencoder(penalty="topk" / "batchtopk")."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skae
from skae import _inference, _topk

#: a small dictionary problem: 12 unit atoms in 8 dimensions, 2 active
#: atoms per row with positive weights, little noise
N_ATOMS, N_FEATURES, K = 12, 8, 2


def _dictionary_data(n=600, n_atoms=N_ATOMS, n_features=N_FEATURES, k=K, seed=0):
    rng = np.random.default_rng(seed)
    atoms = rng.normal(size=(n_atoms, n_features))
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    codes = np.zeros((n, n_atoms))
    for row in codes:
        row[rng.choice(n_atoms, k, replace=False)] = rng.uniform(0.5, 1.5, k)
    return codes @ atoms + 0.01 * rng.normal(size=(n, n_features)), atoms


@pytest.fixture(scope="module")
def data():
    return _dictionary_data()


def _sae(penalty="topk", **params):
    settings = dict(
        n_components=16,
        penalty=penalty,
        n_nonzero_coefs=K,
        max_iter=5,
        batch_size=64,
        random_state=0,
    )
    return skae.SparseAutoencoder(**{**settings, **params})


def _fit(est, X):
    # tiny fits: cut short, and some units dead (the tests of dead units
    # read the fitted attributes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", "[0-9]+ of [0-9]+ code units .* dead")
        return est.fit(X)


@pytest.fixture(scope="module")
def fitted(data):
    return _fit(_sae(), data[0])


@pytest.fixture(scope="module")
def fitted_batch(data):
    return _fit(_sae("batchtopk"), data[0])


def _pre_activations(est, X):
    module = est.net_.module_
    x = torch.as_tensor((X - est.offset_) / est.scale_, dtype=torch.float32)
    with torch.no_grad():
        return module.code_head(x).numpy()


# ------------------------------------------------------------------ the code


def test_exactly_k_nonzeros_per_row(fitted, data):
    X = data[0]
    Z = fitted.transform(X)
    nonzeros = (Z != 0).sum(axis=1)
    assert nonzeros.max() <= K
    # exactly k where the k-th largest pre-activation is positive
    kth = np.sort(_pre_activations(fitted, X), axis=1)[:, -K]
    assert (kth > 0).mean() > 0.9
    np.testing.assert_array_equal(nonzeros[kth > 0], K)
    assert (Z >= 0).all()
    assert fitted.mean_nonzeros_ == pytest.approx(nonzeros.mean())
    assert fitted.n_nonzero_coefs_ == K


def test_the_kept_units_are_the_k_largest(fitted, data):
    X = data[0][:50]
    Z = fitted.transform(X)
    pre = _pre_activations(fitted, X)
    top = np.argsort(-pre, axis=1)[:, :K]
    for row, code, units in zip(pre, Z, top):
        np.testing.assert_allclose(code[units], np.maximum(row[units], 0), rtol=1e-5)
        rest = np.setdiff1d(np.arange(code.size), units)
        assert (code[rest] == 0).all()


def test_n_nonzero_coefs_none_takes_a_tenth_of_the_code(data):
    est = _fit(_sae(n_components=40, n_nonzero_coefs=None, max_iter=1), data[0])
    assert est.n_nonzero_coefs_ == 4
    assert (est.transform(data[0]) != 0).sum(axis=1).max() <= 4


def test_components_are_unit_atoms_of_the_reconstruction(fitted, data):
    X = data[0]
    atoms = fitted.components_
    assert atoms.shape == (16, N_FEATURES)
    np.testing.assert_allclose(np.linalg.norm(atoms, axis=1), 1, rtol=1e-5)
    # X ≈ offset_ + scale_ · (code @ components_ + decoder bias)
    Z = fitted.transform(X)
    bias = fitted.net_.module_.decoder.linear.bias.detach().numpy()
    manual = fitted.offset_ + fitted.scale_ * (Z @ atoms + bias)
    np.testing.assert_allclose(fitted.inverse_transform(Z), manual, atol=1e-5)
    l1 = _fit(skae.SparseAutoencoder(4, max_iter=1), X)
    assert not hasattr(l1, "components_")
    with pytest.raises(AttributeError, match="penalty='topk'"):
        _ = l1.components_


def test_tied_initialisation():
    est = _sae()
    est._fitted_params = est.get_params()
    from skae._objectives import likelihood
    from skae._training import build_module

    module = build_module(est, N_FEATURES, likelihood("mse"))
    atoms = module.decoder.atoms().detach()
    np.testing.assert_allclose(atoms.norm(dim=0).numpy(), 1, rtol=1e-6)
    torch.testing.assert_close(module.code_head.weight.detach(), atoms.T)
    assert not module.code_head.bias.any() and not module.decoder.linear.bias.any()


def test_recovers_the_dictionary():
    # 12 atoms in 16 dimensions: each atom's best |cosine| with 24 learned ones
    X, atoms = _dictionary_data(4000, n_features=16)
    est = _fit(_sae(n_components=24, max_iter=10, learning_rate_init=1e-2), X)
    recovery = np.abs(atoms @ est.components_.T).max(axis=1).mean()
    assert recovery > 0.97
    assert est.fvu_ < 0.05


def test_fvu_is_one_minus_explained_variance(fitted, data):
    X = data[0]
    X_hat = fitted.inverse_transform(fitted.transform(X))
    fvu = ((X - X_hat) ** 2).sum() / ((X - X.mean(axis=0)) ** 2).sum()
    assert fitted.fvu_ == pytest.approx(fvu, rel=1e-4)


# ------------------------------------------------------------- dead latents


def _kill_half(est, dead_after=300):
    """Shrink the encoder rows of half the units 100-fold: their
    pre-activations stay positive on about half the rows, but below the live
    units' (dead by competition, the case AuxK is for)."""
    module = est.net_.module_
    with torch.no_grad():
        module.code_head.weight[::2] *= 0.01
        module.code_head.bias[::2] = 0
    layer = module.code_activation
    layer.dead_after = dead_after
    layer.rows_since_fired.zero_()


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_auxk_revives_units_killed_by_competition(alpha):
    # 24 atoms in 8 dimensions, one per row: each of the 16 units is needed
    X, _ = _dictionary_data(1000, n_atoms=24, n_features=8, k=1)
    est = _fit(_sae(n_components=16, n_nonzero_coefs=1, max_iter=2, alpha=alpha), X)
    _kill_half(est)
    killed = est.net_.module_.code_head.weight[::2].detach().clone()
    for _ in range(30):
        est.partial_fit(X)
    frequency = (est.transform(X) != 0).mean(axis=0)
    after = est.net_.module_.code_head.weight[::2].detach()
    if alpha == 0:
        # nothing moves a unit that never fires: all stay dead
        assert est.dead_fraction_ >= 0.5
        assert est.n_dead_components_ >= 8
        assert (frequency[::2] == 0).all()
        torch.testing.assert_close(after, killed, rtol=0, atol=0)
    else:
        assert est.dead_fraction_ <= 0.25
        assert (frequency[::2] > 0).sum() >= 5


def test_dead_fraction_counts_the_last_rows_seen(fitted):
    layer = fitted.net_.module_.code_activation
    assert layer.dead_after == _topk.DEAD_AFTER_ROWS
    assert int(layer.rows_seen) == 5 * 600
    # fewer rows seen than the window: units that never fired
    window = min(layer.dead_after, int(layer.rows_seen))
    expected = float((layer.rows_since_fired >= window).double().mean())
    assert fitted.dead_fraction_ == expected


# ------------------------------------------------------------ sparse output


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_output_equals_dense(fitted, data, dtype):
    X = data[0].astype(dtype)
    dense = fitted.transform(X)
    sparse = clone(fitted).set_params(sparse_output=True)
    sparse.__dict__.update(
        {k: v for k, v in fitted.__dict__.items() if k.endswith("_")}
    )
    Z = sparse.transform(X)
    assert sp.issparse(Z) and Z.format == "csr" and Z.dtype == dtype
    np.testing.assert_array_equal(Z.toarray(), dense)
    assert Z.nnz == np.count_nonzero(dense)
    np.testing.assert_array_equal(
        fitted.inverse_transform(Z), fitted.inverse_transform(dense)
    )


def test_sparse_output_is_made_a_batch_at_a_time(fitted, data, monkeypatch):
    X = data[0]
    monkeypatch.setattr(_inference, "INFERENCE_BATCH_SIZE", 7)
    est = pickle.loads(pickle.dumps(fitted)).set_params(sparse_output=True)
    stacked = []
    original = sp.vstack

    def vstack(parts, **kwargs):
        stacked.append([p.shape[0] for p in parts])
        return original(parts, **kwargs)

    monkeypatch.setattr(_inference.sp, "vstack", vstack)
    np.testing.assert_array_equal(est.transform(X).toarray(), fitted.transform(X))
    assert max(stacked[0]) == 7 and sum(stacked[0]) == len(X)


def test_wide_code_batches_hold_a_bounded_number_of_entries(monkeypatch):
    rows = _inference.inference_batch_rows(16_384)
    assert rows * 16_384 <= _inference.INFERENCE_BATCH_ENTRIES


# ---------------------------------------------------------------- BatchTopK


def test_batchtopk_transform_does_not_depend_on_the_batch(
    fitted_batch, data, monkeypatch
):
    X = data[0]
    layer = fitted_batch.net_.module_.code_activation
    assert float(layer.threshold) > 0
    whole = fitted_batch.transform(X)
    monkeypatch.setattr(_inference, "INFERENCE_BATCH_SIZE", 3)
    one_row = np.vstack([fitted_batch.transform(X[i : i + 1]) for i in range(20)])
    for other in (fitted_batch.transform(X), one_row):
        # the same units fire; the values agree to the last bits of the
        # matrix product, whose rounding depends on the batch's shape
        np.testing.assert_array_equal(other != 0, whole[: len(other)] != 0)
        np.testing.assert_allclose(other, whole[: len(other)], rtol=1e-12)
    # about k per row on average, decided by the threshold alone
    assert 0.5 * K < (whole != 0).sum(axis=1).mean() < 2 * K
    pre = _pre_activations(fitted_batch, X)
    np.testing.assert_array_equal(whole != 0, pre > float(layer.threshold))


def test_batchtopk_trains_k_per_row_on_average():
    layer = _topk_layer(batch=True)
    layer.train()
    pre = torch.randn(32, 16)
    code = layer(pre)
    assert (code != 0).sum() == 32 * K  # pre has no ties and enough positives
    # the threshold starts at the smallest value kept
    kept = code[code != 0]
    assert float(layer.threshold) == pytest.approx(float(kept.min()))


def _topk_layer(batch=False):
    return _topk.TopK(16, K, batch=batch)


def test_topk_layer_counts_rows_since_each_unit_fired():
    layer = _topk_layer()
    layer.train()
    pre = torch.full((4, 16), -1.0)
    pre[:, 0] = pre[:, 1] = 1.0
    layer(pre)
    layer(pre)
    assert layer.rows_since_fired[:2].tolist() == [0, 0]
    assert (layer.rows_since_fired[2:] == 8).all()
    layer.eval()
    layer(pre)  # inference counts nothing
    assert int(layer.rows_seen) == 8


# ------------------------------------------------------------ round trips


@pytest.mark.parametrize("which", ["fitted", "fitted_batch"])
def test_pickle_round_trip(which, data, request):
    est = request.getfixturevalue(which)
    copy = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(copy.transform(data[0]), est.transform(data[0]))
    np.testing.assert_array_equal(copy.components_, est.components_)
    assert copy.dead_fraction_ == est.dead_fraction_


@pytest.mark.parametrize("which", ["fitted", "fitted_batch"])
def test_save_load_bit_identical(which, data, request, tmp_path):
    est = request.getfixturevalue(which)
    path = tmp_path / "topk.skae"
    skae.save(est, path)
    loaded = skae.load(path)
    np.testing.assert_array_equal(loaded.transform(data[0]), est.transform(data[0]))
    for name in ("n_nonzero_coefs_", "dead_fraction_", "mean_nonzeros_", "fvu_"):
        assert getattr(loaded, name) == getattr(est, name)
    state, back = est.net_.module_.state_dict(), loaded.net_.module_.state_dict()
    assert state.keys() == back.keys()
    for key in state:
        torch.testing.assert_close(back[key], state[key], rtol=0, atol=0)
    # and it continues training from the counters it saved
    loaded.partial_fit(data[0])


def test_partial_fit_over_memmap_chunks(data, tmp_path):
    X = data[0].astype(np.float32)
    path = tmp_path / "rows.dat"
    memmap = np.memmap(path, dtype=np.float32, mode="w+", shape=X.shape)
    memmap[:] = X
    memmap.flush()
    rows = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)
    est = _sae()
    for start in range(0, len(rows), 150):
        est.partial_fit(rows[start : start + 150])
    assert est.n_samples_seen_ == len(X)
    assert int(est.net_.module_.code_activation.rows_seen) == len(X)
    assert (est.transform(rows) != 0).sum(axis=1).max() <= K


def test_pipeline_and_grid_search(data):
    X = data[0]
    grid = GridSearchCV(
        make_pipeline(StandardScaler(), _sae(max_iter=2)),
        {
            "sparseautoencoder__n_nonzero_coefs": [1, 2],
            "sparseautoencoder__n_components": [8, 16],
        },
        cv=2,
        error_score="raise",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X)
    assert len(grid.cv_results_["params"]) == 4
    best = grid.best_estimator_
    k = grid.best_params_["sparseautoencoder__n_nonzero_coefs"]
    assert (best.transform(X) != 0).sum(axis=1).max() <= k


def test_onnx_parity(fitted, fitted_batch, data):
    pytest.importorskip("onnxscript")
    pytest.importorskip("skl2onnx")
    ort = pytest.importorskip("onnxruntime")
    from skl2onnx import to_onnx

    import skae.onnx  # noqa: F401  (registers the converters)

    X = data[0].astype(np.float32)
    for est in (fitted, fitted_batch):
        model = to_onnx(est, X[:1])
        session = ort.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        (got,) = session.run(None, {session.get_inputs()[0].name: X})
        want = est.transform(X)
        np.testing.assert_allclose(got, want, atol=1e-5)
        # the same units are zero, whatever the rounding of the values
        assert ((got != 0) == (want != 0)).mean() > 0.999


# -------------------------------------------------------------- bad input


BAD = [
    (dict(n_nonzero_coefs=16), r"n_nonzero_coefs=16 must be below n_components=16"),
    (dict(n_nonzero_coefs=20), r"must be below n_components"),
    (dict(n_nonzero_coefs=0), r"n_nonzero_coefs.*range \[1, inf\)"),
    (dict(n_nonzero_coefs=9), r"n_nonzero_coefs=9 exceeds n_features=8"),
    (dict(code_activation="tanh"), r"code_activation='tanh' cannot apply"),
    (dict(code_activation="sigmoid"), r"Leave code_activation=None"),
    (dict(loss="bce"), r"needs loss='mse'"),
    (dict(noise="gaussian"), r"Use noise=None"),
    (dict(hidden_layer_sizes=(32,)), r"hidden_layer_sizes=\(32,\) has no effect"),
    (dict(decoder_layer_sizes=(4,)), r"decoder_layer_sizes=\(4,\) has no effect"),
    (dict(dropout=0.3), r"dropout=0.3 has no effect.*builds its own network"),
    (dict(activation="tanh"), r"activation='tanh' has no effect"),
    (dict(encoder=torch.nn.Linear(8, 4)), r"encoder=.* has no effect"),
    (dict(decoder=torch.nn.Linear(16, 8)), r"decoder=.* has no effect"),
]


@pytest.mark.parametrize(("params", "match"), BAD)
def test_bad_input_is_refused_before_any_work(fitted, data, params, match):
    X = data[0]
    est = pickle.loads(pickle.dumps(fitted))
    before = est.transform(X)
    state = {k: v for k, v in vars(est).items() if k != "net_"}
    weights = {k: v.clone() for k, v in est.net_.module_.state_dict().items()}
    est.set_params(**params)
    with pytest.raises(ValueError, match=match):
        est.fit(X)
    # partial_fit may first say that the parameter would change the network
    with pytest.raises(ValueError, match=match + "|would change: n_nonzero_coefs"):
        est.partial_fit(X)
    # nothing changed: the fitted state, the weights, the counters
    est.set_params(**{k: fitted.get_params()[k] for k in params})
    np.testing.assert_array_equal(est.transform(X), before)
    assert vars(est).keys() == state.keys() | {"net_"}
    assert est.n_iter_ == fitted.n_iter_
    for key, value in est.net_.module_.state_dict().items():
        torch.testing.assert_close(value, weights[key], rtol=0, atol=0)


def test_loss_auto_that_picks_bce_is_refused():
    X = (np.random.default_rng(0).random((100, 8)) > 0.7).astype(float)
    est = skae.AutoencoderTransformer(4, penalty="topk", n_nonzero_coefs=2)
    with pytest.raises(ValueError, match=r"loss='auto' chose 'bce'.*Set loss='mse'"):
        est.fit(X)
    assert not hasattr(est, "net_")


def test_the_vae_refuses_sae(data):
    with pytest.raises(ValueError, match="builds its own network"):
        skae.VAETransformer(4, penalty="topk", n_nonzero_coefs=2).fit(data[0])


def test_n_nonzero_coefs_without_topk_has_no_effect(data):
    with pytest.raises(ValueError, match=r"n_nonzero_coefs=3 has no effect"):
        skae.SparseAutoencoder(4, n_nonzero_coefs=3, max_iter=1).fit(data[0])


def test_other_estimators_take_sae(data):
    X = data[0]
    est = _fit(
        skae.DenoisingAutoencoder(16, penalty="topk", n_nonzero_coefs=K, noise=None),
        X,
    )
    assert (est.transform(X) != 0).sum(axis=1).max() <= K
    assert est.components_.shape == (16, N_FEATURES)


def test_refit_with_another_penalty_drops_the_topk_attributes(fitted, data):
    est = pickle.loads(pickle.dumps(fitted)).set_params(
        penalty="l1", n_nonzero_coefs=None, max_iter=1
    )
    est.fit(data[0])
    for name in ("dead_fraction_", "fvu_", "mean_nonzeros_", "n_nonzero_coefs_"):
        assert not hasattr(est, name)
    assert not hasattr(est, "components_")


# --------------------------------------------------------------- display


def test_latent_frequency_display(fitted, data):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from skae.plotting import LatentFrequencyDisplay

    display = LatentFrequencyDisplay.from_estimator(fitted, data[0])
    frequencies = (fitted.transform(data[0]) != 0).mean(axis=0)
    np.testing.assert_allclose(display.frequencies, frequencies)
    assert display.n_dead_ == int((frequencies == 0).sum())
    counts, _ = np.histogram(np.log10(frequencies[frequencies > 0]), display.bin_edges_)
    assert counts.sum() == 16 - display.n_dead_ and len(display.bin_edges_) == 31
    assert display.ax_.get_xlabel().startswith("log10")
    with pytest.raises(ValueError, match="fractions in"):
        LatentFrequencyDisplay([0.5, 2.0]).plot()


# ------------------------------------------------------------------- GPU


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
@pytest.mark.parametrize("penalty", ["topk", "batchtopk"])
def test_trains_on_cuda(data, penalty):
    X = data[0].astype(np.float32)
    est = _fit(_sae(penalty, device="cuda", alpha=0.3), X)
    assert est.net_.module_.code_activation.rows_since_fired.is_cuda
    Z = est.set_params(sparse_output=True).transform(X)
    assert Z.nnz > 0 and np.isfinite(est.fvu_)


def test_sparse_diagnostics_are_computed_a_batch_at_a_time(fitted, data, monkeypatch):
    """SparseAutoencoder's inactive_fraction_ and mean_activation_ come from
    batches of codes (a 16k-unit code of a large chunk would not fit in
    memory), and equal the whole matrix's figures."""
    X = data[0].astype(np.float32)
    monkeypatch.setattr(_inference, "INFERENCE_BATCH_ENTRIES", 16 * 7)
    est = pickle.loads(pickle.dumps(fitted))
    batches = []
    original = _inference.training_code_batches

    def spy(*args):
        for Z in original(*args):
            batches.append(len(Z))
            yield Z

    monkeypatch.setattr(skae._sparse, "training_code_batches", spy)
    est.partial_fit(X)
    assert max(batches) == 7
    Z = np.abs(est.transform(X))
    rms = np.sqrt((Z.astype(np.float64) ** 2).mean(axis=0))
    assert est.inactive_fraction_ == np.mean(Z < 0.1 * rms)
    np.testing.assert_allclose(est.mean_activation_, Z.mean(axis=0), rtol=1e-6)


# ------------------------------------------------- files from before TopK


def test_model_files_and_pickles_from_before_the_new_parameters_load(data, tmp_path):
    import hashlib
    import json
    import zipfile

    X = data[0]
    est = _fit(skae.SparseAutoencoder(4, max_iter=1, random_state=0), X)
    expected = est.transform(X)
    # a pickle without the parameters added for TopK
    old = pickle.loads(pickle.dumps(est))
    for name in ("n_nonzero_coefs", "sparse_output"):
        del old.__dict__[name], old._fitted_params[name]
    back = pickle.loads(pickle.dumps(old))
    np.testing.assert_array_equal(back.transform(X), expected)
    assert back.get_params()["sparse_output"] is False
    # a model file whose manifest lacks them
    path = tmp_path / "old.skae"
    skae.save(est, path)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    manifest = json.loads(members["manifest.json"])
    for name in ("n_nonzero_coefs", "sparse_output"):
        del manifest["params"][name]
    members["manifest.json"] = json.dumps(manifest).encode()
    members["manifest.sha256"] = (
        hashlib.sha256(members["manifest.json"]).hexdigest().encode()
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    loaded = skae.load(path)
    np.testing.assert_array_equal(loaded.transform(X), expected)
    assert loaded.n_nonzero_coefs is None
