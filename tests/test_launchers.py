"""The launchers of ``skae.distributed``: Ray Train and Spark's TorchDistributor.

Each end-to-end test starts a local engine on loopback (Ray with 2 CPUs;
Spark ``local[2]``), fits a tiny autoencoder on 2 workers with one shard
each, and checks in the caller what came back: the weights every worker
ended with (a callback writes their hash to ``tmp_path`` from each rank),
rank 0's estimator, with no process group in the caller. The tests that
need Ray or pyspark skip without them (CI installs both in an extra step);
the ones about a missing engine run everywhere.
"""

import hashlib
import shutil
import signal
import sys
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback

import skae
from skae.distributed import fit_ray, fit_spark

#: The longest one launch may take before the test fails instead of hanging
#: (a launch takes about 30 s on a loaded 2-core machine).
LAUNCH_TIMEOUT = 300


def weights_digest(module):
    """A hash of a module's weights and buffers."""
    state = module.state_dict()
    return hashlib.sha256(
        b"".join(state[k].cpu().numpy().tobytes() for k in sorted(state))
    ).hexdigest()


class WriteDigest(Callback):
    """At the end of training, write this rank's weights hash to
    ``folder/rank<r>.txt``."""

    def __init__(self, folder):
        self.folder = folder

    def on_train_end(self, net, **kwargs):
        rank = torch.distributed.get_rank()
        with open(f"{self.folder}/rank{rank}.txt", "w") as file:
            file.write(weights_digest(net.module_))


class FailOnRankOne(Callback):
    """Raise on rank 1 at the end of the second epoch: a worker that fails
    in the middle of the fit."""

    def on_epoch_end(self, net, **kwargs):
        if torch.distributed.get_rank() == 1 and len(net.history) == 2:
            raise ZeroDivisionError("rank 1 fails on purpose")


def failing():
    return skae.AutoencoderTransformer(
        hidden_layer_sizes=(8,), max_iter=5, callbacks=[FailOnRankOne()]
    )


def tiny(folder):
    return skae.AutoencoderTransformer(
        n_components=2,
        hidden_layer_sizes=(8,),
        max_iter=3,
        random_state=0,
        callbacks=[WriteDigest(str(folder))],
    )


def data(n=200, n_features=6, seed=0):
    rng = np.random.RandomState(seed)
    codes = rng.randn(n, 2)
    return (codes @ rng.randn(2, n_features) + 0.3 * rng.randn(n, n_features)).astype(
        np.float32
    )


