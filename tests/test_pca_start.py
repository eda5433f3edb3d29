"""init="pca": the network starts as PCA; a table's numeric columns are
held below PCA's error (skae._pca_start)."""

import math
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA
from skorch.callbacks import Callback

import skae
from skae import (
    AutoencoderTransformer,
    DenoisingAutoencoder,
    SparseAutoencoder,
    VAETransformer,
)
from skae._pca_start import HOLD_BOUNDS, HOLD_FRACTION, NumericHold, principal_axes
from skae.nn import Shortcut


def _table(n=120, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    return pd.DataFrame(
        {
            "a": a,
            "b": 2 * a + 0.3 * rng.normal(size=n),
            "c": rng.normal(size=n),
            "colour": pd.Categorical(colour),
            "flag": (colour == "red") ^ (rng.random(n) < 0.1),
        }
    )


class _StartCheck(Callback):
    """Records the untrained network's reconstruction of the training rows
    (in the network's units) and the rows themselves, on the class (a fit
    trains a copy of its callbacks)."""

    rows = start = None

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        module = net.module_
        was = module.training
        module.eval()
        with torch.no_grad():
            type(self).rows = X.X.double().numpy()
            type(self).start = module(X.X)[0].double().numpy()
        module.train(was)


def _fit_capturing(estimator, X):
    check = _StartCheck()
    estimator.set_params(callbacks=[check], max_iter=1).fit(X)
    return check


@pytest.mark.parametrize(
    "estimator",
    [
        AutoencoderTransformer(3, init="pca", random_state=0),
        AutoencoderTransformer(3, init="pca", hidden_layer_sizes=(), random_state=0),
        AutoencoderTransformer(
            3, init="pca", hidden_layer_sizes=(16, 8), dropout=0.0, random_state=0
        ),
    ],
    ids=["default", "linear", "two-layers"],
)
def test_untrained_network_reconstructs_as_pca(estimator):
    X = np.random.default_rng(0).normal(size=(80, 6)) @ np.diag([5, 3, 2, 1, 0.5, 0.1])
    check = _fit_capturing(estimator, X)
    pca = PCA(3).fit(check.rows)
    expected = pca.inverse_transform(pca.transform(check.rows))
    np.testing.assert_allclose(check.start, expected, atol=1e-4)
    # and random weights do not
    check = _fit_capturing(AutoencoderTransformer(3, random_state=0), X)
    assert np.abs(check.start - expected).max() > 0.1


def test_pca_start_builds_a_linear_path_beside_the_blocks():
    model = AutoencoderTransformer(2, init="pca", max_iter=2, random_state=0)
    module = model.fit(np.random.default_rng(0).normal(size=(40, 5))).net_.module_
    assert isinstance(module.encoder, Shortcut)
    assert isinstance(module.decoder, Shortcut)
    assert module.output_head is not None


class _MeansCheck(Callback):
    """Records the untrained VAE's posterior means of the training rows."""

    rows = means = None

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        module = net.module_
        with torch.no_grad():
            head = module.code_head(module.encoder(X.X))
            type(self).rows = X.X.double().numpy()
            type(self).means = head.chunk(2, dim=-1)[0].double().numpy()


def test_vae_means_start_at_pca():
    X = np.random.default_rng(1).normal(size=(60, 5)) @ np.diag([4, 2, 1, 0.5, 0.2])
    check = _MeansCheck()
    VAETransformer(2, init="pca", max_iter=1, callbacks=[check], random_state=0).fit(X)
    pca = PCA(2).fit(check.rows)
    codes = pca.transform(check.rows)
    # PCA's coordinates, up to the axes' signs
    np.testing.assert_allclose(np.abs(check.means), np.abs(codes), atol=1e-4)


def test_auto_leaves_arrays_random_bit_for_bit():
    X = np.random.default_rng(2).normal(size=(50, 6))
    auto = AutoencoderTransformer(2, max_iter=3, random_state=0).fit(X)
    random = AutoencoderTransformer(2, init="random", max_iter=3, random_state=0).fit(X)
    np.testing.assert_array_equal(auto.transform(X), random.transform(X))
    assert auto.net_.hold_ is None


def test_auto_starts_a_table_at_pca_and_holds_its_numeric_columns():
    X = _table()
    auto = AutoencoderTransformer(2, max_iter=3, random_state=0).fit(X)
    pca = AutoencoderTransformer(2, init="pca", max_iter=3, random_state=0).fit(X)
    random = AutoencoderTransformer(2, init="random", max_iter=3, random_state=0).fit(X)
    np.testing.assert_array_equal(auto.transform(X), pca.transform(X))
    assert not np.array_equal(auto.transform(X), random.transform(X))
    assert isinstance(auto.net_.hold_, NumericHold)
    assert random.net_.hold_ is None
    assert isinstance(auto.net_.module_.encoder, Shortcut)


@pytest.mark.parametrize(
    "estimator",
    [
        VAETransformer(2, max_iter=3, random_state=0),
        DenoisingAutoencoder(2, max_iter=3, random_state=0),
        SparseAutoencoder(2, max_iter=3, random_state=0),
    ],
    ids=["vae", "denoising", "sparse"],
)
def test_auto_leaves_these_tables_random(estimator):
    X = _table()
    auto = clone(estimator).fit(X)
    random = clone(estimator).set_params(init="random").fit(X)
    np.testing.assert_array_equal(auto.transform(X), random.transform(X))


def test_hold_targets_a_share_of_what_pca_leaves_of_the_numeric_columns():
    X = _table(n=200)
    check = _StartCheck()
    model = AutoencoderTransformer(2, max_iter=5, callbacks=[check], random_state=0)
    model.fit(X)
    rows = check.rows
    pca = PCA(2).fit(rows)
    left = rows - pca.inverse_transform(pca.transform(rows))
    numeric = model.net_.criterion_.likelihood.gaussian.numpy()
    share = (left[:, numeric] ** 2).mean(0) / rows[:, numeric].var(0)
    hold = model.net_.hold_
    assert math.isclose(hold.target, HOLD_FRACTION * share.mean(), rel_tol=1e-4)
    # the start leaves PCA's error, above the target: the multiplier rose
    assert hold.multiplier > 1


def test_hold_multiplier_follows_the_error():
    hold = NumericHold(0.01)
    hold.error = 0.1
    hold.step()
    up = hold.multiplier
    assert up > 1
    hold.error = 0.001
    for _ in range(5):
        hold.step()
    assert hold.multiplier < up
    hold.error = 1e9
    for _ in range(10_000):
        hold.step()
    assert math.isclose(hold.multiplier, HOLD_BOUNDS[1])
    assert NumericHold(0.0).target > 0  # never a target of 0


def test_principal_axes_weighted_equals_repeated_rows():
    rng = np.random.default_rng(3)
    rows = torch.as_tensor(rng.normal(size=(30, 4)), dtype=torch.float32)
    weights = torch.as_tensor(rng.integers(1, 4, size=30), dtype=torch.float32)
    weighted = principal_axes(rows, weights, 2)
    repeated = principal_axes(
        torch.repeat_interleave(rows, weights.long(), dim=0), None, 2
    )
    for a, b in zip(weighted[:2], repeated[:2]):
        np.testing.assert_allclose(a.abs().numpy(), b.abs().numpy(), atol=1e-4)
    # the same residual, over the unweighted variance (the weighted one with
    # repeated rows)
    x, r = rows.double(), torch.repeat_interleave(rows, weights.long(), dim=0).double()
    np.testing.assert_allclose(
        weighted.residual_share * x.var(dim=0, correction=0),
        repeated.residual_share * r.var(dim=0, correction=0),
        rtol=1e-4,
    )


def test_pca_with_your_own_modules_is_refused_before_any_work():
    model = AutoencoderTransformer(
        2, init="pca", encoder=torch.nn.Linear(4, 3), hidden_layer_sizes=(512,)
    )
    with pytest.raises(ValueError, match="init='pca'.*your own encoder"):
        model.fit(np.zeros((10, 4)))
    assert not hasattr(model, "net_")


def test_pca_with_a_topk_dictionary_is_refused_and_leaves_the_model():
    X = np.random.default_rng(4).normal(size=(40, 6))
    model = SparseAutoencoder(3, penalty="topk", max_iter=2, random_state=0).fit(X)
    before = model.transform(X)
    with pytest.raises(ValueError, match="init='pca' needs skae's own network"):
        model.set_params(init="pca", warm_start=False).fit(X)
    np.testing.assert_array_equal(model.transform(X), before)


def test_changing_init_on_a_warm_start_is_refused():
    X = np.random.default_rng(5).normal(size=(40, 4))
    model = AutoencoderTransformer(2, max_iter=2, warm_start=True, random_state=0)
    model.fit(X)
    with pytest.raises(ValueError, match="init"):
        model.set_params(init="pca").fit(X)


def test_a_table_started_at_pca_pickles_and_saves(tmp_path):
    X = _table()
    model = AutoencoderTransformer(2, max_iter=3, random_state=0).fit(X)
    codes = model.transform(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).transform(X), codes)
    path = tmp_path / "table.skae"
    skae.save(model, path)
    np.testing.assert_array_equal(skae.load(path).transform(X), codes)


