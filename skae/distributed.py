"""Launchers: one estimator's ``fit`` on several processes or machines.

:func:`fit_ray` runs it on the workers of Ray Train (``TorchTrainer``),
:func:`fit_spark` on the processes of Spark's ``TorchDistributor``. Both
start the workers and their torch.distributed process group (gloo on CPUs,
NCCL on GPUs), give each worker its own rows, fit a copy of the estimator
with ``strategy="ddp"`` on every worker, and return rank 0's fitted
estimator to the caller: a plain estimator, which transforms, pickles and
saves with no process group. Everything about the training itself (what the
ranks agree on, what the batch size and learning rate mean) is the
estimator's ``strategy="ddp"``; a launcher only starts processes and moves
data and the model. With ``torchrun`` or ``accelerate launch`` no launcher
is needed: call ``fit`` in the script (see the user guide's page *Training
on several processes and machines*).

Ray and pyspark are optional, imported when a launcher is called: from a
clone, ``pip install -e ".[ray]"`` (Ray Train) and ``pip install -e
".[spark]"`` (pyspark; Spark also needs Java).
"""

import atexit
import inspect
import logging
import os
import pickle
import sys
import tempfile
from datetime import timedelta

import numpy as np

__all__ = ["fit_ray", "fit_spark"]

#: The process group's timeout (seconds) unless the caller gives one: how
#: long a rank waits in a collective for the others before it fails.
DEFAULT_TIMEOUT = 1800


def fit_ray(
    estimator,
    shards,
    *,
    num_workers=None,
    use_gpu=False,
    resources_per_worker=None,
    timeout=DEFAULT_TIMEOUT,
    run_config=None,
):
    """Fit a skae estimator on Ray Train workers, each on its own rows.

    Runs a Ray Train ``TorchTrainer`` with ``num_workers`` workers, which
    starts their process group (gloo, or NCCL with ``use_gpu=True``). Each
    worker fits a copy of ``estimator`` with ``strategy="ddp"`` on its
    shard; rank 0's fitted copy comes back to the caller. Ray connects to
    the cluster that ``ray.init`` (or ``RAY_ADDRESS``) names, or starts a
    local one.

    Parameters
    ----------
    estimator : skae estimator
        The estimator to fit (left unchanged). A fitted one with
        ``warm_start=True`` goes on training.
    shards : list or ray.data.Dataset
        The rows. A list gives one shard per worker, each an array-like
        that ``fit`` takes (sent through Ray's object store) or the path of
        a ``.npy`` file, which the worker reads memory-mapped (the path must
        exist on the worker's machine). A ``ray.data.Dataset`` is split into
        ``num_workers`` shards of equal size (Ray Train's default split,
        which may drop up to ``num_workers - 1`` rows) and each worker
        gathers its shard into a numpy array: every column side by side in
        the Dataset's order, a column of vectors giving one feature per
        entry (drop the other columns first, ``Dataset.select_columns``).
    num_workers : int or None, default=None
        How many workers; None gives one per shard of a list (then it must
        equal ``len(shards)`` when given). Required with a Dataset.
    use_gpu : bool, default=False
        Give each worker one GPU (Ray sets it as the worker's current CUDA
        device) and use NCCL; the estimator's ``device="auto"`` then trains
        on it.
    resources_per_worker : dict or None, default=None
        Ray resources per worker, e.g. ``{"CPU": 4}``; None is Ray Train's
        default (one CPU, and one GPU with ``use_gpu=True``). Ray sets each
        worker's ``OMP_NUM_THREADS`` to its CPUs.
    timeout : float, default=1800
        Seconds a worker waits in a collective for the others (the process
        group's timeout): how long a stalled worker can hold the others
        before they fail.
    run_config : ray.train.RunConfig or None, default=None
        Ray Train's run configuration (name, ``storage_path``, failure
        handling); None is Ray's default.

    Returns
    -------
    estimator : skae estimator
        Rank 0's fitted copy of ``estimator``, with ``strategy`` as
        ``estimator`` had it, so that it refits in one process.

    Raises
    ------
    ImportError
        Ray Train is not installed.
    Exception
        When a worker fails, its exception is raised here (that of a worker
        whose error is not a RuntimeError, the lowest rank among them, since
        the others' RuntimeErrors say that a collective failed when that
        worker stopped), with Ray's ``TrainingFailedError``, which holds
        every worker's traceback, as its cause.

    See Also
    --------
    fit_spark : The same on Spark's TorchDistributor.

    Notes
    -----
    Every worker holds its whole shard in memory unless it is a ``.npy``
    path (memory-mapped, read one batch at a time). With a list of arrays,
    the caller puts each shard into Ray's object store and only its worker
    fetches it.
    """
    try:
        import ray
        import ray.data
        import ray.train
        from ray.train.torch import TorchConfig, TorchTrainer
    except ImportError as exc:
        raise ImportError(
            f"skae.distributed.fit_ray needs the ray extra ({exc}): from a clone "
            'of skae, pip install -e ".[ray]"; or pip install "ray[train]".'
        ) from exc
    strategy = _strategy(estimator, "fit_ray")
    config = {"estimator": estimator, "dataset": isinstance(shards, ray.data.Dataset)}
    datasets = None
    if config["dataset"]:
        if num_workers is None:
            raise ValueError(
                "fit_ray splits a ray.data.Dataset into num_workers shards: "
                "give num_workers."
            )
        datasets = {"train": shards}
    else:
        num_workers = _check_shards(shards, num_workers, "num_workers")
        # through the object store: each worker fetches only its own shard
        config["shards"] = [_put(ray, shard) for shard in shards]
    mailbox = _mailbox(ray)
    config["mailbox"] = mailbox
    trainer = TorchTrainer(
        _ray_worker,
        train_loop_config=config,
        torch_config=TorchConfig(timeout_s=int(timeout)),
        scaling_config=ray.train.ScalingConfig(
            num_workers=num_workers,
            use_gpu=use_gpu,
            resources_per_worker=resources_per_worker,
        ),
        run_config=run_config,
        datasets=datasets,
    )
    try:
        trainer.fit()
        payload = ray.get(mailbox.take.remote())
    except Exception as exc:
        # Ray Train 2.x's WorkerGroupError holds each rank's own exception
        failures = getattr(exc, "worker_failures", None)
        if not failures:
            raise
        raise _root_failure(failures) from exc
    finally:
        ray.kill(mailbox)
    return pickle.loads(payload).set_params(strategy=strategy)


