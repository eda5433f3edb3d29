"""A training run: what one ``fit`` or ``partial_fit`` call trains, and how.

:class:`TrainingRun` plans the call from the estimator's parameters and the
prepared data (epochs, seed, the stopping rule's monitor, the one-cycle
schedule, skae's and the user's callbacks, the objective's pieces) and
trains: a new net from :func:`build_net`, the one place a net is built (for
``fit``, a warm start or ``partial_fit`` continuing a copy of the fitted
net, and ``skae.load``). :class:`TrainingSteps`, a mixin of the estimators'
base, holds the steps around a run: the update made atomic (one lock per
estimator, :func:`update_lock`), the data prepared and the fitted attributes
published. The Ctrl-C watch and the warnings a fit gives live here too;
where its random numbers come from, in ``_random``.
"""

import copy
import math
import signal
import sys
import threading
import warnings
import weakref
from contextlib import contextmanager, nullcontext
from typing import NamedTuple

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback, LRScheduler

from . import _ddp as ddp
from ._callbacks import EpochMean, TrainingMonitor, history_column
from ._data import (
    Normalisation,
    ShuffledSplit,
    TensorDataset,
    TrainingData,
    auto_loss,
    check_sample_weight,
    feature_moments,
    held_out,
    observed_counts,
    positive_rows,
    refuse_weights_in_parallel,
    training_batch_count,
    validate_X,
    weighted_rows,
)
from ._device import resolve_device
from ._finish import finish_network
from ._inference import view
from ._modules import add_target_head
from ._net import copy_net
from ._objectives import (
    likelihood,
    make_corruption,
    make_penalty,
    penalty_fitted_names,
)
from ._params import check_architecture_unchanged, sizes_of
from ._pca_start import prepare as start_network
from ._pca_start import uses_pca_start
from ._progress import EpochLog
from ._random import (
    _GLOBAL_RNG_LOCK,
    GlobalStream,
    draws_from_global_rng,
    seeded,
    stream_seed,
    training_seed,
)
from ._schedule import OneCycle, auto_epochs, first_judged_epoch
from ._target import Target
from ._threads import ThreadPolicy, training_threads
from .nn import MLPDecoder, MLPEncoder, Shortcut, drawing_from

#: Modules whose frames are skipped to find the user's line for a warning.
_LIBRARY_FRAMES = ("skae", "sklearn", "joblib", "contextlib", "functools")

#: Modules that start a worker (a process of a parallel search, a thread
#: pool): a stack that begins there holds no line of the user's.
_WORKER_FRAMES = ("multiprocessing", "concurrent", "threading")

#: Process-wide: estimator -> the lock that serialises its updates (fit,
#: partial_fit), so that two threads updating one model both count. Kept
#: here, not on the estimator: a lock cannot be pickled, cloned or copied,
#: and a model's parameters and fitted state stay what they were. Weak keys:
#: an entry goes with its estimator.
_UPDATE_LOCKS = weakref.WeakKeyDictionary()
_UPDATE_LOCKS_GUARD = threading.Lock()


def update_lock(estimator):
    """The lock serialising the updates of ``estimator``."""
    with _UPDATE_LOCKS_GUARD:
        lock = _UPDATE_LOCKS.get(estimator)
        if lock is None:
            lock = _UPDATE_LOCKS[estimator] = threading.RLock()
        return lock


def _package(frame):
    return frame.f_globals.get("__name__", "").split(".")[0]


#: (text, category, file, line) of the warnings shown in this process, for
#: the actions that show a warning once ("default", "module", "once").
_SHOWN = set()
_SHOWN_LOCK = threading.Lock()


def _action(message, category, module, lineno):
    """The action of the first entry of ``warnings.filters`` that matches,
    as ``warnings.warn`` picks it."""
    for action, text, cat, mod, line in warnings.filters:
        if (
            (text is None or text.match(message))
            and issubclass(category, cat)
            and (mod is None or mod.match(module))
            and line in (0, lineno)
        ):
            return action
    return warnings.defaultaction


