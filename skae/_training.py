"""A training run: what one ``fit`` or ``partial_fit`` call trains, and how.

:class:`TrainingRun` plans the call from the estimator's parameters and the
prepared data (epochs, seed, the stopping rule's monitor, the one-cycle
schedule, skae's and the user's callbacks, the objective's pieces) and
trains: a new net from :func:`build_net`, the one place a net is built (for
``fit``, a warm start or ``partial_fit`` continuing a copy of the fitted
net, and ``skae.load``). Seeding, the Ctrl-C watch and the warnings a fit
gives live here too.
"""

import copy
import math
import signal
import sys
import threading
import warnings
from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from skorch.callbacks import Callback, LRScheduler

from ._callbacks import EpochMean, TrainingMonitor
from ._data import ShuffledSplit, TensorDataset, feature_moments, held_out
from ._net import copy_net
from ._objectives import make_corruption, make_penalty
from ._params import sizes_of
from ._progress import EpochLog
from ._schedule import OneCycle, auto_epochs, first_judged_epoch
from ._threads import ThreadPolicy, training_threads
from .nn import MLPDecoder, MLPEncoder

#: Process-wide: torch's global generator is one per process, so fits
#: running in threads take turns at the moments they draw from it (building
#: a network; training one with dropout), each drawing the same numbers as
#: it would alone.
_GLOBAL_RNG_LOCK = threading.RLock()


@contextmanager
def seeded(seed, device):
    """Seed torch's global generators for the block, holding the lock, and
    restore the caller's state afterwards."""
    accelerator = device.type != "cpu"
    fork = torch.random.fork_rng(
        devices=[device.index or 0] if accelerator else [],
        device_type=device.type if accelerator else "cuda",
    )
    with _GLOBAL_RNG_LOCK, fork:
        torch.default_generator.manual_seed(seed)
        if device.type == "cuda":
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        elif accelerator:  # mps, xpu: one generator per backend module
            getattr(torch, device.type).manual_seed(seed)
        yield


def draws_from_global_rng(module):
    """Whether training ``module`` draws from torch's global generator
    (dropout does; skae's own draws use the fit's generator)."""
    return any(
        isinstance(m, torch.nn.modules.dropout._DropoutNd) for m in module.modules()
    )


def training_seed(random_state):
    """The torch seed of a training run, drawn from ``random_state``."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


#: Modules whose frames are skipped to find the user's line for a warning.
_LIBRARY_FRAMES = ("skae", "sklearn", "joblib", "contextlib", "functools")


def warn_at_caller(message, category):
    """``warnings.warn`` pointing at the first frame outside skae,
    scikit-learn and joblib: the user's line that called fit (or pickle.load,
    or skae.load), not skae's internals."""
    frame, level = sys._getframe(1), 2  # stacklevel 1 is this function
    while frame is not None and (
        frame.f_globals.get("__name__", "").split(".")[0] in _LIBRARY_FRAMES
    ):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


@contextmanager
def ctrl_c_watch():
    """Record whether Ctrl-C (SIGINT) arrives during the block.

    skorch ends training when anything raises KeyboardInterrupt: skae's own
    stopping rule, a callback such as skorch's ``EarlyStopping``, or the
    user's Ctrl-C. Only the last must reach the caller. In the main thread a
    SIGINT handler marks it (then behaves as the handler it replaces); in
    other threads no signal arrives, so every interrupt is a callback's.
    The handler is process-wide state: it is swapped for the block only.
    """
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):  # SIG_IGN, SIG_DFL or None: leave it alone
        yield flag
        return

    def handler(signum, frame):
        flag.set()
        previous(signum, frame)

    signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def max_epochs(estimator, n_samples):
    """The epochs a ``fit`` on ``n_samples`` rows runs at most:
    ``max_iter``, or for ``"auto"`` about ``STEP_BUDGET`` optimizer steps
    on the training rows (those left after the validation split)."""
    if estimator.max_iter != "auto":
        return estimator.max_iter
    n_train = n_samples
    if estimator.early_stopping:
        n_train -= held_out(estimator.validation_fraction, n_samples)
    return auto_epochs(n_train, estimator.batch_size)