def fit_spark(
    estimator,
    shards,
    *,
    num_processes=None,
    local_mode=True,
    use_gpu=False,
    timeout=DEFAULT_TIMEOUT,
):
    """Fit a skae estimator on the processes of Spark's TorchDistributor.

    Runs ``pyspark.ml.torch.distributor.TorchDistributor`` with
    ``num_processes`` processes, started by ``torchrun``; each joins the
    process group (gloo, or NCCL with ``use_gpu=True``) and fits a copy of
    ``estimator`` with ``strategy="ddp"`` on its shard; rank 0's fitted
    copy comes back to the caller. Needs an active ``SparkSession``.

    Parameters
    ----------
    estimator : skae estimator
        The estimator to fit (left unchanged). A fitted one with
        ``warm_start=True`` goes on training.
    shards : list
        One shard per process, each an array-like that ``fit`` takes or the
        path of a ``.npy`` file, which the process reads memory-mapped (the
        path must exist where the process runs). Every process receives the
        whole list (in the pickled training function), so give paths rather
        than arrays for large data.
    num_processes : int or None, default=None
        How many processes; None gives one per shard (then it must equal
        ``len(shards)`` when given).
    local_mode : bool, default=True
        TorchDistributor's mode: True starts the processes on the driver's
        machine; False runs them as tasks of a barrier stage on the
        executors (one per task), which then need skae installed.
    use_gpu : bool, default=False
        One GPU per process, with NCCL; the estimator's ``device="auto"``
        then trains on it.
    timeout : float, default=1800
        Seconds a process waits in a collective for the others (the process
        group's timeout).

    Returns
    -------
    estimator : skae estimator
        Rank 0's fitted copy of ``estimator``, with ``strategy`` as
        ``estimator`` had it, so that it refits in one process.

    Raises
    ------
    ImportError
        pyspark is not installed.
    Exception
        In local mode, when a process fails, its exception is raised here
        (chosen as :func:`fit_ray` chooses), with TorchDistributor's
        RuntimeError as its cause; its traceback is in the processes'
        output. Otherwise TorchDistributor's error, which holds the end of
        the failed task's output.

    See Also
    --------
    fit_ray : The same on Ray Train.
    """
    try:
        from pyspark.ml.torch.distributor import TorchDistributor
    except ImportError as exc:
        raise ImportError(
            f"skae.distributed.fit_spark needs the spark extra ({exc}): from a "
            'clone of skae, pip install -e ".[spark]"; or pip install pyspark '
            "(Spark also needs Java)."
        ) from exc
    strategy = _strategy(estimator, "fit_spark")
    num_processes = _check_shards(shards, num_processes, "num_processes")
    distributor = TorchDistributor(
        num_processes=num_processes, local_mode=local_mode, use_gpu=use_gpu
    )
    with tempfile.TemporaryDirectory() as errors:
        try:
            payload = distributor.run(
                _spark_worker,
                estimator,
                list(shards),
                use_gpu,
                float(timeout),
                # the processes of local mode share the caller's file system
                errors if local_mode else None,
            )
        except Exception as exc:
            failures = {}
            for name in os.listdir(errors):
                with open(os.path.join(errors, name), "rb") as file:
                    failures[int(name.split(".")[0])] = pickle.load(file)
            if not failures:
                raise
            raise _root_failure(failures) from exc
    return pickle.loads(payload).set_params(strategy=strategy)


