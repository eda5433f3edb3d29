"""The numeric finish: a table's numeric output rows refitted by ridge
regression, its penalty chosen by the exact leave-one-out error
(skae._finish)."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.linear_model import Ridge as SkRidge
from torch import nn

from skae import (
    AutoencoderImputer,
    AutoencoderTransformer,
    DenoisingAutoencoder,
    VAETransformer,
    _finish,
    _training,
)
from skae._finish import (
    Moments,
    Ridge,
    finish_categorical,
    finish_numeric,
    last_layer,
    layer_input,
)
from skae.nn import MLPDecoder


def _regression(n=40, p=5, t=2, seed=0):
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(n, p))
    h[:, 0] = h[:, 0] ** 3  # a heavy tail: high-leverage rows
    y = h @ rng.normal(size=(p, t)) + 0.5 * rng.normal(size=(n, t)) + 3.0
    w = rng.uniform(0.5, 2.0, size=n)
    return (torch.as_tensor(a, dtype=torch.float64) for a in (h, y, w))


def _ridge(h, y, w, batch=7):
    moments = Moments(h.shape[1], y.shape[1])
    for s in range(0, len(h), batch):
        sl = slice(s, s + batch)
        moments.add(h[sl], y[sl], torch.zeros_like(y[sl]), w[sl])
    fit = Ridge.from_moments(moments)
    for s in range(0, len(h), batch):
        sl = slice(s, s + batch)
        fit.add_errors(h[sl], y[sl], w[sl])
    return fit


def test_ridge_equals_scikit_learns_with_the_same_weights_and_penalty():
    h, y, w = _regression()
    fit = _ridge(h, y, w)
    coef, intercept, _ = fit.chosen()
    best = fit.errors.argmin(dim=0)
    for j in range(y.shape[1]):
        penalty = float(fit.penalties[best[j]])
        # skae's objective: the weighted mean of the squared residuals plus
        # penalty * |coef|^2; scikit-learn's: their weighted sum
        sk = SkRidge(alpha=penalty).fit(h, y[:, j], sample_weight=w / w.sum())
        np.testing.assert_allclose(coef[j], sk.coef_, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(intercept[j], sk.intercept_, rtol=1e-6)


def _refitted_without_each_row(h, y, w, penalty):
    """The weighted mean of the squared errors of ``y`` (rows, t) by
    scikit-learn's ridge refitted without each row in turn: the same
    objective without row i, the other rows keeping their shares."""
    share = w / w.sum()
    brute = np.zeros(y.shape[1])
    for i in range(len(h)):
        keep = np.arange(len(h)) != i
        sk = SkRidge(alpha=penalty, solver="svd")
        sk.fit(h[keep], y[keep], sample_weight=share[keep])
        brute += float(share[i]) * (sk.predict(h[i : i + 1])[0] - y[i].numpy()) ** 2
    return brute


@pytest.mark.parametrize("penalty_index", [0, 9, 18])
def test_leave_one_out_errors_equal_refitting_without_each_row(penalty_index):
    h, y, w = _regression(n=25)
    fit = _ridge(h, y, w)
    brute = _refitted_without_each_row(h, y, w, float(fit.penalties[penalty_index]))
    np.testing.assert_allclose(fit.errors[penalty_index], brute, rtol=1e-6)


def test_leave_one_out_errors_are_exact_with_fewer_rows_than_features():
    # 8 rows, 20 features: at the smallest penalties every row's leverage
    # is within 1e-6 of 1 (the regression all but interpolates), where a
    # floor on one minus the leverage made the leave-one-out error of an
    # interpolation look a hundred times smaller than it is
    h, y, w = _regression(n=8, p=20, t=2)
    fit = _ridge(h, y, w)
    for k, penalty in enumerate(fit.penalties.tolist()):
        brute = _refitted_without_each_row(h, y, w, penalty)
        np.testing.assert_allclose(fit.errors[k], brute, rtol=1e-4)
    # so the chosen penalty is not the smallest, which interpolates
    assert (fit.errors.argmin(dim=0) > 0).all()


class _Net(nn.Module):
    """A stand-in for skae's module: an encoder (identity), a decoder of
    fixed random features and an output head, as skae's ``Autoencoder``."""

    def __init__(self, d, p, seed=0, reads=None):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.reads = list(range(d)) if reads is None else reads
        self.decoder = nn.Sequential(nn.Linear(len(self.reads), p), nn.Tanh())
        self.output_head = nn.Linear(p, d)
        with torch.no_grad():
            for param in self.parameters():
                param.copy_(torch.randn(param.shape, generator=g) * 0.3)

    def encode(self, x):
        return x[:, self.reads]