#: Callback names skae's net uses itself.
OWN_CALLBACKS = {
    "epoch_timer",
    "train_loss",
    "valid_loss",
    "print_log",
    "monitor",
    "threads",
    "schedule",
    "progress",
    "train_reconstruction",
    "train_kl",
    "valid_reconstruction",
    "valid_kl",
}


def user_callbacks(callbacks):
    """Deep copies of the ``callbacks`` parameter, named: never shared
    between fits (nor with clones), after skae's own callbacks."""
    named = []
    for i, item in enumerate(callbacks or []):
        name, callback = item if isinstance(item, tuple) else (None, item)
        if not isinstance(callback, Callback):
            raise ValueError(
                f"callbacks[{i}] must be a skorch Callback or a (name, "
                f"Callback) pair; got {item!r}."
            )
        name = name or f"user_{i}_{type(callback).__name__}"
        if name in OWN_CALLBACKS:
            raise ValueError(
                f"callbacks[{i}] is named {name!r}, a name skae uses for "
                "its own callbacks; choose another name."
            )
        named.append((name, copy.deepcopy(callback)))
    return named


def build_module(estimator, n_features, lik, meta=False):
    """The torch module, built from the fitted parameters (the encoder and
    decoder: copies of the given modules, or skae's MLP blocks), wrapped by
    the estimator's ``_make_module`` hook. ``meta``: the copies are moved to
    torch's meta device (call it inside ``torch.device("meta")``), so that
    nothing is allocated."""
    p = estimator._fitted_params

    def copied(module):
        module = copy.deepcopy(module)
        return module.to("meta") if meta else module

    hidden = sizes_of(p["hidden_layer_sizes"])
    decoder_sizes = p["decoder_layer_sizes"]
    decoder_sizes = hidden[::-1] if decoder_sizes is None else sizes_of(decoder_sizes)
    encoder = (
        MLPEncoder(hidden, p["activation"], p["dropout"])
        if p["encoder"] is None
        else copied(p["encoder"])
    )
    decoder = (
        MLPDecoder(decoder_sizes, p["activation"], p["dropout"], n_features)
        if p["decoder"] is None
        else copied(p["decoder"])
    )
    return estimator._make_module(encoder, decoder, n_features, p, lik)


def planned_state(estimator, n_features, lik):
    """The shapes of the ``state_dict`` entries, and of the non-persistent
    buffers, of the module :func:`build_module` builds: built on torch's
    meta device, so nothing is allocated whatever the sizes (``skae.load``
    checks a file's sizes against its weights with it before building)."""
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]), torch.device("meta"):
        module = build_module(estimator, n_features, lik, meta=True)
    state = {name: tuple(t.shape) for name, t in module.state_dict().items()}
    buffers = {
        name: tuple(t.shape) for name, t in module.named_buffers() if name not in state
    }
    return state, buffers