def _strategy(estimator, launcher):
    """``estimator``'s ``strategy``; a TypeError when it has none."""
    params = estimator.get_params(deep=False)
    if "strategy" not in params:
        import skae

        able = [
            name
            for name in skae.__all__
            if isinstance(getattr(skae, name), type)
            and "strategy" in inspect.signature(getattr(skae, name)).parameters
        ]
        raise TypeError(
            f"{launcher} fits an estimator with a strategy parameter ("
            f"{', '.join(able)}); got {type(estimator).__name__}. For a "
            "Pipeline, fit its skae step with the launcher and the other steps "
            "in the caller."
        )
    return params["strategy"]


def _check_shards(shards, count, count_name):
    """The number of processes for a list of shards."""
    if not isinstance(shards, list | tuple) or not shards:
        raise TypeError(
            "shards is a non-empty list with one shard per process (arrays or "
            f".npy paths); got {type(shards).__name__} instead."
        )
    if count is not None and count != len(shards):
        raise ValueError(
            f"{count_name}={count} but {len(shards)} shards: one shard per "
            f"process (leave {count_name}=None to start one per shard)."
        )
    for part in shards:
        if isinstance(part, str | os.PathLike) and not str(part).endswith(".npy"):
            raise ValueError(
                f"A shard given as a path is a .npy file; got {str(part)!r}. "
                "Save it with np.save, or pass the array."
            )
    return len(shards)


def _put(ray, part):
    """A path as it is (its worker reads it), an array into the object store."""
    return part if isinstance(part, str | os.PathLike) else ray.put(part)


def _read(part):
    """A shard on its worker: a ``.npy`` path memory-mapped, an array as it
    is."""
    if isinstance(part, str | os.PathLike):
        return np.load(part, mmap_mode="r")
    return part


def _fit_rank(estimator, X, dumps):
    """Fit this rank's copy on its rows; the fitted estimator, pickled with
    the launcher's cloudpickle (``dumps``), which also pickles classes
    defined in the caller's ``__main__`` (an encoder written in a notebook)."""
    estimator.set_params(strategy="ddp").fit(X)
    return dumps(estimator)


def _ray_worker(config):
    """One Ray Train worker: its rows, its fit, and rank 0's result into the
    caller's mailbox."""
    import ray
    import ray.train

    rank = ray.train.get_context().get_world_rank()
    if config["dataset"]:
        X = _dataset_rows(ray.train.get_dataset_shard("train"))
    else:
        shard = config["shards"][rank]
        X = ray.get(shard) if isinstance(shard, ray.ObjectRef) else _read(shard)
    payload = _fit_rank(config["estimator"], X, ray.cloudpickle.dumps)
    if rank == 0:
        ray.get(config["mailbox"].put.remote(payload))