def warn_at_caller(message, category):
    """``warnings.warn`` pointing at the first frame outside skae,
    scikit-learn and joblib: the user's line that called fit (or pickle.load,
    or skae.load), not skae's internals.

    In a worker (``GridSearchCV(n_jobs=2)``'s processes, a thread pool) the
    user's line is in another process or thread; the warning then points at
    the outermost skae frame (the estimator's ``fit``), not at
    ``multiprocessing/process.py``.

    Under an action that shows a warning once ("default", Python's for
    most categories; "module"; "once"), a text already shown at the same
    place in this process is not shown again, although scikit-learn's
    parallel tasks reset Python's own record of shown warnings for each
    fit of a search (they set the filters anew). Messages keep a constant
    text per cause (no figures of the fit), as scikit-learn's own do.
    """
    frame, level = sys._getframe(1), 2  # stacklevel 1 is this function
    outermost_skae = None
    while frame is not None and _package(frame) in _LIBRARY_FRAMES:
        if _package(frame) == "skae":
            outermost_skae = (level, frame)
        frame, level = frame.f_back, level + 1
    if outermost_skae is not None and (
        frame is None or _package(frame) in _WORKER_FRAMES
    ):
        level, frame = outermost_skae
    if frame is not None:
        module = frame.f_globals.get("__name__", "")
        if _action(message, category, module, frame.f_lineno) in (
            "default",
            "module",
            "once",
        ):
            key = (message, category, frame.f_code.co_filename, frame.f_lineno)
            with _SHOWN_LOCK:
                if key in _SHOWN:
                    return
                _SHOWN.add(key)
    warnings.warn(message, category, stacklevel=level)