def test_finish_refits_only_the_numeric_rows_and_lowers_their_error():
    rng = np.random.default_rng(0)
    rows = torch.as_tensor(rng.normal(size=(200, 3)), dtype=torch.float32)
    net = _Net(3, 16)
    before = {k: v.clone() for k, v in net.state_dict().items()}

    def errors():
        with torch.no_grad():
            out = net.output_head(net.decoder(net.encode(rows)))
        return ((out - rows) ** 2).mean(dim=0)

    start = errors()
    refitted = finish_numeric(net, rows, None, [0, 2])
    assert refitted.tolist() == [True, True]
    after = errors()
    assert (after[[0, 2]] < start[[0, 2]]).all()
    assert torch.equal(net.output_head.weight[1], before["output_head.weight"][1])
    assert torch.equal(net.decoder[0].weight, before["decoder.0.weight"])
    assert net.training  # the module's mode is given back


def test_finish_leaves_a_row_the_trained_layer_fits_as_well():
    rng = np.random.default_rng(1)
    rows = torch.as_tensor(rng.normal(size=(200, 2)), dtype=torch.float32)
    net = _Net(2, 8, reads=[1])
    # column 0 is the output of the layer as it is: nothing to gain there
    with torch.no_grad():
        rows[:, 0] = net.output_head(net.decoder(net.encode(rows)))[:, 0]
    weight = net.output_head.weight.clone()
    refitted = finish_numeric(net, rows, None, [0, 1])
    assert refitted.tolist() == [False, True]
    assert torch.equal(net.output_head.weight[0], weight[0])


def test_last_layer_of_skaes_mlp_decoder_or_none():
    net = _Net(2, 4)
    assert last_layer(net) is net.output_head
    net.output_head = None
    assert last_layer(net) is None  # Tanh last: not a linear layer
    net.decoder.append(nn.Linear(4, 2))
    assert last_layer(net) is net.decoder[-1]


# ---------------------------------------------------------- in a fit