def _dataset_rows(shard):
    """A Ray Data shard as one numpy array, its columns side by side."""
    blocks = []
    for batch in shard.iter_batches(batch_format="numpy", batch_size=None):
        columns = [column.reshape(len(column), -1) for column in batch.values()]
        blocks.append(np.column_stack(columns))
    if not blocks:
        raise ValueError(
            "This worker's share of the Dataset has no rows: give fewer "
            "workers than rows."
        )
    return np.concatenate(blocks)


def _root_failure(failures):
    """The exception to raise in the caller, of ``{rank: exception}``: the
    lowest rank's that is not a RuntimeError (the error of the rank that
    failed first; the others' say that a collective failed), else rank
    0's."""
    ranks = sorted(failures)
    first = [r for r in ranks if not isinstance(failures[r], RuntimeError)]
    return failures[(first or ranks)[0]]


def _mailbox(ray):
    """An actor in the caller's Ray that holds rank 0's pickled estimator
    until the caller takes it: the training function's workers end with the
    run, and a file would need storage that every node shares."""

    @ray.remote(num_cpus=0)
    class Mailbox:
        def __init__(self):
            self.payload = None

        def put(self, payload):
            self.payload = payload

        def take(self):
            return self.payload

    return Mailbox.remote()


def _spark_worker(estimator, shards, use_gpu, timeout, errors):
    """One process under TorchDistributor (started by torchrun): join the
    group, fit, and return rank 0's pickled estimator on every rank. A
    failed rank writes its exception to ``errors/<rank>.pickle`` (when
    ``errors`` is a folder) before it raises."""
    import torch
    import torch.distributed as dist
    from pyspark import cloudpickle

    joined = not dist.is_initialized()
    if joined:
        _skip_finalization_at_exit()
        if use_gpu:
            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
        dist.init_process_group(
            "nccl" if use_gpu else "gloo", timeout=timedelta(seconds=timeout)
        )
    rank = dist.get_rank()
    try:
        payload = [_fit_rank(estimator, _read(shards[rank]), cloudpickle.dumps)]
        # In local mode every rank writes its return value to the same file,
        # and the caller reads whatever is there: every rank returns rank
        # 0's bytes, so that the file holds them whichever rank wrote last.
        dist.broadcast_object_list(payload, src=0)
        return payload[0]
    except Exception as exc:
        if errors is not None:
            try:
                failure = cloudpickle.dumps(exc)
            except Exception:  # an exception that does not pickle: its text
                failure = cloudpickle.dumps(
                    RuntimeError(f"{type(exc).__name__}: {exc}")
                )
            with open(os.path.join(errors, f"{rank}.pickle"), "wb") as file:
                file.write(failure)
        raise
    finally:
        if joined:
            dist.destroy_process_group()


def _skip_finalization_at_exit():
    """End this process at exit without Python's finalization, keeping its
    exit status: 0, or 1 after an uncaught exception (``sys.excepthook``
    runs before the atexit handlers). Registered last, this handler runs
    first: it shuts logging down and flushes the standard streams, and the
    handlers registered before it do not run (a ``sys.exit(n)`` would end
    with 0 too: TorchDistributor's script calls none).

    For the processes that TorchDistributor's torchrun starts for one fit
    (which run :func:`_spark_worker`, then write its return value and end):
    with a gloo group, such a process sometimes aborted at exit, after the
    group was destroyed and its output written ("terminate called without an
    active exception", SIGABRT, in finalization with no Python frame), about
    1 exit in 5 with two torchrun agents of one process each (Spark's
    ``local_mode=False``), which failed the whole run and left the other
    agent waiting. A plain script calling the same fit under the same two
    agents did the same; with this handler, none of its exits aborted in 14.
    """
    failed = []
    previous = sys.excepthook

    def record(*exc_info):
        failed.append(True)
        previous(*exc_info)

    def leave():
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1 if failed else 0)

    sys.excepthook = record
    atexit.register(leave)
