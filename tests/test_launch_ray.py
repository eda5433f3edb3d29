"""skae.distributed.fit_ray on a local Ray (2 CPUs, loopback): see
``tests/launching.py``. Skipped without Ray Train (CI installs the ray extra
and runs this file in its own pytest process)."""

import launching
import pytest
from launching import LAUNCH_TIMEOUT, data, failing, fit_and_check, time_limit
from sklearn.exceptions import NotFittedError

import skae
from skae.distributed import fit_ray


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
    ray.cloudpickle.register_pickle_by_value(launching)
    yield ray
    ray.cloudpickle.unregister_pickle_by_value(launching)
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