def build_net(estimator, n_features, device, lik, previous=None, **net_params):
    """The net a run trains, with ``net_params`` (the run's settings):
    an initialised, untrained net for ``n_features`` inputs, its weights
    drawn under ``net_params["seed"]``; or, given the ``previous`` (fitted)
    net, a copy of it that continues with its Adam state and history (the
    copy means a failed call leaves the model as it was). Used by ``fit``,
    warm starts, ``partial_fit`` and ``skae.load``."""
    optimizer = dict(
        lr=estimator.learning_rate_init,
        optimizer__weight_decay=estimator.weight_decay,
    )
    if previous is not None:
        net = copy_net(previous)
        settings = {**optimizer, **net_params}
        # which default callbacks run is a constructor argument to skorch
        # (set_params refuses to name one that is switched off)
        for key in [k for k in settings if k.startswith("callbacks__")]:
            setattr(net, key, settings.pop(key))
        net.set_params(**settings)  # updates the optimizer's param groups
        # ... and, for the optimizer a fit re-creates at its end, the
        # argument skorch builds it from (set_params leaves it as it was)
        net.optimizer__weight_decay = estimator.weight_decay
        net.initialize_callbacks()
        return net
    with seeded(net_params.get("seed", 0), device):
        # float32 whatever torch's default dtype (set_default_dtype)
        module = build_module(estimator, n_features, lik).float()
    net = estimator._net_class()(
        module=module,
        criterion=lik.criterion,
        likelihood=lik,
        optimizer=torch.optim.Adam,
        device=device,
        **optimizer,
        **net_params,
    )
    net.initialize()
    # the net keeps the module it trained as ``module_``; its ``module``
    # argument (the same object) would be pickled a second time
    net.module = type(module)
    return net


def warn_if_overcomplete(estimator, n_features):
    """A code at least as wide as the input, with nothing to stop the
    network from copying it, can learn the identity."""
    if (
        estimator.n_components >= n_features
        and estimator.penalty is None
        and estimator.noise is None
        and not estimator._regularised_code
    ):
        warn_at_caller(
            f"n_components={estimator.n_components} >= n_features={n_features}: "
            f"an overcomplete {type(estimator).__name__} with no penalty and no "
            "noise can learn to copy its input. Use fewer components, or a "
            "penalty ('l1', 'contractive') or noise ('gaussian').",
            UserWarning,
        )


#: ``max_iter`` "cut a fit short" when the monitored loss fell by more than
#: this fraction over the last ``n_iter_no_change`` epochs.
STILL_IMPROVING = 0.02


