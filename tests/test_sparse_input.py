"""scipy.sparse and np.memmap input: read one batch at a time, never whole."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import fast_autoencoders
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

import skae
from skae._inference import INFERENCE_BATCH_SIZE

ESTIMATORS = fast_autoencoders()
IDS = [f"{type(e).__name__}-{i}" for i, e in enumerate(ESTIMATORS)]


def _data(n=300, d=40, density=0.1):
    return sp.random(n, d, density=density, format="csr", random_state=0) * 5.0


def _fit(estimator, X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clone(estimator).set_params(random_state=0, **params).fit(X)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_sparse_fit_equals_dense_fit(estimator):
    # the same rows, normalised the same way, batches drawn the same way:
    # the sparse path trains the very same model
    X = _data()
    dense = X.toarray()
    from_sparse = _fit(estimator, X)
    from_dense = _fit(estimator, dense)
    assert from_sparse.loss_ == from_dense.loss_
    np.testing.assert_allclose(from_sparse.offset_, from_dense.offset_, rtol=1e-12)
    np.testing.assert_allclose(from_sparse.scale_, from_dense.scale_, rtol=1e-10)
    np.testing.assert_allclose(
        from_sparse.transform(X), from_dense.transform(dense), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        from_sparse.score_samples(X), from_dense.score_samples(dense), rtol=1e-6
    )
    np.testing.assert_array_equal(
        from_dense.transform(X.tocsc()), from_dense.transform(dense)
    )


def test_sparse_matrix_is_densified_one_batch_at_a_time(monkeypatch):
    X = _data(n=700, d=30)
    largest = []
    original = sp.csr_matrix.toarray

    def recording_toarray(self, *args, **kwargs):
        largest.append(self.shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sp.csr_matrix, "toarray", recording_toarray)
    model = _fit(
        skae.AutoencoderTransformer(2, hidden_layer_sizes=(8,), max_iter=2),
        X,
        batch_size=64,
        early_stopping=True,
    )
    # training batches, then one inference batch: the codes of the training
    # rows (all 700) for the fitted diagnostics (n_dead_components_)
    assert largest and max(largest[:-1]) <= 64
    assert largest[-1] == 700 <= INFERENCE_BATCH_SIZE
    largest.clear()
    model.transform(X)
    model.score_samples(X)
    assert largest and max(largest) <= INFERENCE_BATCH_SIZE


def test_auto_loss_counts_implicit_zeros():
    # a binary sparse matrix piles up at 0 (implicit) and 1: bce
    X = (_data(density=0.3) > 0).astype(np.float64)
    assert _fit(skae.AutoencoderTransformer(2, max_iter=1), X).loss_ == "bce"


def test_memmap_is_read_batch_by_batch_and_trains_the_same_model(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 12)).astype(np.float32)
    path = tmp_path / "X.dat"
    mapped = np.memmap(path, dtype=np.float32, mode="w+", shape=X.shape)
    mapped[:] = X
    mapped.flush()
    read_only = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)
    est = skae.AutoencoderTransformer(2, hidden_layer_sizes=(8,), max_iter=3)
    from_memmap = _fit(est, read_only)
    from_memory = _fit(est, X)
    np.testing.assert_array_equal(from_memmap.transform(X), from_memory.transform(X))
    assert from_memmap.loss_curve_ == from_memory.loss_curve_


def test_a_dense_set_too_big_for_the_device_is_streamed(monkeypatch):
    # stands in for a GPU whose free memory is smaller than the data: the
    # check is patched, so it runs (and streams) on the CPU
    from skae import _data

    X = np.random.RandomState(0).normal(size=(300, 10))
    expected = skae.AutoencoderTransformer(2, max_iter=3, random_state=0).fit(X)
    seen = []
    real = _data.LazyRows

    def recording(*args, **kwargs):
        seen.append(args[0].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr(_data, "_free_device_memory", lambda device: 4 * X.size)
    monkeypatch.setattr(_data, "LazyRows", recording)
    streamed = skae.AutoencoderTransformer(2, max_iter=3, random_state=0).fit(X)
    assert seen == [X.shape]  # not moved whole
    np.testing.assert_allclose(streamed.transform(X), expected.transform(X), rtol=1e-5)