def test_a_held_fit_continues_with_its_hold(tmp_path):
    X = _table()
    model = AutoencoderTransformer(2, max_iter=3, random_state=0).fit(X)
    hold = model.net_.hold_
    model.partial_fit(X)
    assert model.net_.hold_.target == hold.target
    assert model.net_.hold_.log_multiplier != 0.0  # it went on moving
    # a model read from a file has none: partial_fit makes one from its rows
    path = tmp_path / "table.skae"
    skae.save(model, path)
    loaded = skae.load(path)
    assert loaded.net_.hold_ is None
    loaded.partial_fit(X)
    assert math.isclose(loaded.net_.hold_.target, hold.target, rel_tol=1e-6)


class _RowsCheck(Callback):
    """Records the untrained network's raw output on the training rows, the
    rows and their sample weights (as the net trains on them)."""

    rows = output = weights = None

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        module = net.module_
        was = module.training
        module.eval()
        with torch.no_grad():
            type(self).rows = X.X.clone()
            type(self).weights = X.weights
            type(self).output = module(X.X)[0]
        module.train(was)


def test_weighted_hold_targets_a_share_of_pcas_error_in_the_holds_units():
    # the table's columns are read in units of their unweighted variance
    # (its encoding is fitted unweighted): the target must be the weighted
    # PCA start's error in those units, not in the weighted variance's
    X = _table(n=200)
    weights = np.where(np.abs(X["c"]) < 0.5, 10.0, 1.0)
    check = _RowsCheck()
    model = AutoencoderTransformer(2, max_iter=1, callbacks=[check], random_state=0)
    model.fit(X, sample_weight=weights)
    start = NumericHold(1.0)
    start.loss(model.net_.likelihood, check.output, check.rows, check.weights)
    assert math.isclose(
        model.net_.hold_.target, HOLD_FRACTION * start.error, rel_tol=1e-4
    )