class TrainingRun:
    """One call's training, planned from the estimator's parameters and the
    prepared :class:`~skae._data.TrainingData`: ``fit`` (up to ``max_iter``
    epochs, the stopping rule, the schedule) and ``partial_fit`` (one epoch,
    the divergence guard only) differ only in these settings."""

    def __init__(self, estimator, data, incremental):
        est = estimator
        self.incremental = incremental
        self.validating = est.early_stopping and not incremental
        previous = est.net_ if data.resume else None
        epochs_before = len(previous.history) if data.resume else 0
        seed = training_seed(est.random_state)
        if incremental:
            # a fresh seed per epoch: chunks of equal size are not all
            # shuffled the same way, and the same int random_state repeats
            # the whole run
            seed = (seed + epochs_before) % np.iinfo(np.int32).max
        self.epochs = 1 if incremental else max_epochs(est, data.n_samples)
        users = user_callbacks(est.callbacks)
        # a skorch LRScheduler among the callbacks takes the schedule's place
        scheduled = (
            not incremental
            and est.learning_rate == "one_cycle"
            and not any(isinstance(cb, LRScheduler) for _, cb in users)
        )
        self.monitor = TrainingMonitor(
            monitor="valid_loss" if self.validating else "train_loss",
            # partial_fit: the divergence guard and the interrupt check only
            patience=np.inf if incremental else est.n_iter_no_change,
            tol=est.tol,
            restore_best=self.validating,
            start=max(
                est._warmup_epochs(),
                first_judged_epoch(epochs_before, self.epochs) if scheduled else 0,
            ),
        )
        split = (
            ShuffledSplit(est.validation_fraction, seed) if self.validating else None
        )
        self.seed = seed
        self.net_params = dict(
            **self._loop(est, split, users, scheduled),
            **self._objective(est, data, previous),
        )

    def _loop(self, est, split, users, scheduled):
        """The net's parameters for the loop: skae's callbacks, then the
        user's; with the one-cycle schedule over the epochs if
        ``scheduled``."""
        schedule = [("schedule", OneCycle(self.epochs))] if scheduled else []
        progress = (
            [("progress", EpochLog(int(est.verbose), type(est).__name__))]
            if est.verbose
            else []
        )
        return dict(
            max_epochs=self.epochs,
            batch_size=est.batch_size,
            train_split=split,
            seed=self.seed,
            # skorch's per-epoch validation scoring and printing only when
            # used (the epoch timer and train loss are always on)
            callbacks__train_loss=EpochMean(name="train_loss", on_train=True),
            callbacks__valid_loss=(
                EpochMean(name="valid_loss") if self.validating else None
            ),
            # skae's own progress lines instead of skorch's table
            callbacks__print_log=None,
            callbacks=[
                ("threads", ThreadPolicy()),
                *est._net_class().scoring_callbacks(self.validating),
                ("monitor", self.monitor),
                *schedule,
                *progress,
                *users,
            ],
            verbose=int(est.verbose),
        )

    @staticmethod
    def _objective(est, data, previous):
        """The net's objective pieces for this run, from the parameters."""
        noise = dict(noise=est.noise, noise_level=est.noise_level)
        if previous is not None and noise == dict(
            noise=previous.noise, noise_level=previous.noise_level
        ):
            corruption = previous.corruption  # statistics of the first data
        else:
            corruption = make_corruption(
                est.noise,
                est.noise_level,
                lambda: feature_moments(data.rows),
                data.normalisation.offset,
                data.normalisation.scale,
            )
        return dict(
            penalty=make_penalty(est.penalty, est),
            alpha=float(est.alpha),
            corruption=corruption,
            missing=data.missing,
            **noise,
            **est._net_params(),
        )

    def train(self, estimator, data):
        """Train the run's net on the data and return it."""
        with ctrl_c_watch() as ctrl_c:
            net = build_net(
                estimator,
                data.n_features,
                data.device,
                data.likelihood,
                previous=estimator.net_ if data.resume else None,
                **self.net_params,
            )
            # skae's own draws come from the net's generator; dropout draws
            # from torch's global one, which is then seeded (and held)
            global_rng = draws_from_global_rng(net.module_)
            with (
                seeded(self.seed, data.device) if global_rng else nullcontext(),
                training_threads(),
            ):
                net.partial_fit(TensorDataset(data.rows))
        if ctrl_c.is_set():
            # skorch ends training quietly on KeyboardInterrupt; a user's
            # Ctrl-C must reach the caller (and undo the call)
            raise KeyboardInterrupt("training was interrupted")
        if not self.incremental:
            # a fitted model keeps no optimizer state and no per-batch log:
            # its pickle is about the size of its weights
            net.initialize_optimizer()
        return net

    def warn_if_cut_short(self, estimator):
        """ConvergenceWarning when ``max_iter`` ended a fit whose monitored
        loss was still falling materially: by more than 2% (relative) and by
        more than ``tol`` per epoch over the last ``n_iter_no_change``
        epochs. Not for ``partial_fit``, a stop by the rule or by a
        callback."""
        monitor = self.monitor
        stopped_by_callback = monitor.epochs_ < self.epochs and not monitor.converged_
        if self.incremental or monitor.converged_ or stopped_by_callback:
            return
        curve = estimator.loss_curve_
        if self.validating:
            curve = [-v for v in estimator.validation_scores_]
        which = "validation" if self.validating else "training"
        window = min(estimator.n_iter_no_change, len(curve) - 1)
        if window < 1:
            return
        drop = curve[-window - 1] - curve[-1]
        relative = drop / abs(curve[-1]) if curve[-1] else math.inf
        if relative > STILL_IMPROVING and drop / window > estimator.tol:
            warn_at_caller(
                f"{type(estimator).__name__} stopped at max_iter="
                f"{estimator.max_iter!r} ({self.epochs} epochs) "
                f"while its {which} loss was still falling ({relative:.1%} over "
                f"the last {window} epoch{'s' * (window > 1)}). Raise max_iter (or "
                "learning_rate_init) to train it further; with "
                "early_stopping=True it stops on held-out data instead.",
                ConvergenceWarning,
            )
