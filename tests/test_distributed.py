"""Cross-validated search on a dask cluster (local processes on loopback)."""

import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import skae

distributed = pytest.importorskip("distributed")


def _torch_threads(estimator, X, y=None):
    return torch.get_num_threads()


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dask's own start-up chatter
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        with cluster, distributed.Client(cluster) as client:
            yield client


@pytest.mark.slow
def test_dask_backend_gives_the_serial_cv_results(client):
    X = np.random.RandomState(0).normal(size=(200, 6))
    base = skae.AutoencoderTransformer(
        hidden_layer_sizes=(8,), max_iter=3, random_state=0
    )
    grid = {"n_components": [1, 2], "activation": ["relu", "tanh"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        serial = GridSearchCV(base, grid, cv=2, n_jobs=1).fit(X)
        with joblib.parallel_backend("dask"):
            on_dask = GridSearchCV(base, grid, cv=2, n_jobs=-1).fit(X)
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(serial.cv_results_[key], on_dask.cv_results_[key])
    assert on_dask.best_params_ == serial.best_params_


def test_dask_workers_run_torch_on_one_thread(client):
    # dask's nanny starts workers with OMP_NUM_THREADS=1 (threads_per_worker=1
    # here), so concurrent fits do not oversubscribe the cores
    X = np.random.RandomState(0).normal(size=(40, 4))
    base = skae.AutoencoderTransformer(hidden_layer_sizes=(4,), max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with joblib.parallel_backend("dask"):
            grid = GridSearchCV(
                base, {"n_components": [1, 2]}, cv=2, n_jobs=-1, scoring=_torch_threads
            ).fit(X)
    assert set(grid.cv_results_["mean_test_score"]) == {1}


@pytest.mark.slow
def test_dask_ml_incremental_trains_block_by_block_on_the_cluster(client):
    # dask-ml's Incremental calls partial_fit once per block of a dask array,
    # on the cluster's workers, shipping the model from one task to the next
    wrappers = pytest.importorskip("dask_ml.wrappers")
    da = pytest.importorskip("dask.array")
    X = np.random.RandomState(0).normal(size=(400, 6))
    base = skae.AutoencoderTransformer(2, hidden_layer_sizes=(8,), random_state=0)
    with distributed.get_task_stream(client) as tasks:
        incremental = wrappers.Incremental(base, shuffle_blocks=False).fit(
            da.from_array(X, chunks=(100, 6))
        )
    assert any(task["key"][0].startswith("fit-") for task in tasks.data)
    fitted = incremental.estimator_
    assert (fitted.n_iter_, fitted.n_samples_seen_) == (4, 400)
    serial = clone(base)
    for start in range(0, 400, 100):
        serial.partial_fit(X[start : start + 100])
    # the workers run torch on one thread, this process on two: the same
    # arithmetic up to float32 rounding
    codes = incremental.transform(da.from_array(X, chunks=(100, 6))).compute()
    np.testing.assert_allclose(codes, serial.transform(X), rtol=1e-4, atol=1e-5)