def _table(n=150, seed=0):
    """One numeric column and a four-level one: PCA of width 2 gives the
    numeric column back almost exactly (kidney's shape)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(50, 15, size=n).round(),
            "group": pd.Categorical(rng.choice(list("abcd"), size=n)),
        }
    )


def _numeric_error(estimator, X):
    back = estimator.inverse_transform(estimator.transform(X))
    return float(np.mean((np.asarray(back["age"], float) - X["age"]) ** 2))


def test_a_held_table_fit_ends_with_the_finish(monkeypatch):
    X = _table()
    est = AutoencoderTransformer(2, max_iter=20, random_state=0)
    finished = est.fit(X)
    assert finished.net_.hold_ is not None
    error = _numeric_error(finished, X)
    monkeypatch.setattr(_training, "finish_network", lambda *a: None)
    unfinished = clone(est).fit(X)
    # the codes are the trained network's, the numeric column's output refitted
    np.testing.assert_array_equal(finished.transform(X), unfinished.transform(X))
    assert error < 0.5 * _numeric_error(unfinished, X)


def _refuse(*args, **kwargs):
    raise AssertionError("the finish ran")


@pytest.mark.parametrize(
    "estimator",
    [
        AutoencoderTransformer(2, init="random", max_iter=2, random_state=0),
        DenoisingAutoencoder(2, max_iter=2, random_state=0),
        VAETransformer(2, max_iter=2, random_state=0),
    ],
    ids=["random", "denoising", "vae"],
)
def test_no_finish_without_the_hold(estimator, monkeypatch):
    monkeypatch.setattr(_finish, "finish_numeric", _refuse)
    clone(estimator).fit(_table())


def test_no_finish_after_partial_fit_nor_for_the_imputer(monkeypatch):
    X = _table()
    est = AutoencoderTransformer(2, max_iter=2, random_state=0).fit(X)
    monkeypatch.setattr(_finish, "finish_numeric", _refuse)
    est.partial_fit(X)
    holes = X.mask(np.random.default_rng(0).random(X.shape) < 0.2)
    AutoencoderImputer(AutoencoderTransformer(2, max_iter=2, noise="masking")).fit(
        holes
    )


def test_a_row_of_weight_zero_counts_as_no_row():
    rng = np.random.default_rng(3)
    rows = torch.as_tensor(rng.normal(size=(120, 3)), dtype=torch.float32)
    weights = torch.as_tensor(rng.uniform(0.5, 2.0, size=120), dtype=torch.float32)
    weights[::2] = 0
    weighted, kept = _Net(3, 12), _Net(3, 12)
    assert finish_numeric(weighted, rows, weights, [0, 1, 2]).all()
    assert finish_numeric(kept, rows[1::2], weights[1::2], [0, 1, 2]).all()
    torch.testing.assert_close(
        weighted.output_head.weight, kept.output_head.weight, rtol=1e-5, atol=1e-6
    )
    # and the weights count: unit weights give another layer
    unit = _Net(3, 12)
    finish_numeric(unit, rows[1::2], None, [0, 1, 2])
    assert not torch.allclose(unit.output_head.weight, kept.output_head.weight)


def test_the_features_of_an_mlp_decoders_last_layer_are_what_it_reads():
    z = torch.as_tensor(
        np.random.default_rng(4).normal(size=(10, 3)), dtype=torch.float32
    )
    net = _Net(3, 8)
    net.output_head = None
    net.decoder = MLPDecoder((8, 6), "tanh", 0.0, 3)
    seen = []
    last = net.decoder(z) is not None and net.decoder[-1]  # materialised
    hook = last.register_forward_pre_hook(lambda m, i: seen.append(i[0]))
    with torch.no_grad():
        net.decoder(z)
        features = layer_input(net, last_layer(net))(z)
    hook.remove()
    assert last_layer(net) is last
    torch.testing.assert_close(features, seen[0], rtol=0, atol=0)


def test_many_rows_are_read_evenly_spaced(monkeypatch):
    rows = torch.as_tensor(np.random.default_rng(5).normal(size=(101, 3)))
    rows = rows.to(torch.float32)
    monkeypatch.setattr(_finish, "MAX_ROWS", 26)
    many, few = _Net(3, 6), _Net(3, 6)
    assert finish_numeric(many, rows, None, [0, 1]).all()
    assert finish_numeric(few, rows[::4], None, [0, 1]).all()  # 0, 4, ..., 100
    torch.testing.assert_close(many.output_head.weight, few.output_head.weight)


def test_the_evenly_spaced_rows_are_in_range_for_tens_of_millions_of_rows():
    # float32 spacing is 4 past 2**25: its linspace ended one row past the end
    n = 2**25 + 4
    index = _finish.spaced_rows(n)
    assert len(index) == _finish.MAX_ROWS
    assert index[0] == 0 and index[-1] == n - 1
    assert len(torch.unique(index)) == _finish.MAX_ROWS


def test_a_failed_finish_leaves_the_fitted_model_as_it_was(monkeypatch):
    X = _table()
    est = AutoencoderTransformer(2, max_iter=3, warm_start=True, random_state=0)
    est.fit(X)
    state = {k: v.clone() for k, v in est.net_.module_.state_dict().items()}
    n_iter = est.n_iter_

    def fail(module, *args):
        with torch.no_grad():  # half way through: the weights changed
            module.output_head.weight.add_(1.0)
        raise RuntimeError("the finish failed")

    monkeypatch.setattr(_finish, "finish_numeric", fail)
    with pytest.raises(RuntimeError, match="the finish failed"):
        est.fit(X)  # the warm start continues the fitted network
    assert est.n_iter_ == n_iter
    for name, value in est.net_.module_.state_dict().items():
        assert torch.equal(value, state[name]), name


def test_the_finish_reads_the_network_in_eval_mode_and_gives_its_mode_back():
    rows = torch.as_tensor(
        np.random.default_rng(6).normal(size=(80, 3)), dtype=torch.float32
    )
    training, evaluating = _Net(3, 10), _Net(3, 10)
    for net in (training, evaluating):
        net.decoder.append(nn.Dropout(0.5))
    evaluating.eval()
    finish_numeric(training, rows, None, [0, 1])
    finish_numeric(evaluating, rows, None, [0, 1])
    # no dropout in the features the regression read
    torch.testing.assert_close(
        training.output_head.weight, evaluating.output_head.weight, rtol=0, atol=0
    )
    assert training.training and training.decoder[-1].training
    assert not evaluating.training


# ------------------------------------------------- the categorical columns


def _discrete_rows(n=300, seed=6):
    """A numeric column, a three-level one-hot block, a two-level block
    and a Bernoulli entry, each level a noisy function of the numeric
    column (which the stand-in network reads)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    noisy = a + 0.5 * rng.normal(size=n)
    level = np.digitize(noisy, [-0.5, 0.5])
    rows = np.zeros((n, 7))
    rows[:, 0] = a
    rows[np.arange(n), 1 + level] = 1
    rows[np.arange(n), 4 + (noisy > 0)] = 1
    rows[:, 6] = noisy > 0.3
    return torch.as_tensor(rows, dtype=torch.float32)


