"""The shared base of every skae estimator.

It owns the parameters, their validation, the data's normalisation, seeding,
building and training the skorch net (one training path for ``fit`` and
``partial_fit``), dtype handling, batched inference and the fitted
bookkeeping.

A variant is a small class: an ``__init__`` written out with its own
defaults (and any parameters of its own; ``tests/test_signatures.py`` checks
it against the table in ``_params``), plus, where it needs them, the hooks at
the bottom of :class:`BaseAutoencoder`. Its objective is a choice of
the pieces in ``_objectives`` (likelihood, code penalty, corruption), which
every estimator accepts.
"""

import copy
import functools
import math
import signal
import sys
import threading
import warnings
import weakref
from contextlib import contextmanager, nullcontext
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import assert_all_finite, check_array, check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback, LRScheduler

from ._compat import (
    Interval,
    StrOptions,
    _fit_context,
    _get_container_adapter,
    validate_data,
)
from ._device import resolve_device
from ._modules import Autoencoder
from ._net import (
    _NORMALISE_CHUNK,
    AutoencoderNet,
    EpochMean,
    LazyRows,
    ShuffledSplit,
    TensorDataset,
    TrainingMonitor,
    copy_net,
    feature_moments,
    history_column,
    normalise,
)
from ._objectives import (
    PENALTIES,
    MissingEntries,
    likelihood,
    make_corruption,
    make_penalty,
)
from ._params import ARCHITECTURE
from ._progress import EpochLog
from ._schedule import OneCycle, auto_epochs, first_judged_epoch
from ._threads import ThreadPolicy, training_threads
from .nn import ACTIVATIONS, MLPDecoder, MLPEncoder

#: Rows per forward pass in transform / inverse_transform / score_samples ...
INFERENCE_BATCH_SIZE = 4096
#: ... and at most this many entries (rows x features) per pass, so that a
#: wide input (a sparse matrix with 50k columns, say) is densified in batches
#: of tens of MB, not GB.
INFERENCE_BATCH_ENTRIES = 2**22


def inference_batch_rows(n_features):
    """Rows per inference batch for inputs of ``n_features`` columns."""
    by_entries = INFERENCE_BATCH_ENTRIES // max(n_features, 1)
    return max(1, min(INFERENCE_BATCH_SIZE, by_entries))


#: Beyond this scale_, a squared error in X's units overflows float64.
_LARGEST_SQUARABLE = float(np.sqrt(np.finfo(np.float64).max))

#: The largest float32.
_FLOAT32_MAX = float(np.finfo(np.float32).max)

#: Rows per chunk when computing the normalisation statistics.
_STATS_CHUNK = 8192


#: torch's global generator is one per process: fits running in threads take
#: turns at the moments they draw from it (building a network; training one
#: with dropout), so that each draws the same numbers as it would alone.
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


def _draws_from_global_rng(module):
    """Whether training ``module`` draws from torch's global generator
    (dropout does; skae's own draws use the fit's generator)."""
    return any(
        isinstance(m, torch.nn.modules.dropout._DropoutNd) for m in module.modules()
    )


#: ``loss="auto"`` picks ``"bce"`` when at least this fraction of X's entries
#: sit at X's global minimum or maximum ...
AUTO_BCE_AT_BOUNDS = 0.1
#: ... and both bounds are reached by at least this fraction each.
AUTO_BCE_EACH_BOUND = 1e-3


def _auto_loss(X):
    """``loss="auto"``: ``"bce"`` for data that piles up at a floor and a
    ceiling (pixel intensities, binary features), else ``"mse"``.

    Counted a chunk at a time, so no full-size temporary is made.
    """
    if sp.issparse(X):
        low, high = X.min(), X.max()
    else:  # NaN are missing entries (the imputer's engine)
        low, high = np.nanmin(X), np.nanmax(X)
    if low == high:
        return "mse"
    if sp.issparse(X):
        implicit_zeros = X.shape[0] * X.shape[1] - X.nnz
        at_low = int(np.count_nonzero(X.data == low)) + (
            implicit_zeros if low == 0 else 0
        )
        at_high = int(np.count_nonzero(X.data == high)) + (
            implicit_zeros if high == 0 else 0
        )
    else:
        at_low = at_high = 0
        for start in range(0, len(X), _STATS_CHUNK):
            chunk = X[start : start + _STATS_CHUNK]
            at_low += int(np.count_nonzero(chunk == low))
            at_high += int(np.count_nonzero(chunk == high))
    size = X.shape[0] * X.shape[1]
    if (
        at_low + at_high >= AUTO_BCE_AT_BOUNDS * size
        and min(at_low, at_high) >= AUTO_BCE_EACH_BOUND * size
    ):
        return "bce"
    return "mse"


def _statistics(X, loss, missing=False):
    """(offset, scale) of :func:`_normalisation`, possibly non-finite."""
    n_samples, n_features = X.shape
    if missing:  # NaN entries are missing: statistics of the observed ones
        if loss == "bce":
            low, high = float(np.nanmin(X)), float(np.nanmax(X))
            return np.full(n_features, low), high - low
        offset = np.nan_to_num(np.nanmean(X, axis=0, dtype=np.float64))
        centred = X.astype(np.float64) - offset
        return offset, _rescaled_rms(centred, 0.0, observed=True)
    if loss == "bce":
        low, high = float(X.min()), float(X.max())
        offset = np.full(n_features, low)
        scale = high - low
    elif sp.issparse(X):
        offset = np.asarray(X.mean(axis=0, dtype=np.float64)).ravel()
        data = X.data.astype(np.float64)
        # sum of (x - mean)² over every entry, implicit zeros included
        squares = max(float(data @ data) - n_samples * float(offset @ offset), 0.0)
        scale = np.sqrt(squares / (n_samples * n_features))
    else:
        offset = X.mean(axis=0, dtype=np.float64)
        squares = 0.0
        for start in range(0, n_samples, _STATS_CHUNK):
            chunk = X[start : start + _STATS_CHUNK].astype(np.float64) - offset
            squares += float(np.einsum("ij,ij->", chunk, chunk))
        if not _SQUARES_SAFE[0] < squares < _SQUARES_SAFE[1]:
            # the squares underflow (spread below ~1e-150) or overflow: redo
            # the sum with each chunk divided by its largest entry
            return offset, _rescaled_rms(X, offset)
        scale = np.sqrt(squares / X.size)
    return offset, scale


