"""partial_fit: one epoch per chunk, normalisation fixed by the first chunk."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from conftest import fast_autoencoders
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

import skae
from skae._data import Normalisation

ESTIMATORS = fast_autoencoders()
IDS = [f"{type(e).__name__}-{i}" for i, e in enumerate(ESTIMATORS)]


def _chunks(X, size):
    return [X[i : i + size] for i in range(0, len(X), size)]


def _stream(estimator, chunks, **params):
    model = clone(estimator).set_params(random_state=0, **params)
    for chunk in chunks:
        model.partial_fit(chunk)
    return model


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_chunks_train_reproducibly_and_keep_the_books(estimator, digits):
    X, _ = digits
    chunks = _chunks(X, 100)
    model = _stream(estimator, chunks)
    again = _stream(estimator, chunks)
    np.testing.assert_array_equal(model.transform(X), again.transform(X))
    assert model.n_iter_ == len(chunks) == len(model.loss_curve_)
    assert model.n_samples_seen_ == len(X)
    assert model.validation_scores_ is None
    assert np.isfinite(model.transform(X)).all()
    # the first chunk fixed the normalisation; later chunks did not move it
    normalisation = Normalisation.fit(chunks[0], model.loss_)
    np.testing.assert_array_equal(model.offset_, normalisation.offset)
    assert model.scale_ == normalisation.scale


def test_streaming_learns(digits):
    X, _ = digits
    train, test = X[:300], X[300:]
    model = skae.AutoencoderTransformer(8, random_state=0)
    model.partial_fit(train[:100])
    first = model.score(test)
    for _ in range(15):
        for chunk in _chunks(train, 100):
            model.partial_fit(chunk)
    # held-out reconstruction error falls well below its value after one chunk
    assert model.score(test) > 0.5 * first  # scores are minus errors
    assert -model.score(test) < 0.5 * -first


def test_adam_state_carries_over_between_calls(digits):
    X, _ = digits
    model = skae.AutoencoderTransformer(2, hidden_layer_sizes=(8,), batch_size=50)
    for chunk in _chunks(X, 100):
        model.partial_fit(chunk)
    state = model.net_.optimizer_.state
    steps = {int(s["step"]) for s in state.values()}
    assert steps == {len(X) // 50}  # every step of every call, in one Adam
    # fit, by contrast, keeps no optimizer state
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = clone(model).set_params(max_iter=2).fit(X)
    assert not fitted.net_.optimizer_.state


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_a_pickled_model_continues_exactly(estimator, digits):
    # dask-ml's Incremental ships the model between workers after each block
    X, _ = digits
    model = _stream(estimator, [X[:200]])
    copy = pickle.loads(pickle.dumps(model))
    model.partial_fit(X[200:])
    copy.partial_fit(X[200:])
    np.testing.assert_array_equal(model.transform(X), copy.transform(X))


def test_partial_fit_continues_a_fitted_model(digits):
    X, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = skae.AutoencoderTransformer(2, max_iter=3, random_state=0).fit(X)
    offset = model.offset_.copy()
    before = model.transform(X)
    model.partial_fit(X[:50])
    assert model.n_iter_ == 4
    np.testing.assert_array_equal(model.offset_, offset)
    assert not np.array_equal(model.transform(X), before)


def test_sparse_chunks(digits):
    X, _ = digits
    dense = _stream(skae.AutoencoderTransformer(2, max_iter=1), _chunks(X, 200))
    from_sparse = _stream(
        skae.AutoencoderTransformer(2, max_iter=1),
        [sp.csr_matrix(c) for c in _chunks(X, 200)],
    )
    np.testing.assert_allclose(
        from_sparse.transform(X), dense.transform(X), rtol=1e-5, atol=1e-6
    )


def _state(model):
    return (
        model.n_iter_,
        model.n_samples_seen_,
        {k: v.clone() for k, v in model.net_.module_.state_dict().items()},
    )


def _assert_unchanged(model, state):
    n_iter, seen, weights = state
    assert (model.n_iter_, model.n_samples_seen_) == (n_iter, seen)
    for key, value in model.net_.module_.state_dict().items():
        assert np.array_equal(value.numpy(), weights[key].numpy())


def test_bad_chunks_raise_and_leave_the_model_as_it_was(digits):
    X, _ = digits  # pixels 0..16: loss="auto" picks "bce"
    model = skae.AutoencoderTransformer(2, random_state=0).partial_fit(X[:100])
    assert model.loss_ == "bce"
    state = _state(model)
    with pytest.raises(ValueError, match=r"outside the range \[0, 16\] of the first"):
        model.partial_fit(X[100:200] * 2)
    _assert_unchanged(model, state)
    with pytest.raises(ValueError, match="expecting 64 features"):
        model.partial_fit(X[100:200, :10])
    _assert_unchanged(model, state)
    with pytest.raises(ValueError, match="cannot switch to loss='mse'"):
        model.set_params(loss="mse").partial_fit(X[100:200])
    _assert_unchanged(model, state)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        model.set_params(loss="auto").partial_fit(np.full((3, 64), np.nan))
    _assert_unchanged(model, state)
    # a one-row chunk is fine once the normalisation is fixed, not before
    model.partial_fit(X[:1])
    assert model.n_samples_seen_ == 101
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        skae.AutoencoderTransformer(2).partial_fit(X[:1])


def test_partial_fit_leaves_no_copy_of_the_net_as_garbage():
    # the copy of the net a partial_fit trains must leave no weights (tensors,
    # or their pickled bytes: skorch's deepcopy goes through pickling) in
    # reference cycles, which only a full collection frees: 200 ms a call in
    # a process with torch and scikit-learn loaded
    import gc
    import io
    import tempfile

    X = np.random.RandomState(0).rand(50, 6)
    model = skae.AutoencoderTransformer(2, hidden_layer_sizes=(4,), device="cpu")
    model.partial_fit(X)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds stays in gc.garbage
    try:
        for _ in range(3):
            model.partial_fit(X)
        gc.collect()
        weights = (torch.Tensor, bytes, bytearray, io.IOBase)
        left = [
            type(o).__name__
            for o in gc.garbage
            if isinstance(o, weights + (tempfile.SpooledTemporaryFile,))
        ]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left == []


def test_the_copy_a_partial_fit_trains_is_independent_and_continues_exactly():
    import copy

    from skae._net import copy_net

    X = np.random.RandomState(0).rand(60, 6)
    # seeded: unseeded, all 4 ReLU units may start dead on these rows (a
    # CI run saw it), and then nothing trains the code layer
    model = skae.AutoencoderTransformer(
        2, hidden_layer_sizes=(4,), device="cpu", random_state=0
    )
    model.partial_fit(X).partial_fit(X)
    before = {k: v.clone() for k, v in model.net_.module_.state_dict().items()}
    history = copy.deepcopy(list(model.net_.history))
    ours, skorchs = copy_net(model.net_), copy.deepcopy(model.net_)
    params = {id(p) for p in ours.module_.parameters()}
    assert params.isdisjoint(id(p) for p in model.net_.module_.parameters())
    assert {id(p) for p in ours.optimizer_.state} == params  # Adam's moments
    assert ours.history == model.net_.history
    assert ours.history is not model.net_.history
    # the last epoch is copied (a callback may record into it before the
    # next begins); the finished ones before it are shared
    assert ours.history[-1] is not model.net_.history[-1]
    assert ours.history[0] is model.net_.history[0]
    for net in (ours, skorchs):
        torch.manual_seed(0)  # dropout draws from torch's global generator
        net.partial_fit(skae._data.TensorDataset(torch.from_numpy(X).float()))
    trained = ours.module_.state_dict()
    for name, value in model.net_.module_.state_dict().items():
        assert torch.equal(value, before[name])  # the original is untouched
        assert torch.equal(trained[name], skorchs.module_.state_dict()[name])
    assert not torch.equal(trained["code_head.weight"], before["code_head.weight"])
    assert list(model.net_.history) == history  # the original's is untouched
    assert len(ours.history) == len(history) + 1 == 3


def test_a_callback_that_keeps_the_net_gets_the_copy():
    from skorch.callbacks import Callback

    class Keeps(Callback):
        def on_train_begin(self, net, **kwargs):
            self.net = net

    X = np.random.RandomState(0).rand(60, 6)
    model = skae.AutoencoderTransformer(
        2, hidden_layer_sizes=(4,), callbacks=[Keeps()], device="cpu"
    )
    model.partial_fit(X)
    from skae._net import copy_net

    copied = copy_net(model.net_)
    kept = dict(copied.callbacks_)["user_0_Keeps"].net
    assert kept is copied  # not a third copy of the weights