@contextmanager
def ctrl_c_watch():
    """Record whether Ctrl-C (SIGINT) interrupts the block.

    skorch ends training when anything raises KeyboardInterrupt: skae's own
    stopping rule, a callback such as skorch's ``EarlyStopping``, or the
    user's Ctrl-C. Only the last must reach the caller. In the main thread a
    SIGINT handler calls the handler it replaces and marks the block
    interrupted when that one raises KeyboardInterrupt (Python's default
    does); an application's handler that does not raise has dealt with the
    signal itself, and training goes on to a normal end. In other threads
    no signal arrives, so every interrupt is a callback's. The handler is
    process-wide state: it is swapped for the block only.
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
        try:
            previous(signum, frame)
        except KeyboardInterrupt:
            flag.set()
            raise

    signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def training_row_count(estimator, n_samples, incremental=False):
    """The rows of ``n_samples`` a run trains on: those left after the
    validation split of a ``fit`` with early stopping."""
    if estimator.early_stopping and not incremental:
        return n_samples - held_out(estimator.validation_fraction, n_samples)
    return n_samples


def max_epochs(estimator, n_samples, batches=None):
    """The epochs a ``fit`` on ``n_samples`` rows runs at most:
    ``max_iter``, or for ``"auto"`` about ``STEP_BUDGET`` optimizer steps
    on the training rows (those left after the validation split), in
    epochs of ``batches`` steps when given (a data-parallel run's)."""
    if estimator.max_iter != "auto":
        return estimator.max_iter
    n_train = training_row_count(estimator, n_samples)
    return auto_epochs(n_train, estimator.batch_size, batches)


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


def user_callbacks(callbacks, validating=True, incremental=False):
    """Deep copies of the ``callbacks`` parameter, named: never shared
    between fits (nor with clones), after skae's own callbacks. Without
    ``validating`` (no validation split), a callback that monitors a
    validation score (skorch's ``EarlyStopping`` and ``Checkpoint`` do by
    default) is refused: it would fail with a KeyError after an epoch."""
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
        monitor = getattr(callback, "monitor", None)
        if not validating and isinstance(monitor, str) and monitor.startswith("valid"):
            fix = (
                "partial_fit trains without one"
                if incremental
                else "set early_stopping=True (it holds out validation_fraction "
                "of the rows)"
            )
            raise ValueError(
                f"callbacks[{i}] ({type(callback).__name__}) monitors "
                f"{monitor!r}, which is recorded only with a validation split: "
                f"{fix}, or monitor the training loss instead, e.g. "
                f"{type(callback).__name__}(monitor="
                f"{monitor.replace('valid', 'train', 1)!r})."
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
    hidden = sizes_of(p["hidden_layer_sizes"])
    decoder_sizes = p["decoder_layer_sizes"]
    decoder_sizes = hidden[::-1] if decoder_sizes is None else sizes_of(decoder_sizes)
    encoder, decoder = copy_modules(p["encoder"], p["decoder"])
    if meta:  # the copies too allocate nothing
        encoder, decoder = (
            None if m is None else m.to("meta") for m in (encoder, decoder)
        )
    pca_start = uses_pca_start(estimator, lik)  # skae's blocks (check_params)
    if encoder is None:
        encoder = MLPEncoder(hidden, p["activation"], p["dropout"])
    if decoder is None:
        # started at PCA, the output head is skae's: it reads the linear path
        width = None if pca_start else n_features
        decoder = MLPDecoder(decoder_sizes, p["activation"], p["dropout"], width)
    if pca_start:
        # skae's blocks beside a linear path (an empty block is none)
        encoder = Shortcut(encoder) if hidden else encoder
        decoder = Shortcut(decoder) if decoder_sizes else decoder
    module = estimator._make_module(encoder, decoder, n_features, p, lik)
    target = Target.of(estimator)
    if target is not None:  # the supervised option's head, on the code
        add_target_head(module, target.n_outputs)
    return module


def _copyable(module):
    try:
        copy.deepcopy(module)
    except Exception:
        return False
    return True


def copy_modules(encoder, decoder):
    """Deep copies of the user's ``encoder`` and ``decoder`` (None stays
    None), made together, in one memo: what the two share (one module passed
    twice, a layer or a Parameter of one held by the other, tied weights)
    the copies share too."""
    try:
        return copy.deepcopy((encoder, decoder))
    except Exception as exc:
        name, module = next(
            (
                (name, module)
                for name, module in (("encoder", encoder), ("decoder", decoder))
                if not _copyable(module)
            ),
            ("encoder", encoder),
        )
        raise TypeError(
            f"The {name} ({type(module).__name__}) cannot be copied: {exc}. "
            "Each fit trains a deep copy of the module you pass (copy.deepcopy), "
            "so it must not hold locks, open files, threads or other objects "
            "that cannot be copied: keep those outside the module, or give "
            "its class a __deepcopy__ that leaves them out."
        ) from exc


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
        # the optimizer's settings through set_params, which updates its
        # param groups; the others are the net's constructor arguments, set
        # as they are (skorch's set_params would first list every parameter,
        # the callbacks' included: a callback that keeps the net as an
        # attribute made that recurse forever). Which default callbacks run
        # is one of them (set_params refuses to name one switched off).
        net.set_params(
            **{
                key: settings.pop(key)
                for key in list(settings)
                if key == "lr" or key.startswith("optimizer__")
            }
        )
        for key, value in settings.items():
            setattr(net, key, value)
        # ... and, for the optimizer a fit re-creates at its end, the
        # argument skorch builds it from (set_params leaves it as it was)
        net.optimizer__weight_decay = estimator.weight_decay
        net.initialize_callbacks()
        return net
    seed = net_params.get("seed", 0)
    given = [estimator._fitted_params[k] for k in ("encoder", "decoder")]
    global_rng = any(m is not None and draws_from_global_rng(m) for m in given)
    # skae's blocks draw their weights from a generator of the fit's own;
    # the user's modules (their lazy layers) from torch's global one, seeded
    with (
        drawing_from(torch.Generator().manual_seed(stream_seed(seed, "weights"))),
        seeded(seed, device) if global_rng else nullcontext(),
    ):
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


def warn_if_dead_components(estimator):
    """Code units that are zero on every training row carry nothing."""
    dead = estimator.n_dead_components_
    if not dead:
        return
    if estimator.penalty in ("topk", "batchtopk"):
        fix = (
            "Raise alpha (the weight of the AuxK loss that revives dead units), "
            "train longer, or use fewer components."
        )
    else:
        fix = (
            "With code_activation='relu', use penalty='l1' (alpha=0 for no "
            "penalty), which standardises each unit before the activation so "
            "that none can die, or fewer components."
        )
    warn_at_caller(
        f"{dead} of {estimator.n_components_} code units are zero on every "
        f"training row (dead): they carry nothing about the data. {fix}",
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

    def __init__(self, estimator, data, incremental, ranks=None):
        est = estimator
        self.incremental = incremental
        self.validating = est.early_stopping and not incremental
        self.ranks = ranks
        previous = est.net_ if data.resume else None
        epochs_before = len(previous.history) if data.resume else 0
        seed = training_seed(est.random_state)
        if incremental:
            # a fresh seed per epoch: chunks of equal size are not all
            # shuffled the same way, and the same int random_state repeats
            # the whole run
            seed = (seed + epochs_before) % np.iinfo(np.int32).max
        batches = None
        if ranks is not None:
            # every rank makes the most steps of any rank, each epoch
            seed = ranks.seed(seed)
            n_train = training_row_count(est, data.n_samples, incremental)
            own = training_batch_count(n_train, est.batch_size)
            batches = ranks.steps = int(ranks.max([own])[0])
        self.epochs = 1 if incremental else max_epochs(est, data.n_samples, batches)
        users = user_callbacks(est.callbacks, self.validating, incremental)
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
            blowup_check=not incremental,
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
            **self._objective(est, data, previous, ranks),
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
    def _objective(est, data, previous, ranks):
        """The net's objective pieces for this run, from the parameters."""
        noise = dict(noise=est.noise, noise_level=est.noise_level)
        if previous is not None and noise == dict(
            noise=previous.noise, noise_level=previous.noise_level
        ):
            corruption = previous.corruption  # statistics of the first data
        else:
            moments = (
                (lambda: feature_moments(data.rows, data.weights))
                if ranks is None
                else (
                    lambda: ranks.moments(
                        *feature_moments(data.rows), observed_counts(data.rows)
                    )
                )
            )
            corruption = make_corruption(
                est.noise,
                est.noise_level,
                moments,
                data.normalisation.offset,
                data.normalisation.scale,
                likelihood=data.likelihood,
            )
        return dict(
            penalty=make_penalty(est.penalty, est),
            alpha=float(est.alpha),
            target_weight=float(est.target_weight),
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
            start_network(net, estimator, data)
            # skae's own draws come from the net's generator; a user's module
            # that may draw from torch's global one gets a seeded stream of
            # it, swapped in for each step
            if draws_from_global_rng(net.module_):
                net.global_rng_ = GlobalStream(
                    stream_seed(self.seed, "global"), data.device
                )
            ranks = self.ranks
            if ranks is not None:  # gradients averaged over the ranks
                ranks.ddp = ranks.wrap(net.module_, data.device)
                net.ranks_ = ranks
            try:
                with training_threads():
                    net.partial_fit(
                        TensorDataset(data.rows, data.targets, data.weights)
                    )
            finally:
                net.global_rng_ = None
                net.ranks_ = None  # a fitted model holds no process group
                if ranks is not None:
                    ranks.ddp = None
            if not ctrl_c.is_set():
                finish_network(net, data, self.incremental)
            history = net.history
            if history and "train_loss" not in history[-1]:
                # a callback ended training within an epoch: its steps are in
                # the weights, but an epoch counts (in n_iter_, loss_curve_
                # and the next run's epoch numbers) only once it is complete
                history.pop()
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
        earlier = curve[-window - 1]
        drop = earlier - curve[-1]
        # relative to the earlier loss: a fall of at most 100% for a loss
        # falling towards 0 (dividing by the final loss overstated it)
        relative = drop / abs(earlier) if earlier else math.inf
        if relative > STILL_IMPROVING and drop / window > estimator.tol:
            # one text per estimator and setting, none of the fit's own
            # figures (they are in loss_curve_, and in verbose's lines):
            # Python's default filter then shows it once per location, not
            # once per fit of a search
            warn_at_caller(
                f"{type(estimator).__name__} stopped at max_iter="
                f"{estimator.max_iter!r} while its {which} loss was still "
                f"falling (by more than {STILL_IMPROVING:.0%} over the last "
                f"{window} epoch{'s' * (window > 1)}; loss_curve_ holds the "
                "losses). Raise max_iter (or learning_rate_init) to train it "
                "further; with early_stopping=True it stops on held-out data "
                "instead.",
                ConvergenceWarning,
            )


class Call(NamedTuple):
    """How one training call runs, fixed by :meth:`TrainingSteps._fit` once
    its inputs are checked: the values that travel together from there to
    the run."""

    #: ``partial_fit``'s one epoch (else ``fit``'s run)
    incremental: bool
    #: NaN entries of X are missing values (the imputer's engine)
    missing: bool
    #: warn when ``max_iter`` cut the fit short
    warn_cut_short: bool
    #: the call continues the fitted net (``partial_fit``, ``warm_start``)
    resume: bool
    #: X was memory-mapped (read a batch at a time)
    memmap: bool
    #: a data-parallel fit's processes (:class:`~skae._ddp.Ranks`), or None
    ranks: object


class TrainingSteps:
    """Mixin of :class:`~skae._base.BaseAutoencoder`: its one training path
    (``_fit``, behind ``fit``, ``partial_fit`` and ``_fit_missing``) and the
    steps around a :class:`TrainingRun`: the update made atomic
    (``_atomic``), the data prepared (``_training_data``), the run
    (``_train``) and the fitted attributes published (``_publish``)."""

    def _atomic(self, X, incremental, **options):
        """Train a copy of the estimator's state, then publish it in one step
        (``options``: :meth:`_fit`'s).

        The training runs on a view that shares nothing writable with
        ``self``; only when it succeeds does ``self.__dict__`` become the
        view's (one assignment). A failed or interrupted call leaves the
        estimator exactly as it was, and a reader in another thread sees
        either the old fitted state or the new one, never a mix. Updates of
        one estimator from several threads run one after another, each
        continuing from the state the one before published (two
        ``partial_fit`` calls both count).
        """
        with update_lock(self):
            work = view(self)
            work._fit(X, incremental, **options)
            self.__dict__ = work.__dict__
        return self

    def _fit(
        self,
        X,
        incremental,
        missing=False,
        warn_cut_short=True,
        y=None,
        classes=None,
        sample_weight=None,
    ):
        """The one training path: ``fit`` (max_iter epochs, the stopping
        rule) and ``partial_fit`` (one epoch) differ only in the run's
        settings. With ``missing`` (the imputer's engine, see
        :meth:`_fit_missing`), NaN entries of X are missing values: left out
        of the statistics and of the loss, and fed to the network as their
        feature's mean. ``warn_cut_short=False`` leaves out the
        ConvergenceWarning of a fit that ``max_iter`` cut short. ``y`` and
        ``classes``: the supervised option's targets (read only when
        ``target_weight > 0``). ``sample_weight``: the rows' weights, checked
        with the other inputs; rows of weight 0 are left out before any
        statistic (:func:`~skae._data.weighted_rows`). With
        ``strategy="ddp"`` every rank runs this path on its own rows,
        agreeing through :mod:`skae._ddp`: the local checks first (every
        rank raises when one fails), then the training with its
        collectives."""
        method = "partial_fit" if incremental else "fit"
        refuse_weights_in_parallel(
            sample_weight, self, f"{type(self).__name__}.{method}"
        )
        ranks = ddp.join(self)  # None unless strategy="ddp"
        X_given = X
        fitted = hasattr(self, "net_")
        resume = fitted and (incremental or self.warm_start)
        memmap = isinstance(X, np.memmap)
        # a data-parallel fit: every rank's checks pass, or every rank raises
        checked = ranks.checked(self, lambda: X.shape[1]) if ranks else nullcontext()
        # the rows of positive weight a call needs, as for X's rows
        least = 1 if (incremental and fitted) else 2
        if self.early_stopping and not incremental:
            least = 3
        who = f"{type(self).__name__}.{method}"
        with checked:
            if sample_weight is not None and self._takes_table(X, resume):
                # rows of weight 0 left out before the table's encoding (and
                # of y, when it is read: target_weight > 0)
                weights = check_sample_weight(sample_weight, X, least, who)
                if self.target_weight > 0 and y is not None:
                    X, sample_weight, y = positive_rows(X, weights, y)
                else:
                    X, sample_weight = positive_rows(X, weights)
            X = self._table_input(X, resume, incremental, missing, ranks)
            if X is None:  # not a table: the numeric path
                X = validate_X(
                    self,
                    X_given,
                    reset=not resume,
                    ensure_min_samples=1 if (incremental and fitted) else 2,
                    ensure_all_finite="allow-nan" if missing else True,
                    accept_sparse=False if missing else ("csr", "csc"),
                )
            self._check_params(X, incremental)
            if resume:
                check_architecture_unchanged(self)
                self._check_chunk_range(X, incremental)
            targets, part = self._targets(y, X.shape[0], resume, incremental, classes)
            if self.early_stopping and not incremental and X.shape[0] < 3:
                raise ValueError(
                    f"early_stopping=True needs at least 3 samples (training and "
                    f"validation rows); got n_samples={X.shape[0]}."
                )
            weights = check_sample_weight(sample_weight, X, least, who)
        with nullcontext() if ranks is None else ranks.collectives():
            if part is not None:  # a new fit's task, from every rank's targets
                targets = self._fit_target(targets, part, classes, ranks)
            call = Call(incremental, missing, warn_cut_short, resume, memmap, ranks)
            self._train(X, call, targets, weights)
        return self

    def _train(self, X, call, targets, weights=None):
        """``_fit`` once X and the parameters are checked: prepare the data,
        train, publish the fitted attributes (``call``: the :class:`Call`;
        ``weights``: the checked sample weights, or None)."""
        incremental, resume, ranks = call.incremental, call.resume, call.ranks
        fitted = hasattr(self, "net_")
        X, targets, weights = weighted_rows(X, targets, weights)
        data = self._training_data(X, call, targets, weights)
        run = TrainingRun(self, data, incremental, ranks)
        if not resume:
            # the parameters the network is built from: warm starts, loading
            # and saving read these, not parameters set after the fit
            self._fitted_params = self.get_params(deep=False)
            warn_if_overcomplete(self, data.n_features)
        net = run.train(self, data)
        seen = getattr(self, "n_samples_seen_", 0) if (incremental and fitted) else 0
        self._publish(net, data, validated=run.validating)
        n_samples = (
            data.n_samples if ranks is None else int(ranks.sum([data.n_samples])[0])
        )
        self.n_samples_seen_ = seen + n_samples
        self._after_training(data.rows)
        self._penalty_diagnostics(data.rows)
        if ranks is not None:  # every rank: rank 0's weights and diagnostics
            ranks.share_fitted(self)
        if not incremental:  # a chunk may leave a unit off by chance
            warn_if_dead_components(self)
        if call.warn_cut_short:
            run.warn_if_cut_short(self)

    def _penalty_diagnostics(self, X_train):
        """The fitted attributes of the penalty (TopK's ``dead_fraction_``,
        ...), none of another penalty's left from an earlier fit."""
        for name in penalty_fitted_names():
            self.__dict__.pop(name, None)
        penalty = make_penalty(self.penalty, self)
        if penalty is not None:
            self.__dict__.update(penalty.fitted_attributes(self, X_train))

    def _check_chunk_range(self, X, incremental):
        """A chunk continuing a ``loss="bce"`` model must lie in the range
        its first chunk fixed."""
        if incremental and self.loss_ == "bce":
            Normalisation(self.offset_, self.scale_).check_range(
                X,
                "the first chunk",
                "Make the first chunk span the data's range (for example "
                "scale X into [0, 1] beforehand, with a first chunk that "
                "reaches 0 and 1), or use loss='mse'.",
            )

    def _training_data(self, X, call, targets=None, weights=None):
        """The rows a run trains on, with the device, likelihood,
        normalisation and missing entries (the fitted ones when the
        :class:`Call` continues the fitted net, else chosen from the
        parameters and X; with its ``ranks``, a data-parallel fit's
        processes, from every rank's rows; with ``weights``, the rows'
        positive sample weights, weighted statistics), and the supervised
        option's encoded ``targets`` (or None). A table's encoding
        (``table_``) is fitted unweighted."""
        resume, missing, ranks = call.resume, call.missing, call.ranks
        if resume:
            normalisation = Normalisation(self.offset_, self.scale_)
            lik = self._fitted_likelihood()
            device = torch.device(self.net_.device)
            missing = self.net_.missing
        else:
            device = resolve_device(self.device)
            if ranks is not None:
                device = ranks.place(device, self.device)
            if self.table_ is not None:
                # the encoding standardised the table already: identity map
                lik = self.table_.likelihood
                normalisation = Normalisation(np.zeros(X.shape[1]), 1.0)
            else:
                lik = self._requested_likelihood() or likelihood(
                    auto_loss(X, ranks, weights)
                )
                normalisation = Normalisation.fit(X, lik.loss, missing, ranks, weights)
            missing = missing or None
        return TrainingData(
            X,
            device,
            lik,
            normalisation,
            resume,
            memmap=call.memmap,
            missing=missing,
            targets=targets,
            ranks=ranks,
            weights=weights,
        )

    def _publish(self, net, data, validated):
        """Set the trained net and the fitted attributes read off it."""
        history = net.history
        for epoch in history:
            if epoch.get("batches"):  # only this run's: older ones are empty
                epoch["batches"] = []  # no per-batch log in a fitted model
        validation_scores = (
            [-v for v in history_column(history, "valid_loss")] if validated else None
        )
        fitted = dict(
            net_=net,
            loss_=data.likelihood.loss,
            offset_=data.normalisation.offset,
            scale_=data.normalisation.scale,
            n_components_=self._fitted_params["n_components"],
            n_iter_=len(history),
            loss_curve_=history_column(history, "train_loss"),
            validation_scores_=validation_scores,
            best_validation_score_=(
                max(validation_scores) if validation_scores else None
            ),
            **self._record_history(history),
        )
        self.__dict__.update(fitted)
