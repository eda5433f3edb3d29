"""Data-parallel training over torch.distributed: ``strategy="ddp"``.

API note (what launchers and the docs can rely on). With ``strategy="ddp"``
every process of a torch.distributed process group calls the same method
(``fit`` or ``partial_fit``) of an estimator with the same parameters
(``verbose``, ``random_state`` and a GPU's index may differ), each with
**its own rows** (the same columns everywhere; no rank needs the whole
data). The call joins the default process group when one is initialised
(a torchrun script's ``init_process_group``, ``accelerate launch``, Ray
Train, Spark's ``TorchDistributor``); when none is but torchrun's
environment variables are set (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
``MASTER_PORT``) it initialises it from them (gloo on the CPU, NCCL when
the model trains on CUDA) and leaves it initialised for the next call;
otherwise it raises a RuntimeError naming ``torchrun --nproc_per_node=N
script.py`` before any work. On CUDA (``device="auto"`` or ``"cuda"``) each
rank trains on ``cuda:LOCAL_RANK``. Agreed across ranks (all-reduced): the
normalisation statistics, ``loss="auto"``, the noise's statistics, the
number of optimizer steps per epoch (the largest number of batches of any
rank: a rank with fewer rows draws a new shuffle of its rows and goes on
until it has made as many steps, so that every rank takes part in every
gradient all-reduce), ``max_iter="auto"``'s epochs and the one-cycle
schedule's steps, each epoch's losses (means over the rows of all ranks,
so early stopping's held-out score and every stopping decision) and the
gradients (averaged by ``DistributedDataParallel``). ``batch_size`` is per
rank, as in DDP: a step sees ``batch_size * world_size`` rows, and the
learning rate is not scaled. After the call every rank holds the same
fitted estimator (rank 0's weights and fitted attributes, broadcast; the
history's epoch durations are each rank's own), a plain estimator with no
reference to the group: it pickles, saves (from rank 0, say) and
transforms in any process. A check that fails on one rank before training
(its rows, its parameters, a different number of features) raises on every
rank, naming the rank; a failure during training raises on its rank, and
the others raise a RuntimeError when their next collective fails: at once
when the failed process exits, otherwise after the group's timeout
(``init_process_group(timeout=...)``); a loss that turns non-finite on
one rank is judged at the epoch's end, where every rank raises
``TrainingDiverged``. A failed call leaves every rank's estimator as it
was.

Not supported yet (a ValueError before any work): the supervised option
(``target_weight > 0``), missing values (:class:`~skae.AutoencoderImputer`)
and :class:`~skae.AutoencoderOutlierDetector`'s threshold.
"""

import os
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch

from ._random import stream_seed

#: torchrun's environment: with all four set, ``fit`` can start the group.
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")

NO_GROUP = (
    "strategy='ddp' trains on the processes of a torch.distributed process "
    "group, and this process is in none: launch the script on N processes "
    "with `torchrun --nproc_per_node=N script.py` (or accelerate launch, Ray "
    "Train, Spark's TorchDistributor: see skae.distributed), or call "
    "torch.distributed.init_process_group() before fit. Use strategy=None to "
    "train in this process alone."
)

#: Words of the errors torch raises when a collective cannot complete (a
#: peer closed its connection, died, or did not answer in time).
_COLLECTIVE_FAILURE = ("gloo", "nccl", "connection closed", "timed out", "timeout")


def _dist():
    import torch.distributed as dist

    return dist


def join(estimator):
    """The :class:`Ranks` of a fit with ``strategy="ddp"`` (joining, or
    starting from torchrun's environment, the default process group), or
    None for ``strategy=None``; a RuntimeError naming the launch command
    when there is no group to join, before any work."""
    if estimator.strategy is None:
        return None
    if getattr(estimator, "target_weight", 0) > 0:
        raise ValueError(
            "strategy='ddp' does not train the supervised option yet "
            "(target_weight > 0: its classes and the target's standardisation "
            "would be fitted on each rank's rows alone). Use target_weight=0, "
            "or strategy=None."
        )
    if not torch.distributed.is_available():
        raise RuntimeError(
            "strategy='ddp' needs torch.distributed, which this build of torch "
            "does not have. Use strategy=None."
        )
    dist = _dist()
    from ._device import resolve_device

    device = resolve_device(estimator.device)
    if not dist.is_initialized():
        if not all(os.environ.get(name) for name in TORCHRUN_ENV):
            raise RuntimeError(NO_GROUP)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Ranks(dist.get_rank(), dist.get_world_size(), dist.get_backend())