COLUMNS = [("categorical", 1, 3), ("categorical", 4, 2), ("bernoulli", 6, 1)]


def _log_losses(net, rows):
    with torch.no_grad():
        logits = net.output_head(net.decoder(net.encode(rows))).double()
    out = []
    for kind, start, width in COLUMNS:
        if kind == "bernoulli":
            z, y = logits[:, start], rows[:, start].double()
            out.append(
                float(torch.nn.functional.binary_cross_entropy_with_logits(z, y))
            )
        else:
            y = rows[:, start : start + width].argmax(dim=1)
            block = logits[:, start : start + width]
            out.append(float(torch.nn.functional.cross_entropy(block, y)))
    return np.array(out)


def test_finish_categorical_refits_each_discrete_column_as_scikit_learn_would():
    rows = _discrete_rows()
    net = _Net(7, 10, reads=[0])
    before = _log_losses(net, rows)
    head = net.output_head.weight.clone()
    refitted = finish_categorical(net, rows, None, COLUMNS)
    assert refitted.tolist() == [True, True, True]
    assert (_log_losses(net, rows) < before).all()
    assert torch.equal(net.output_head.weight[0], head[0])  # the numeric row
    # the three-level block: scikit-learn's multinomial regression, at one
    # of the penalties tried
    with torch.no_grad():
        h = net.decoder(net.encode(rows)).double().numpy()
    y = rows[:, 1:4].argmax(dim=1).numpy()
    center, scale = h.mean(axis=0), h.std(axis=0)  # fitted on standardised h
    fits = [
        LogisticRegression(C=c, max_iter=_finish.LOGISTIC_ITER).fit(
            (h - center) / scale, y
        )
        for c in [_finish.LOGISTIC_C]
    ]
    weight = net.output_head.weight[1:4].detach().double().numpy()
    assert any(np.allclose(weight, f.coef_ / scale, atol=1e-5) for f in fits)
    # the two-level block reads as logits (0, z); the Bernoulli entry as z
    assert torch.all(net.output_head.weight[4] == 0)
    assert net.output_head.bias[4] == 0


def test_finish_categorical_leaves_a_column_with_an_unseen_level():
    rows = _discrete_rows()
    rows[:, 1:4] = 0
    rows[:, 1] = 1  # a block whose second and third levels no row holds
    net = _Net(7, 10, reads=[0])
    head = net.output_head.weight.clone()
    refitted = finish_categorical(net, rows, None, COLUMNS)
    assert refitted.tolist() == [False, True, True]
    assert torch.equal(net.output_head.weight[1:4], head[1:4])


def test_finish_categorical_keeps_a_row_that_fits_better_than_a_refit():
    rows = _discrete_rows()
    net = _Net(7, 10, reads=[0])
    with torch.no_grad():  # a confident row, and labels that agree with it
        net.output_head.weight[6] *= 200
        net.output_head.bias[6] *= 200
        z = net.output_head(net.decoder(net.encode(rows)))[:, 6]
    rows[:, 6] = (z > 0).float()
    assert 0 < rows[:, 6].mean() < 1
    head = net.output_head.weight[6].clone()
    assert finish_categorical(net, rows, None, COLUMNS[2:]).tolist() == [False]
    assert torch.equal(net.output_head.weight[6], head)