@contextmanager
def time_limit(seconds):
    """Fail with a TimeoutError after ``seconds`` instead of hanging."""

    def expire(signum, frame):
        raise TimeoutError(f"the launch took over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check_returned(fitted, given, folder, X):
    """What a launcher returned is rank 0's fitted copy, the same weights as
    every worker's, usable in this process with no group."""
    with pytest.raises(NotFittedError):
        given.transform(X)  # the caller's estimator is left unfitted
    digests = {path.name: path.read_text() for path in folder.iterdir()}
    assert sorted(digests) == ["rank0.txt", "rank1.txt"]
    assert digests["rank0.txt"] == digests["rank1.txt"]
    assert weights_digest(fitted.net_.module_) == digests["rank0.txt"]
    assert fitted.strategy is None  # as the caller's estimator had it
    assert not torch.distributed.is_initialized()
    assert fitted.transform(X).shape == (len(X), 2)
    # the statistics of every worker's rows, not of rank 0's alone
    np.testing.assert_allclose(fitted.offset_, X.mean(axis=0), rtol=1e-5, atol=1e-5)


def fit_and_check(launcher, tmp_path, shards=None, **kwargs):
    """Fit the tiny autoencoder with ``launcher`` on 2 workers, by default
    on a ``.npy`` path (rows 0-99) and an array (rows 100-199), or on
    ``shards(X)``; check what came back; return it."""
    X = data()
    np.save(tmp_path / "shard0.npy", X[:100])  # a path, read by its worker
    folder = tmp_path / "digests"
    folder.mkdir()
    given = tiny(folder)
    rows = [str(tmp_path / "shard0.npy"), X[100:]] if shards is None else shards(X)
    with time_limit(LAUNCH_TIMEOUT):
        fitted = launcher(given, rows, timeout=120, **kwargs)
    check_returned(fitted, given, folder, X)
    return fitted


# ------------------------------------------------------------- no engine


@pytest.mark.parametrize(
    "launcher, module, extra",
    [(fit_ray, "ray", "ray"), (fit_spark, "pyspark", "spark")],
)
def test_a_missing_engine_names_the_extra(monkeypatch, launcher, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    with pytest.raises(ImportError, match=rf'the {extra} extra .* -e "\.\[{extra}\]"'):
        launcher(skae.AutoencoderTransformer(), [data(), data()])


# ------------------------------------------------------------------- Ray


@pytest.mark.slow
def test_fit_ray_raises_the_failed_workers_error(ray_local, tmp_path):
    X = data()
    given = failing()
    with time_limit(LAUNCH_TIMEOUT):
        with pytest.raises(ZeroDivisionError, match="rank 1 fails on purpose"):
            fit_ray(
                given,
                [X[:100], X[100:]],
                timeout=120,
                run_config=ray_run_config(ray_local, tmp_path),
            )
    with pytest.raises(NotFittedError):
        given.transform(X)


def test_fit_ray_checks_its_arguments_before_starting(tmp_path):
    pytest.importorskip("ray.train")
    import ray

    started = ray.is_initialized()
    X = data()
    with pytest.raises(ValueError, match="num_workers=3 but 2 shards"):
        fit_ray(skae.AutoencoderTransformer(), [X, X], num_workers=3)
    with pytest.raises(ValueError, match=r"\.npy file; got 'x\.csv'"):
        fit_ray(skae.AutoencoderTransformer(), ["x.csv", X])
    with pytest.raises(TypeError, match="non-empty list"):
        fit_ray(skae.AutoencoderTransformer(), X)
    with pytest.raises(TypeError, match="got PCA"):
        from sklearn.decomposition import PCA

        fit_ray(PCA(), [X, X])
    assert ray.is_initialized() == started  # refused before anything started


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray of 2 CPUs on loopback, quiet; shut down after the module."""
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.train")

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=100 * 2**20,
        _node_ip_address="127.0.0.1",
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    # the workers unpickle the test's callback by value (they cannot import
    # this test module)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield ray
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    ray.shutdown()
    monkeypatch.undo()


def ray_run_config(ray, tmp_path):
    import ray.train

    return ray.train.RunConfig(storage_path=str(tmp_path / "ray_results"))


@pytest.mark.slow
def test_fit_ray_on_a_list_of_shards(ray_local, tmp_path):
    run_config = ray_run_config(ray_local, tmp_path)
    fitted = fit_and_check(fit_ray, tmp_path, run_config=run_config)
    assert fitted.n_iter_ == 3


@pytest.mark.slow
def test_fit_ray_on_a_ray_dataset(ray_local, tmp_path):
    fit_and_check(
        fit_ray,
        tmp_path,
        shards=ray_local.data.from_numpy,
        num_workers=2,
        run_config=ray_run_config(ray_local, tmp_path),
    )


# ----------------------------------------------------------------- Spark


@pytest.fixture(scope="module")
def spark_local():
    """A Spark ``local[2]`` session on loopback, quiet."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java")
    from pyspark import cloudpickle
    from pyspark.sql import SparkSession

    monkeypatch = pytest.MonkeyPatch()
    # the executors' Python: this one (the default is python3 on the PATH)
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield spark
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    spark.stop()
    monkeypatch.undo()


@pytest.mark.slow
@pytest.mark.parametrize("local_mode", [True, False])
def test_fit_spark(spark_local, tmp_path, local_mode):
    fit_and_check(fit_spark, tmp_path, local_mode=local_mode)


@pytest.mark.slow
def test_fit_spark_raises_the_failed_processs_error(spark_local):
    X = data()
    given = failing()
    with time_limit(LAUNCH_TIMEOUT):
        with pytest.raises(ZeroDivisionError, match="rank 1 fails on purpose"):
            fit_spark(given, [X[:100], X[100:]], timeout=120)
    with pytest.raises(NotFittedError):
        given.transform(X)