def local_cuda_index():
    """The GPU of this process: torchrun's ``LOCAL_RANK``, else 0."""
    return int(os.environ.get("LOCAL_RANK", 0))


def _agreed_value(value):
    """A parameter's value as compared across ranks, or None for one that
    cannot be compared by value (a module, a callback list, a generator)."""
    if value is None or isinstance(value, bool | Integral | Real | str):
        return value
    if isinstance(value, list | tuple) and all(
        isinstance(v, Integral | Real | str) for v in value
    ):
        return tuple(value)
    return None


class Ranks:
    """The processes of a data-parallel fit, from this one's view: its
    ``rank``, the ``world_size``, and the collectives a fit agrees through
    (float64 sums, minima and maxima of small vectors, one object from
    every rank, rank 0's weights). ``steps``: the optimizer steps every
    rank makes per epoch (set by the training run); ``ddp``: the
    ``DistributedDataParallel`` wrapper a training step runs the module
    through (set for the run only)."""

    def __init__(self, rank, world_size, backend):
        self.rank = rank
        self.world_size = world_size
        self.backend = backend
        self.steps = None
        self.ddp = None
        # NCCL reduces tensors on this process's GPU only
        self.device = torch.device("cpu")
        if backend == "nccl":
            self.device = torch.device("cuda", local_cuda_index())
            torch.cuda.set_device(self.device)

    # ------------------------------------------------------------ placing

    def place(self, device, requested):
        """The device this rank trains on: ``cuda:LOCAL_RANK`` for a CUDA
        ``device`` whose ``requested`` parameter names no GPU index."""
        if (
            device.type == "cuda"
            and torch.device("cuda" if requested == "auto" else requested).index is None
        ):
            device = torch.device("cuda", local_cuda_index())
        if device.type == "cuda":
            torch.cuda.set_device(device)
        return device

    def seed(self, seed):
        """This rank's seed of the run: ``seed`` on rank 0, an independent
        one on the others (their shuffles, noise and draws differ; the
        initial weights are rank 0's, broadcast)."""
        if self.rank == 0:
            return seed
        return stream_seed(seed + self.rank, "rank")

    # -------------------------------------------------------- collectives

    def _reduce(self, values, op):
        dist = _dist()
        tensor = torch.as_tensor(
            np.asarray(values, dtype=np.float64).ravel(), device=self.device
        )
        dist.all_reduce(tensor, op=op)
        return tensor.cpu().numpy()

    def sum(self, values):
        """The elementwise float64 sums of ``values`` over the ranks."""
        return self._reduce(values, _dist().ReduceOp.SUM)

    def min(self, values):
        return self._reduce(values, _dist().ReduceOp.MIN)

    def max(self, values):
        return self._reduce(values, _dist().ReduceOp.MAX)

    def moments(self, variance, mean, n):
        """Per-feature (variance, mean) over the rows of every rank, from
        each rank's own over its ``n`` rows (float32 tensors, as given)."""
        local = torch.cat(
            [
                torch.tensor([float(n)], dtype=torch.float64),
                n * mean.double().cpu(),
                n * (variance.double() + mean.double() ** 2).cpu(),
            ]
        )
        totals = torch.from_numpy(self.sum(local.numpy()))
        f = len(mean)
        count = totals[0]
        pooled_mean = totals[1 : 1 + f] / count
        pooled_var = (totals[1 + f :] / count - pooled_mean**2).clamp(min=0)
        return (
            pooled_var.to(variance.dtype).to(variance.device),
            pooled_mean.to(mean.dtype).to(mean.device),
        )

    def gather(self, obj):
        """``obj`` of every rank, in rank order."""
        gathered = [None] * self.world_size
        _dist().all_gather_object(gathered, obj)
        return gathered

    def broadcast(self, obj):
        """Rank 0's ``obj`` (pickled), on every rank."""
        box = [obj]
        _dist().broadcast_object_list(box, src=0)
        return box[0]

    def wrap(self, module, device):
        """``module`` in ``DistributedDataParallel`` (rank 0's weights,
        broadcast now), on this rank's device."""
        from torch.nn.parallel import DistributedDataParallel

        if self.backend == "nccl" and device.type != "cuda":
            raise ValueError(
                f"strategy='ddp' on device={str(device)!r} in a process group "
                "whose backend is NCCL, which reduces CUDA tensors only: train on "
                "the GPU (device='auto' or 'cuda'), or start the group with "
                "init_process_group('gloo') (or 'cpu:gloo,cuda:nccl')."
            )
        return DistributedDataParallel(
            module, device_ids=[device.index] if device.type == "cuda" else None
        )

    def share_fitted(self, estimator):
        """Every rank's estimator becomes rank 0's: the module's weights
        and buffers, and the fitted attributes besides ``net_`` (the
        diagnostics computed on each rank's rows)."""
        dist = _dist()
        with torch.no_grad():
            for tensor in estimator.net_.module_.state_dict().values():
                if tensor.is_contiguous():
                    dist.broadcast(tensor, src=0)
                else:
                    copy = tensor.contiguous()
                    dist.broadcast(copy, src=0)
                    tensor.copy_(copy)
        fitted = {
            name: value
            for name, value in vars(estimator).items()
            if name.endswith("_") and not name.startswith("_") and name != "net_"
        }
        estimator.__dict__.update(self.broadcast(fitted))

    # ------------------------------------------------------------ failing

    @contextmanager
    def checked(self, estimator, n_features_of):
        """Run a fit's local checks (validation, parameters) on every rank,
        then agree: when one rank's raised, every rank raises (that rank
        its own error, the others a RuntimeError naming it), and so does a
        rank whose parameters or number of features differ from rank 0's.
        ``n_features_of()``: the number of columns of this rank's rows."""
        try:
            yield
        except Exception as exc:
            self.gather((f"{type(exc).__name__}: {exc}", None))
            raise
        # verbose (progress lines on rank 0 only, say), random_state and the
        # device's index (cuda:LOCAL_RANK written out) may differ
        params = {
            name: _agreed_value(value)
            for name, value in estimator.get_params(deep=False).items()
            if name not in ("verbose", "random_state", "device")
        }
        params["device"] = str(estimator.device).split(":")[0]
        params["n_iter_"] = getattr(estimator, "n_iter_", None)
        everyone = self.gather((None, (n_features_of(), params)))
        failed = [(r, error) for r, (error, _) in enumerate(everyone) if error]
        if failed:
            rank, error = failed[0]
            raise RuntimeError(
                f"strategy='ddp': rank {rank} of {self.world_size} failed before "
                f"training, so every rank stops: {error}. This rank's estimator "
                "was left as it was."
            )
        first_features, first = everyone[0][1]
        for rank, (_, (n_features, params)) in enumerate(everyone):
            if n_features != first_features:
                raise ValueError(
                    f"strategy='ddp': rank {rank}'s X has {n_features} features "
                    f"and rank 0's has {first_features}: every rank must pass "
                    "rows with the same columns."
                )
            differ = [name for name in first if first[name] != params[name]]
            if differ:
                listed = ", ".join(
                    f"{name}={params[name]!r} (rank 0: {first[name]!r})"
                    for name in differ
                )
                raise ValueError(
                    f"strategy='ddp': rank {rank}'s estimator differs from rank "
                    f"0's in {listed}. Every rank must fit an estimator with the "
                    "same parameters (and the same fitted state for warm_start "
                    "and partial_fit)."
                )

    @contextmanager
    def collectives(self):
        """Turn the error of a collective that could not complete (another
        rank failed, died or stopped answering) into a RuntimeError that
        says so; other errors pass unchanged."""
        try:
            yield
        except RuntimeError as exc:
            text = str(exc).lower()
            if not any(word in text for word in _COLLECTIVE_FAILURE):
                raise
            raise RuntimeError(
                f"strategy='ddp': rank {self.rank} of {self.world_size} could not "
                "go on with the fit because a collective operation failed: another "
                "rank most likely raised an error, died or stopped answering (a "
                "silent rank is given up on after the process group's timeout, "
                "init_process_group(timeout=...)). The other ranks' errors say "
                f"what went wrong. This rank's estimator was left as it was. ({exc})"
            ) from exc