def test_the_vae_started_at_pca_on_a_table_has_no_hold():
    model = VAETransformer(2, init="pca", max_iter=2, random_state=0).fit(_table())
    assert model.net_.hold_ is None


def test_a_code_activation_bends_the_start_away_from_pca():
    # as the docstring says: the activation acts on PCA's coordinates
    X = np.random.default_rng(0).normal(size=(80, 6)) @ np.diag([5, 3, 2, 1, 0.5, 0.1])
    model = AutoencoderTransformer(
        3, init="pca", code_activation="relu", random_state=0
    )
    check = _fit_capturing(model, X)
    pca = PCA(3).fit(check.rows)
    expected = pca.inverse_transform(pca.transform(check.rows))
    assert np.abs(check.start - expected).max() > 0.1


def test_validation_batches_do_not_move_the_multiplier(monkeypatch):
    steps = []
    step = NumericHold.step
    monkeypatch.setattr(NumericHold, "step", lambda self: steps.append(step(self)))
    model = AutoencoderTransformer(
        2, max_iter=3, batch_size=16, early_stopping=True, random_state=0
    ).fit(_table())
    counts = [epoch["train_batch_count"] for epoch in model.net_.history]
    assert "valid_loss" in model.net_.history[-1]
    assert len(steps) == sum(counts)


def test_a_continued_fit_with_noise_has_no_hold_and_gets_one_back_without():
    # noise takes effect on a warm start: a denoising fit's error is not
    # PCA's to bound, so the hold is off for it (its multiplier would climb
    # towards its bound), and made afresh from the rows once noise is off
    X = _table()
    model = AutoencoderTransformer(2, max_iter=2, random_state=0).fit(X)
    target = model.net_.hold_.target
    model.set_params(noise="gaussian", noise_level=0.5, warm_start=True).fit(X)
    assert model.net_.hold_ is None
    model.set_params(noise=None, noise_level=0.2).partial_fit(X)
    assert math.isclose(model.net_.hold_.target, target, rel_tol=1e-6)


def test_files_and_pickles_from_before_init_load_as_random(tmp_path):
    from test_persistence import _rewrite

    X = _table()
    model = AutoencoderTransformer(2, init="random", max_iter=2, random_state=0)
    model.fit(X)
    path = tmp_path / "old.skae"
    skae.save(model, path)
    _rewrite(
        path,
        lambda m: {
            **m,
            "params": {k: v for k, v in m["params"].items() if k != "init"},
        },
    )
    loaded = skae.load(path)
    old = model.__getstate__()
    old["_fitted_params"] = {
        k: v for k, v in old["_fitted_params"].items() if k != "init"
    }
    del old["init"]
    unpickled = AutoencoderTransformer.__new__(AutoencoderTransformer)
    unpickled.__setstate__(old)
    for back in (loaded, unpickled):
        assert back.init == back._fitted_params["init"] == "random"
        np.testing.assert_array_equal(back.transform(X), model.transform(X))
        back.partial_fit(X)  # continues as before: no hold, no linear path
        assert back.net_.hold_ is None
        assert not isinstance(back.net_.module_.encoder, Shortcut)


def test_another_init_that_builds_the_same_network_continues():
    """init="auto" is "pca" on a table and "random" on an array: switching
    to the init it already was continues the fit; another network is
    refused."""
    table = _table()
    model = AutoencoderTransformer(2, max_iter=2, warm_start=True, random_state=0)
    model.fit(table)
    model.set_params(init="pca").fit(table)  # the same network: continues
    assert model.n_iter_ == 4
    with pytest.raises(ValueError, match="init"):
        model.set_params(init="random").fit(table)
    X = np.random.default_rng(6).normal(size=(40, 4))
    array = AutoencoderTransformer(2, max_iter=2, warm_start=True, random_state=0)
    array.fit(X)
    array.set_params(init="random").fit(X)
    assert array.n_iter_ == 4
    with pytest.raises(ValueError, match="init"):
        array.set_params(init="pca").fit(X)