#: A sum of squares within these bounds lost nothing to underflow or overflow.
_SQUARES_SAFE = (1e-290, 1e290)


def _rescaled_rms(X, offset, observed=False):
    """The root mean square of X - offset, each chunk scaled by its peak so
    that no square underflows or overflows (as LAPACK's norms do). With
    ``observed``, over the non-NaN entries only."""
    peaks, sums = [], []
    count = int(np.count_nonzero(~np.isnan(X))) if observed else X.size
    for start in range(0, X.shape[0], _STATS_CHUNK):
        chunk = X[start : start + _STATS_CHUNK].astype(np.float64) - offset
        if observed:
            chunk = np.nan_to_num(chunk)  # a missing entry adds nothing
        peak = float(np.abs(chunk).max()) if chunk.size else 0.0
        peaks.append(peak)
        if peak:
            chunk /= peak
        sums.append(float(np.einsum("ij,ij->", chunk, chunk)))
    top = max(peaks)
    if top == 0 or not np.isfinite(top):
        return top
    total = sum((p / top) ** 2 * s for p, s in zip(peaks, sums))
    return top * np.sqrt(total / max(count, 1))


def _normalisation(X, loss, missing=False):
    """One global affine map that puts X in the units the net trains in.

    ``"mse"``: subtract each feature's mean, divide by one global scale (the
    root mean square of the centred data); squared error in these units is
    PCA's objective up to a constant. ``"bce"``: map the global [min, max] of
    X onto [0, 1]. Statistics are accumulated in float64, a chunk at a time.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        # an overflow is caught below, with advice, not as numpy's warning
        offset, scale = _statistics(X, loss, missing)
    if not (np.all(np.isfinite(offset)) and np.isfinite(scale)):
        raise ValueError(
            "X has values too large to normalise: its mean or spread overflows "
            "float64. Rescale X first (for example divide it by its largest "
            "absolute value)."
        )
    if scale == 0 or scale < np.finfo(np.float64).tiny:
        scale = 1.0  # constant data: nothing to scale
    return offset, float(scale)


def _check_within_range(X, low, width, where, fix):
    """Raise unless X lies within [low, low + width], the range that
    ``loss="bce"`` (a Bernoulli likelihood) maps onto [0, 1]: outside it
    binary cross-entropy is not a likelihood and rewards the farthest rows."""
    x_min, x_max = float(X.min()), float(X.max())
    high = low + width
    slack = 1e-6 * width  # low + (high - low) need not give high back exactly
    if x_min < low - slack or x_max > high + slack:
        raise ValueError(
            f"X holds values in [{x_min:g}, {x_max:g}], outside the range "
            f"[{low:g}, {high:g}] of {where}, which the binary cross-entropy "
            f"(Bernoulli) loss maps onto [0, 1] and is not defined beyond. {fix}"
        )


def _validate_X(estimator, X, reset, **kwargs):
    """``validate_data`` for X alone, with hints for images and non-numeric
    columns."""
    if getattr(X, "ndim", 2) > 2 and not sp.issparse(X):
        raise ValueError(
            f"{type(estimator).__name__} takes 2-D input (n_samples, n_features); "
            f"got an array of shape {X.shape}. Flatten each sample first, e.g. "
            "X.reshape(len(X), -1); for images, keep the flat rows and use "
            "encoder=skae.nn.ConvEncoder(image_shape) and "
            "decoder=skae.nn.ConvDecoder(image_shape), which reshape them. "
            f"(Found array with dim {X.ndim}.)"
        )
    kwargs.setdefault("accept_sparse", ("csr", "csc"))
    try:
        return validate_data(
            estimator,
            X,
            dtype=[np.float64, np.float32],
            reset=reset,
            **kwargs,
        )
    except ValueError as exc:
        if "could not convert" in str(exc) or "dtype='numeric'" in str(exc):
            raise ValueError(
                f"{type(estimator).__name__} needs numeric input; "
                f"{_non_numeric_columns(X)}has non-numeric values ({exc}). Encode "
                "categorical columns first, for example with "
                "sklearn.preprocessing.OneHotEncoder."
            ) from exc
        raise


def _non_numeric_columns(X):
    """'column(s) [...] ' naming the non-numeric columns of X, or 'X '."""
    columns = getattr(X, "columns", None)
    if columns is not None:
        bad = [
            str(c)
            for c in columns
            if not np.issubdtype(np.asarray(X[c]).dtype, np.number)
            and not np.issubdtype(np.asarray(X[c]).dtype, np.bool_)
        ]
        if bad:
            return f"X's column(s) {bad} "
    try:
        array = np.asarray(X, dtype=object)
    except Exception:
        return "X "
    if array.ndim == 2:
        bad = []
        for j in range(array.shape[1]):
            try:
                array[:, j].astype(np.float64)
            except (TypeError, ValueError):
                bad.append(j)
        if bad:
            return f"X's column(s) at index {bad} "
    return "X "


#: module -> (parameter versions, its float64 copy), for float64 inference on
#: the CPU: made once per trained network, not once per call; dropped with
#: the module (weak keys), never pickled.
_FLOAT64_COPIES = weakref.WeakKeyDictionary()
_FLOAT64_LOCK = threading.Lock()


def _float64_copy(module):
    """A float64 copy of ``module``, cached while its weights are unchanged
    (torch's version counters tell an in-place update)."""
    versions = tuple(t._version for t in module.state_dict().values())
    with _FLOAT64_LOCK:
        cached = _FLOAT64_COPIES.get(module)
        if cached is not None and cached[0] == versions:
            return cached[1]
    double = copy.deepcopy(module).double().eval()
    with _FLOAT64_LOCK:
        _FLOAT64_COPIES[module] = (versions, double)
    return double


#: A dense training set whose float32 copy needs more than this fraction of
#: the accelerator's free memory stays on the host and goes to the device one
#: batch at a time (the network, its gradients and Adam's moments need room
#: too).
DEVICE_MEMORY_FRACTION = 0.5


def _free_device_memory(device):
    """Free bytes on a CUDA device; None (no limit applied) elsewhere."""
    if device.type != "cuda":
        return None
    return torch.cuda.mem_get_info(device)[0]


def _view(estimator):
    """A new instance of the estimator's class whose ``__dict__`` is a copy of
    the estimator's (one C-level copy, atomic under the GIL)."""
    view = object.__new__(type(estimator))
    view.__dict__ = estimator.__dict__.copy()
    return view


def reads_fitted_state(method):
    """Run an inference method on a snapshot of the fitted state, so that a
    concurrent refit cannot mix an old network with new statistics."""

    @functools.wraps(method)
    def on_snapshot(self, *args, **kwargs):
        return method(_view(self), *args, **kwargs)

    return on_snapshot


#: ``max_iter`` "cut a fit short" when the monitored loss fell by more than
#: this fraction over the last ``n_iter_no_change`` epochs.
STILL_IMPROVING = 0.02

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


#: Callback names skae's net uses itself.
_OWN_CALLBACKS = {
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


@contextmanager
def _ctrl_c_watch():
    """Record whether Ctrl-C (SIGINT) arrives during the block.

    skorch ends training when anything raises KeyboardInterrupt: skae's own
    stopping rule, a callback such as skorch's ``EarlyStopping``, or the
    user's Ctrl-C. Only the last must reach the caller. In the main thread a
    SIGINT handler marks it (then behaves as the handler it replaces); in
    other threads no signal arrives, so every interrupt is a callback's.
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


def _sizes(sizes):
    return tuple(int(s) for s in sizes)


class BaseAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared machinery of the skae estimators; not public.

    Subclasses write their ``__init__`` out (the parameters of the table in
    ``_params``, checked by ``tests/test_signatures.py``) and may override
    the hooks at the bottom: ``_requested_likelihood``, ``_likelihood_label``,
    ``_make_module``, ``_net_class``, ``_net_params``, ``_warmup_epochs``,
    ``_check_params``, ``_after_training`` and ``_record_history``.
    The fitted ``loss_`` ("mse" or "bce") names the likelihood piece, which
    picks the normalisation, the criterion and the output map.
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "encoder": [torch.nn.Module, None],
        "decoder": [torch.nn.Module, None],
        "hidden_layer_sizes": ["array-like"],
        "decoder_layer_sizes": ["array-like", None],
        "activation": [str],
        "code_activation": [str, None],
        "loss": [StrOptions({"auto", "mse", "bce"})],
        "penalty": [str, None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
        "noise": [StrOptions({"gaussian", "masking"}), None],
        "noise_level": [Interval(Real, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"one_cycle", "constant"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "callbacks": [list, None],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the autoencoder to X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; at least 2 samples. Sparse matrices (CSR or CSC)
            and ``np.memmap`` arrays are read one mini-batch at a time.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._atomic(X, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train on one chunk of data: one epoch over X.

        Like ``IncrementalPCA.partial_fit``, for data that arrive in chunks
        or do not fit in memory at once (dask-ml's ``Incremental`` calls it
        once per block). The first call, on an unfitted estimator, builds
        the network and fixes the normalisation and the loss from that
        chunk; each call then trains one epoch over its chunk, in
        mini-batches of ``batch_size``, keeping Adam's state between calls.
        ``max_iter``, ``early_stopping`` and the stopping rule do not apply.
        Called on an estimator fitted by ``fit``, it continues training that
        network. Parameters that shape the network cannot change between
        calls (a ValueError names them); the others (learning rate, weight
        decay, alpha, beta, noise) take effect.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One chunk of training data; the first chunk needs at least 2
            samples and should span the data's range (its statistics fix
            the normalisation).
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._atomic(X, incremental=True)

    def _atomic(self, X, incremental, missing=False, warn_cut_short=True):
        """Train a copy of the estimator's state, then publish it in one step.

        The training runs on a view that shares nothing writable with
        ``self``; only when it succeeds does ``self.__dict__`` become the
        view's (one assignment). A failed or interrupted call leaves the
        estimator exactly as it was, and a reader in another thread sees
        either the old fitted state or the new one, never a mix.
        """
        work = _view(self)
        work._fit(X, incremental, missing, warn_cut_short)
        self.__dict__ = work.__dict__
        return self

    def _fit(self, X, incremental, missing=False, warn_cut_short=True):
        """The one training path: ``fit`` (max_iter epochs, the stopping
        rule) and ``partial_fit`` (one epoch) differ only in the run's
        settings. With ``missing`` (the imputer's engine), NaN entries of X
        are missing values: left out of the statistics and of the loss, and
        fed to the network as their feature's mean. ``warn_cut_short=False``
        leaves out the ConvergenceWarning of a fit that ``max_iter`` cut
        short (without touching the process's warning filters, which
        ``warnings.catch_warnings`` would, for every thread)."""
        fitted = hasattr(self, "net_")
        resume = fitted and (incremental or self.warm_start)
        memmap = isinstance(X, np.memmap)
        X = _validate_X(
            self,
            X,
            reset=not resume,
            ensure_min_samples=1 if (incremental and fitted) else 2,
            ensure_all_finite="allow-nan" if missing else True,
            accept_sparse=False if missing else ("csr", "csc"),
        )
        self._check_params(X, incremental)
        if resume:
            self._check_architecture_unchanged()
            device = torch.device(self.net_.device)
            lik = likelihood(self.loss_)
            offset, scale = self.offset_, self.scale_
            if incremental and lik.loss == "bce":
                _check_within_range(
                    X,
                    offset[0],
                    scale,
                    "the first chunk",
                    "Make the first chunk span the data's range (for example "
                    "scale X into [0, 1] beforehand, with a first chunk that "
                    "reaches 0 and 1), or use loss='mse'.",
                )
        else:
            device = resolve_device(self.device)
            lik = self._requested_likelihood() or likelihood(_auto_loss(X))
            offset, scale = _normalisation(X, lik.loss, missing)
        validating = self.early_stopping and not incremental
        if validating and X.shape[0] < 3:
            raise ValueError(
                f"early_stopping=True needs at least 3 samples (training and "
                f"validation rows); got n_samples={X.shape[0]}."
            )
        X_train = self._training_rows(X, offset, scale, device, memmap)
        epochs_before = len(self.net_.history) if resume else 0
        seed = self._seed()
        if incremental:
            # a fresh seed per epoch: chunks of equal size are not all
            # shuffled the same way, and the same int random_state repeats
            # the whole run
            seed = (seed + epochs_before) % np.iinfo(np.int32).max
        epochs = 1 if incremental else self._epochs(X.shape[0])
        user_callbacks = self._user_callbacks()
        # a skorch LRScheduler among the callbacks takes the schedule's place
        scheduled = (
            not incremental
            and self.learning_rate == "one_cycle"
            and not any(isinstance(cb, LRScheduler) for _, cb in user_callbacks)
        )
        monitor = TrainingMonitor(
            monitor="valid_loss" if validating else "train_loss",
            # partial_fit: the divergence guard and the interrupt check only
            patience=np.inf if incremental else self.n_iter_no_change,
            tol=self.tol,
            restore_best=validating,
            start=max(
                self._warmup_epochs(),
                first_judged_epoch(epochs_before, epochs) if scheduled else 0,
            ),
        )
        split = ShuffledSplit(self.validation_fraction, seed) if validating else None
        run = self._run_params(epochs, monitor, split, seed, user_callbacks, scheduled)
        objective = self._objective(X_train, offset, scale, resume, missing)
        if not resume:
            # the parameters the network is built from: warm starts, loading
            # and saving read these, not parameters set after the fit
            self._fitted_params = self.get_params(deep=False)
            self._warn_if_overcomplete(X.shape[1])
        with _ctrl_c_watch() as ctrl_c:
            net = self._train(X_train, X.shape[1], device, lik, run, objective, resume)
        if ctrl_c.is_set():
            # skorch ends training quietly on KeyboardInterrupt; a user's
            # Ctrl-C must reach the caller (and undo the call)
            raise KeyboardInterrupt("training was interrupted")
        stopped_by_callback = monitor.epochs_ < epochs and not monitor.converged_
        if not incremental:
            # a fitted model keeps no optimizer state and no per-batch log:
            # its pickle is about the size of its weights
            net.initialize_optimizer()
        seen = getattr(self, "n_samples_seen_", 0) if (incremental and fitted) else 0
        self._keep(net, lik, offset, scale, validated=validating)
        self.n_samples_seen_ = seen + X.shape[0]
        self._after_training(X_train)
        if warn_cut_short and not (
            incremental or monitor.converged_ or stopped_by_callback
        ):
            curve = self.loss_curve_
            if validating:
                curve = [-v for v in self.validation_scores_]
            self._warn_if_cut_short(
                curve, "validation" if validating else "training", epochs
            )
        return self

    def _epochs(self, n_samples):
        """The epochs a ``fit`` on ``n_samples`` rows runs at most:
        ``max_iter``, or for ``"auto"`` about :data:`STEP_BUDGET` optimizer
        steps on the training rows (those left after the validation split)."""
        if self.max_iter != "auto":
            return self.max_iter
        n_train = n_samples
        if self.early_stopping:
            n_train -= ShuffledSplit.held_out(self.validation_fraction, n_samples)
        return auto_epochs(n_train, self.batch_size)

    def _warn_if_cut_short(self, curve, which, epochs):
        """ConvergenceWarning when ``max_iter`` ended a fit whose monitored
        loss was still falling materially: by more than 2% (relative) and by
        more than ``tol`` per epoch over the last ``n_iter_no_change``
        epochs. At skae's defaults the 200-epoch budget is chosen for quality
        and the loss has flattened by then: no warning."""
        window = min(self.n_iter_no_change, len(curve) - 1)
        if window < 1:
            return
        drop = curve[-window - 1] - curve[-1]
        relative = drop / abs(curve[-1]) if curve[-1] else math.inf
        if relative > STILL_IMPROVING and drop / window > self.tol:
            warn_at_caller(
                f"{type(self).__name__} stopped at max_iter={self.max_iter!r} "
                f"({epochs} epochs) "
                f"while its {which} loss was still falling ({relative:.1%} over "
                f"the last {window} epoch{'s' * (window > 1)}). Raise max_iter (or "
                "learning_rate_init) to train it further; with "
                "early_stopping=True it stops on held-out data instead.",
                ConvergenceWarning,
            )

    def _warn_if_overcomplete(self, n_features):
        """A code at least as wide as the input, with nothing to stop the
        network from copying it, can learn the identity."""
        if (
            self.n_components >= n_features
            and self.penalty is None
            and self.noise is None
            and not self._regularised_code
        ):
            warn_at_caller(
                f"n_components={self.n_components} >= n_features={n_features}: "
                f"an overcomplete {type(self).__name__} with no penalty and no "
                "noise can learn to copy its input. Use fewer components, or a "
                "penalty ('l1', 'contractive') or noise ('gaussian').",
                UserWarning,
            )

    def _check_architecture_unchanged(self):
        """Refuse to continue a fitted network with parameters that would
        build another one."""
        requested = self._requested_likelihood()
        if requested not in (None, likelihood(self.loss_)):
            raise ValueError(
                f"warm_start=True and partial_fit continue a model fitted with "
                f"{self._likelihood_label(likelihood(self.loss_))}; it cannot "
                f"switch to {self._likelihood_label(requested)}. Set warm_start="
                "False (and call fit) to fit a new model."
            )
        fitted = self._fitted_params
        changed = [
            name
            for name in ARCHITECTURE
            if not _same_param(getattr(self, name), fitted.get(name))
        ]
        if changed:
            listed = ", ".join(
                f"{n} (fitted {fitted.get(n)!r}, now {getattr(self, n)!r})"
                for n in changed
            )
            raise ValueError(
                f"warm_start=True and partial_fit continue the fitted network, "
                f"which these parameters would change: {listed}. Set them back, "
                "or set warm_start=False (and call fit) to fit a new model."
            )

    def _train(self, X_train, n_features, device, lik, run, objective, resume):
        """Train a net on ``X_train`` and return it.

        With ``resume``, a copy of ``net_`` continues (Adam's state and the
        history carry over; the copy means a failed call leaves the model as
        it was); otherwise a new net is built for ``n_features`` inputs, its
        weights drawn under ``seed``.
        """
        if resume:
            net = copy_net(self.net_)
            settings = dict(
                lr=self.learning_rate_init,
                optimizer__weight_decay=self.weight_decay,
                **objective,
                **run,
            )
            # which default callbacks run is a constructor argument to skorch
            # (set_params refuses to name one that is switched off)
            for key in [k for k in settings if k.startswith("callbacks__")]:
                setattr(net, key, settings.pop(key))
            net.set_params(**settings)  # updates the optimizer's param groups
            # ... and, for the optimizer a fit re-creates at its end, the
            # argument skorch builds it from (set_params leaves it as it was)
            net.optimizer__weight_decay = self.weight_decay
            net.initialize_callbacks()
        else:
            net = self._new_net(n_features, device, lik, **objective, **run)
        # skae's own draws come from the net's generator; dropout draws from
        # torch's global one, which is then seeded (and held) for the run
        global_rng = _draws_from_global_rng(net.module_)
        with (
            seeded(run["seed"], device) if global_rng else nullcontext(),
            training_threads(),
        ):
            net.partial_fit(TensorDataset(X_train))
        return net

    def _objective(self, X_train, offset, scale, resume, missing=False):
        """The net's objective pieces for this run, from the parameters."""
        noise = dict(noise=self.noise, noise_level=self.noise_level)
        if resume and noise == dict(
            noise=self.net_.noise, noise_level=self.net_.noise_level
        ):
            corruption = self.net_.corruption  # statistics of the first data
        else:
            corruption = make_corruption(
                self.noise,
                self.noise_level,
                lambda: feature_moments(X_train),
                offset,
                scale,
            )
        if resume:
            entries = self.net_.missing
        else:
            entries = MissingEntries.from_rows(X_train) if missing else None
        return dict(
            penalty=make_penalty(self.penalty, self),
            alpha=float(self.alpha),
            corruption=corruption,
            missing=entries,
            **noise,
            **self._net_params(),
        )

    def _training_rows(self, X, offset, scale, device, memmap):
        """The normalised float32 training rows on ``device``: one tensor, or
        rows read one batch at a time for sparse and memory-mapped X and for
        a dense X larger than :data:`DEVICE_MEMORY_FRACTION` of the device's
        free memory."""
        free = _free_device_memory(device)
        too_big = free is not None and 4 * X.size > DEVICE_MEMORY_FRACTION * free
        if sp.issparse(X) or memmap or too_big:
            # densified / read / moved one batch at a time, never whole
            return LazyRows(X.tocsr() if sp.issparse(X) else X, offset, scale, device)
        return torch.from_numpy(normalise(X, offset, scale, np.float32)).to(device)

    def _seed(self):
        """The torch seed of a training run, drawn from ``random_state``."""
        return int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )

    def _run_params(
        self, epochs, monitor, train_split, seed, user_callbacks, scheduled
    ):
        """The net's parameters for one training run: skae's callbacks, then
        ``user_callbacks`` (from :meth:`_user_callbacks`); ``scheduled``: with
        the one-cycle schedule over ``epochs``."""
        schedule = [("schedule", OneCycle(epochs))] if scheduled else []
        validating = train_split is not None
        return dict(
            max_epochs=epochs,
            batch_size=self.batch_size,
            train_split=train_split,
            seed=seed,
            # skorch's per-epoch validation scoring and printing only when
            # used (the epoch timer and train loss are always on)
            callbacks__train_loss=EpochMean(name="train_loss", on_train=True),
            callbacks__valid_loss=EpochMean(name="valid_loss") if validating else None,
            # skae's own progress lines instead of skorch's table
            callbacks__print_log=None,
            callbacks=[
                ("threads", ThreadPolicy()),
                *self._net_class().scoring_callbacks(validating),
                ("monitor", monitor),
                *schedule,
                *(
                    [("progress", EpochLog(int(self.verbose), type(self).__name__))]
                    if self.verbose
                    else []
                ),
                *user_callbacks,
            ],
            verbose=int(self.verbose),
        )

    def _user_callbacks(self):
        """Deep copies of the ``callbacks`` parameter, named: never shared
        between fits (nor with clones), after skae's own callbacks."""
        named = []
        for i, item in enumerate(self.callbacks or []):
            name, callback = item if isinstance(item, tuple) else (None, item)
            if not isinstance(callback, Callback):
                raise ValueError(
                    f"callbacks[{i}] must be a skorch Callback or a (name, "
                    f"Callback) pair; got {item!r}."
                )
            name = name or f"user_{i}_{type(callback).__name__}"
            if name in _OWN_CALLBACKS:
                raise ValueError(
                    f"callbacks[{i}] is named {name!r}, a name skae uses for "
                    "its own callbacks; choose another name."
                )
            named.append((name, copy.deepcopy(callback)))
        return named

    def _keep(self, net, lik, offset, scale, validated):
        """Publish a trained net and the fitted attributes read off it."""
        history = net.history
        for epoch in history:
            if epoch.get("batches"):  # only this run's: older ones are empty
                epoch["batches"] = []  # no per-batch log in a fitted model
        validation_scores = (
            [-v for v in history_column(history, "valid_loss")] if validated else None
        )
        fitted = dict(
            net_=net,
            loss_=lik.loss,
            offset_=offset,
            scale_=scale,
            n_components_=self._fitted_params["n_components"],
            n_iter_=len(history),
            loss_curve_=history_column(history, "train_loss"),
            validation_scores_=validation_scores,
            best_validation_score_=max(validation_scores) if validated else None,
            **self._record_history(history),
        )
        self.__dict__.update(fitted)

    def _build_module(self, n_features, lik):
        """The torch module, built from the fitted parameters (the encoder
        and decoder: copies of the given modules, or skae's MLP blocks)."""
        p = self._fitted_params
        hidden = _sizes(p["hidden_layer_sizes"])
        decoder_sizes = p["decoder_layer_sizes"]
        decoder_sizes = hidden[::-1] if decoder_sizes is None else _sizes(decoder_sizes)
        encoder = (
            MLPEncoder(hidden, p["activation"], p["dropout"])
            if p["encoder"] is None
            else copy.deepcopy(p["encoder"])
        )
        decoder = (
            MLPDecoder(decoder_sizes, p["activation"], p["dropout"], n_features)
            if p["decoder"] is None
            else copy.deepcopy(p["decoder"])
        )
        return self._make_module(encoder, decoder, n_features, p, lik)

    def _new_net(self, n_features, device, lik, **net_params):
        """An initialised, untrained skorch net for ``n_features`` inputs."""
        with seeded(net_params.get("seed", 0), device):
            # float32 whatever torch's default dtype (set_default_dtype)
            module = self._build_module(n_features, lik).float()
        net = self._net_class()(
            module=module,
            criterion=lik.criterion,
            likelihood=lik,
            optimizer=torch.optim.Adam,
            lr=self.learning_rate_init,
            optimizer__weight_decay=self.weight_decay,
            device=device,
            **net_params,
        )
        net.initialize()
        # the net keeps the module it trained as ``module_``; its ``module``
        # argument (the same object) would be pickled a second time
        net.module = type(module)
        return net

    # ------------------------------------------------------------ inference

    @reads_fitted_state
    def transform(self, X):
        """Encode X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data in the units the model was fitted on.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The codes, in X's float dtype (float32 stays float32).
        """
        return self._transform(X)

    def _transform(self, X):
        """``transform`` without the ``set_output`` wrapping: always an array."""
        check_is_fitted(self)
        X = _validate_X(self, X, reset=False, ensure_all_finite=False)
        return self._run_batches(self._encode, X, normalise=True)

    @reads_fitted_state
    def inverse_transform(self, X):
        """Decode codes back to the input space, in the units of the fitted data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, e.g. the output of :meth:`transform`.

        Returns
        -------
        X_original : ndarray or DataFrame of shape (n_samples, `n_features_in_`)
            The decoder's mean reconstruction, in the input's float dtype. A
            DataFrame (pandas or polars) when ``set_output`` (or scikit-learn's
            global ``transform_output``) asks for one, with the fitted
            feature names as columns (``x0``, ``x1``, ... without them) and
            the index of ``X`` when it has one.
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=[np.float64, np.float32])
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {Z.shape[1]} features, but {type(self).__name__}."
                f"inverse_transform is expecting {self.n_components_} features "
                "(the code width, n_components) as input."
            )
        out = self._denormalise(self._run_batches(self._decode_mean, Z))
        # like transform, follow set_output: columns are the input features
        adapter = _get_container_adapter("transform", self)
        if adapter is None:
            return out
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = np.asarray(
                [f"x{i}" for i in range(self.n_features_in_)], dtype=object
            )
        return adapter.create_container(out, X, columns=names)

    @reads_fitted_state
    def score_samples(self, X):
        """Compute minus the mean squared reconstruction error of each sample.

        The error is measured in X's own units and averaged over features;
        higher is better, so low values flag unusual samples.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data in the units the model was fitted on.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Float64 scores.
        """
        check_is_fitted(self)
        X = _validate_X(self, X, reset=False, ensure_all_finite=False)

        if self.scale_ > _LARGEST_SQUARABLE:
            raise ValueError(
                f"score_samples measures squared errors in X's units, and X's "
                f"spread (scale_={self.scale_:g}) makes them overflow float64. "
                "Rescale X (for example divide it by its largest absolute "
                "value) before fitting, or compare transforms instead."
            )

        def squared_error(module, x):
            recon = self._decode_mean(module, self._encode(module, x))
            # in X's units: x - x̂ = scale_ · (x_n - x̂_n)
            return (x.double() - recon.double()).pow(2).mean(dim=1) * self.scale_**2

        return -self._run_batches(squared_error, X, normalise=True, dtype=np.float64)

    @reads_fitted_state
    def _reconstruct_missing(self, X):
        """The reconstruction of X in X's units, NaN entries of X treated as
        missing (fed as their feature's mean); the imputer's engine."""
        check_is_fitted(self)
        X = _validate_X(
            self, X, reset=False, ensure_all_finite="allow-nan", accept_sparse=False
        )
        missing = self.net_.missing

        def reconstruct(module, x):
            if missing is not None:
                x = missing.fill_in(x)
            return self._decode_mean(module, self._encode(module, x))

        out = self._run_batches(reconstruct, X, normalise=True)
        return self._denormalise(out)

    def score(self, X, y=None):
        """Return minus the mean squared reconstruction error per entry of X.

        With no ``scoring``, cross-validated search therefore selects the
        model that reconstructs held-out data best, as with PCA's ``score``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data in the units the model was fitted on.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        score : float
            Higher is better.
        """
        return float(np.mean(self.score_samples(X)))

    # ------------------------------------------------------------- helpers

    @property
    def _n_features_out(self):
        return self.n_components_

    def __setstate__(self, state):
        super().__setstate__(state)
        # skorch unpickles a GPU-trained net_ onto the CPU when this machine
        # has no GPU (with its DeviceWarning); say so in ``device`` too, as
        # skae.load does, so that it names the device actually used
        net = state.get("net_")
        if (
            net is not None
            and str(self.device).startswith(("cuda", "mps", "xpu"))
            and torch.device(net.device).type == "cpu"
        ):
            warn_at_caller(
                f"This model was pickled with device={self.device!r}, which is not "
                "available here; it is loaded on the CPU (its device parameter is "
                "now 'cpu').",
                UserWarning,
            )
            self.device = "cpu"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = True
        return tags

    #: X -> the units the net trains in (the one implementation, in _net)
    _normalise = staticmethod(normalise)

    def _denormalise(self, Xn):
        """``Xn * scale_ + offset_`` written into ``Xn`` (an array of ours),
        computed in float64 a block of rows at a time: no float64 copy of the
        whole output."""
        for start in range(0, Xn.shape[0], _NORMALISE_CHUNK):
            block = Xn[start : start + _NORMALISE_CHUNK]
            block[...] = block * self.scale_ + self.offset_
        return Xn

    def _run_batches(self, fn, X, normalise=False, dtype=None):
        """Apply ``fn(module, batch)`` to X in eval mode, without gradients.

        With ``normalise``, each batch is first mapped into the units the net
        trained in (one batch at a time: no full-size copy of X; sparse X is
        densified a batch at a time). The result has X's dtype unless
        ``dtype`` says otherwise. On the CPU,
        float64 input runs through a float64 copy of the module, so each
        row's result does not depend on which rows share its batch (float32
        matrix products do, in the last bit); otherwise float32.
        """
        module = self.net_.module_
        device = torch.device(self.net_.device)
        out_dtype = X.dtype if dtype is None else dtype
        if X.dtype == np.float64 and device.type == "cpu":
            module = _float64_copy(module)
            dtype = np.float64
        else:
            dtype = np.float32
        # x / scale - offset / scale: no overflow where the result has none
        shift = torch.as_tensor(
            (self.offset_ / self.scale_).astype(dtype), device=device
        )
        module.eval()
        parts = []
        with torch.inference_mode():
            rows = inference_batch_rows(max(X.shape[1], self.n_features_in_))
            for start in range(0, X.shape[0], rows):
                batch = X[start : start + rows]
                if sp.issparse(batch):
                    batch = batch.toarray()
                scaled = (
                    normalise and batch.dtype == np.float64 and dtype != batch.dtype
                )
                if scaled:
                    # float64 X for a float32 network (on a GPU): normalise in
                    # float64 first, so values beyond float32's range survive
                    batch = normalise(batch, self.offset_, self.scale_, dtype)
                if not (
                    batch.dtype == dtype
                    and batch.flags.writeable
                    and batch.flags.c_contiguous
                ):
                    # torch warns about (and must not write to) read-only
                    # memory, e.g. the memmaps joblib hands its workers, and
                    # cannot wrap negative strides
                    batch = np.array(batch, dtype=dtype, order="C")
                batch = torch.from_numpy(batch).to(device)
                if normalise and not scaled:
                    batch = batch.div(self.scale_).sub_(shift)  # one temporary
                parts.append(fn(module, batch).cpu().numpy())
        if not parts:
            return np.empty((0, 0), dtype=out_dtype)
        out = np.concatenate(parts).astype(out_dtype, copy=False)
        if not np.isfinite(out).all():
            if normalise:
                # inference skips validate_data's finiteness pass over all of
                # X (a float64 sum, as long as the encoder on 784 columns):
                # NaN and inf propagate through the network, so they are
                # looked for, with scikit-learn's messages, only here
                assert_all_finite(X, input_name="X", estimator_name=type(self).__name__)
            raise ValueError(
                "The network's output overflowed (non-finite values): the input "
                "has values far outside the range of the training data. Check X "
                "for extreme values."
            )
        return out

    # --------------------------------------------------------------- hooks

    def _check_params(self, X, incremental):
        """Checks that ``_parameter_constraints`` cannot express."""
        for name in ("hidden_layer_sizes", "decoder_layer_sizes"):
            sizes = getattr(self, name)
            if sizes is None and name == "decoder_layer_sizes":
                continue
            if np.ndim(sizes) != 1 or not all(
                isinstance(s, Integral) and not isinstance(s, bool) and s >= 1
                for s in np.ravel(sizes)
            ):
                raise ValueError(
                    f"{name} must be a sequence of positive integers, e.g. "
                    f"(128, 64), or () for none; got {sizes!r}."
                )
        for name in ("activation", "code_activation"):
            value = getattr(self, name)
            if value is not None and value not in ACTIVATIONS:
                raise ValueError(
                    f"The '{name}' parameter of {type(self).__name__} must be one "
                    f"of {sorted(ACTIVATIONS)}"
                    + (" or None" if name == "code_activation" else "")
                    + f". Got {value!r} instead."
                )
        if self.penalty is not None and self.penalty not in PENALTIES:
            raise ValueError(
                f"The 'penalty' parameter of {type(self).__name__} must be one of "
                f"{sorted(PENALTIES)} or None. Got {self.penalty!r} instead."
            )
        if self.penalty is not None:
            PENALTIES[self.penalty]().code_activation(self.code_activation)
        for name in ("learning_rate_init", "weight_decay"):
            if getattr(self, name) > _FLOAT32_MAX:
                raise ValueError(
                    f"{name}={getattr(self, name)!r} is beyond float32's range "
                    f"({_FLOAT32_MAX:.3g}), in which the network trains; use a "
                    "smaller value."
                )
        if self.early_stopping and not incremental:
            n_valid = ShuffledSplit.held_out(self.validation_fraction, X.shape[0])
            if n_valid >= X.shape[0]:
                raise ValueError(
                    f"early_stopping=True holds out ceil(validation_fraction * "
                    f"n_samples) = {n_valid} of the {X.shape[0]} samples, which "
                    "leaves none to train on. Lower validation_fraction, or "
                    "give more samples."
                )
        if self.noise == "masking" and self.noise_level >= 1:
            raise ValueError(
                "noise_level is the fraction of entries masked when noise='masking' "
                f"and must be below 1; got {self.noise_level!r}."
            )
        self._check_unused_mlp_params()

    def _check_unused_mlp_params(self):
        """The MLP parameters that build no layer must keep their defaults:
        a value that would be silently ignored is an error."""
        hidden = _sizes(self.hidden_layer_sizes)
        decoder_sizes = (
            hidden[::-1]
            if self.decoder_layer_sizes is None
            else _sizes(self.decoder_layer_sizes)
        )
        mlp_layers = (len(hidden) if self.encoder is None else 0) + (
            len(decoder_sizes) if self.decoder is None else 0
        )
        unused = {}
        if mlp_layers == 0:
            why = (
                "encoder and decoder are your own modules"
                if self.encoder is not None and self.decoder is not None
                else "no MLP hidden layer is built (hidden_layer_sizes=() and "
                "decoder_layer_sizes)"
            )
            unused.update(activation=why, dropout=why)
        if self.encoder is not None and (
            self.decoder is not None or self.decoder_layer_sizes is not None
        ):
            unused["hidden_layer_sizes"] = "encoder is your own module"
        if self.decoder is not None:
            unused["decoder_layer_sizes"] = "decoder is your own module"
        defaults = {
            name: p.default
            for name, p in _signature_params(type(self)).items()
            if name in unused
        }
        for name, why in unused.items():
            value = getattr(self, name)
            if name == "activation" and value == "identity":
                continue  # linear either way
            if not _same_param(value, defaults[name]):
                raise ValueError(
                    f"{name}={value!r} has no effect here: {why}. Leave {name} at "
                    f"its default ({defaults[name]!r}); "
                    + (
                        "code_activation makes the code itself nonlinear."
                        if name == "activation"
                        else "configure your module directly."
                    )
                )

    #: Whether the objective itself keeps the code from copying the input
    #: (the VAE's KL term does): no overcomplete warning then.
    _regularised_code = False

    def _requested_likelihood(self):
        """The likelihood piece the parameters ask for, None for "auto"."""
        return None if self.loss == "auto" else likelihood(self.loss)

    def _likelihood_label(self, lik):
        """How error messages name a likelihood."""
        return f"loss={lik.loss!r}"

    def _make_module(self, encoder, decoder, n_features, params, lik):
        """The torch module around the encoder and decoder bodies."""
        penalty = PENALTIES[params["penalty"]] if params["penalty"] else None
        return Autoencoder(
            encoder,
            decoder,
            n_features,
            params["n_components"],
            code_activation=(
                penalty().code_activation(params["code_activation"])
                if penalty
                else params["code_activation"]
            ),
            code_rms_norm=bool(penalty and penalty.code_rms_norm),
        )

    def _net_class(self):
        return AutoencoderNet

    def _net_params(self):
        """Extra keyword arguments of the net (the VAE's beta, ...)."""
        return {}

    def _warmup_epochs(self):
        """Epochs, counted over the net's whole history, whose loss is not yet
        the final objective (e.g. a KL warm-up): the stopping rule and the
        best-weights restore ignore them."""
        return 0

    def _encode(self, module, x):
        return module.encode(x)

    def _decode_mean(self, module, z):
        return likelihood(self.loss_).mean(module.decode(z))

    def _after_training(self, X_train):
        """Fitted diagnostics computed on the rows just trained on
        (``X_train``: the normalised rows, see :meth:`_training_rows`);
        called after ``fit`` and after every ``partial_fit``."""

    def _training_codes(self, X_train):
        """The trained network's codes of ``X_train``, the normalised float32
        rows it trained on (missing entries filled in as in training), in
        eval mode and without gradients: a float32 array.

        Cheaper than :meth:`transform` on the raw X: no second normalisation
        and, for float64 X on the CPU, no float64 copy of the network.
        """
        net = self.net_
        module = net.module_
        module.eval()
        parts = []
        with torch.inference_mode():
            rows = inference_batch_rows(self.n_features_in_)
            for start in range(0, len(X_train), rows):
                batch = X_train[start : start + rows]
                if net.missing is not None:
                    batch = net.missing.fill_in(batch)
                parts.append(self._encode(module, batch).cpu().numpy())
        return np.concatenate(parts)

    def _record_history(self, history):
        """Fitted attributes (a dict) read off the history beyond the
        training loss."""
        return {}


def _signature_params(cls):
    import inspect

    return inspect.signature(cls.__init__).parameters


def _same_param(a, b):
    """Whether two parameter values are the same setting."""
    if isinstance(a, torch.nn.Module) or isinstance(b, torch.nn.Module):
        return a is b
    if isinstance(a, list | tuple | np.ndarray) or isinstance(
        b, list | tuple | np.ndarray
    ):
        try:
            return _sizes(a) == _sizes(b)
        except (TypeError, ValueError):
            return False
    return a == b or (a is None and b is None)
