"""The shared base of every skae estimator.

It owns parameter validation, the data's normalisation, seeding, building and
training the skorch net, dtype handling, batched inference and the fitted
bookkeeping. A concrete estimator adds its own parameters and overrides the
small hooks at the bottom of :class:`BaseAutoencoder`.
"""

import copy
import warnings
from contextlib import contextmanager
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
from skorch.callbacks import PassthroughScoring, PrintLog

from ._compat import Interval, StrOptions, _fit_context, validate_data
from ._device import resolve_device
from ._modules import ACTIVATIONS, AutoencoderModule
from ._net import (
    AutoencoderNet,
    LazyRows,
    ShuffledSplit,
    TensorBatches,
    TensorDataset,
    TrainingMonitor,
    normalise,
)

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

#: Rows per chunk when computing the normalisation statistics.
_STATS_CHUNK = 8192


@contextmanager
def seeded(seed, device):
    """Seed torch for the duration of the block and restore the caller's RNGs."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.default_generator.manual_seed(seed)
        if device.type == "cuda":
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield


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
    low, high = X.min(), X.max()
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


def _statistics(X, loss):
    """(offset, scale) of :func:`_normalisation`, possibly non-finite."""
    n_samples, n_features = X.shape
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
        scale = np.sqrt(squares / X.size)
    return offset, scale


def _normalisation(X, loss):
    """One global affine map that puts X in the units the net trains in.

    ``"mse"``: subtract each feature's mean, divide by one global scale (the
    root mean square of the centred data); squared error in these units is
    PCA's objective up to a constant. ``"bce"``: map the global [min, max] of
    X onto [0, 1]. Statistics are accumulated in float64, a chunk at a time.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        # an overflow is caught below, with advice, not as numpy's warning
        offset, scale = _statistics(X, loss)
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
    """``validate_data`` for X alone, with a hint for non-numeric columns."""
    try:
        return validate_data(
            estimator,
            X,
            dtype=[np.float64, np.float32],
            accept_sparse=("csr", "csc"),
            reset=reset,
            **kwargs,
        )
    except ValueError as exc:
        if "could not convert" in str(exc) or "dtype='numeric'" in str(exc):
            raise ValueError(
                f"{type(estimator).__name__} needs numeric input; X has "
                f"non-numeric values ({exc}). Encode categorical columns first, "
                "for example with sklearn.preprocessing.OneHotEncoder."
            ) from exc
        raise


class BaseAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared machinery of the skae estimators; not public.

    Subclasses write ``__init__`` with their full signature and may override
    the hooks ``_requested_loss``, ``_loss_label``, ``_module_class``,
    ``_module_params``, ``_net_class``, ``_net_params``, ``_warmup_epochs``,
    ``_check_params``, ``_encode``, ``_decode_mean`` and ``_record_history``.
    The fitted ``loss_`` ("mse" or "bce") picks the normalisation, the
    criterion and the map from the decoder's output to its mean (identity or
    sigmoid).
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "loss": [StrOptions({"auto", "mse", "bce"})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
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
        return self._atomic(self._fit, X)

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
        network.

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
        return self._atomic(self._partial_fit, X)

    def _atomic(self, train, X):
        """Run ``train(X)``; if it fails or is interrupted, restore the
        estimator exactly as it was before the call."""
        snapshot = self.__dict__.copy()
        try:
            train(X)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise
        return self

    def _fit(self, X):
        warm = self.warm_start and hasattr(self, "net_")
        memmap = isinstance(X, np.memmap)
        X = _validate_X(self, X, reset=not warm, ensure_min_samples=2)
        self._check_params(X)
        device = resolve_device(self.device)
        if self.early_stopping and X.shape[0] < 3:
            raise ValueError(
                f"early_stopping=True needs at least 3 samples (training and "
                f"validation rows); got n_samples={X.shape[0]}."
            )
        self.loss_ = self._resolve_loss(X, warm)
        if warm:
            offset, scale = self.offset_, self.scale_
        else:
            offset, scale = _normalisation(X, self.loss_)
        X_train = self._training_rows(X, offset, scale, device, memmap)
        seed = self._seed()
        monitor = TrainingMonitor(
            monitor="valid_loss" if self.early_stopping else "train_loss",
            patience=self.n_iter_no_change,
            tol=self.tol,
            restore_best=self.early_stopping,
            start=self._warmup_epochs(),
        )
        run_params = self._run_params(
            self.max_iter,
            monitor,
            ShuffledSplit(self.validation_fraction, seed)
            if self.early_stopping
            else None,
        )
        net = self._train(
            X_train,
            X.shape[1],
            device,
            seed,
            run_params,
            self._net_params(X_train, offset, scale),
            resume=warm,
        )
        monitor.check_finished(self.max_iter)
        # a fitted model keeps no optimizer state and no per-batch log: its
        # pickle is about the size of its weights
        net.initialize_optimizer()
        self._keep(net, offset, scale, validated=self.early_stopping)
        self.n_samples_seen_ = X.shape[0]
        if not monitor.converged_:
            warnings.warn(
                f"{type(self).__name__}: maximum iterations ({self.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _partial_fit(self, X):
        first = not hasattr(self, "net_")
        memmap = isinstance(X, np.memmap)
        X = _validate_X(self, X, reset=first, ensure_min_samples=2 if first else 1)
        self._check_params(X)
        if first:
            device = resolve_device(self.device)
            self.loss_ = self._resolve_loss(X, warm=False)
            offset, scale = _normalisation(X, self.loss_)
        else:
            device = torch.device(self.net_.device)
            self._resolve_loss(X, warm=True)  # the loss cannot change now
            offset, scale = self.offset_, self.scale_
            if self.loss_ == "bce":
                _check_within_range(
                    X,
                    offset[0],
                    scale,
                    "the first chunk",
                    "Make the first chunk span the data's range (for example "
                    "scale X into [0, 1] beforehand, with a first chunk that "
                    "reaches 0 and 1), or use loss='mse'.",
                )
        X_train = self._training_rows(X, offset, scale, device, memmap)
        # a fresh seed per epoch: chunks of equal size are not all shuffled
        # the same way, and the same int random_state repeats the whole run
        epochs = 0 if first else len(self.net_.history)
        seed = (self._seed() + epochs) % np.iinfo(np.int32).max
        # the divergence guard and the interrupt check, no stopping rule
        monitor = TrainingMonitor(patience=np.inf)
        run_params = self._run_params(1, monitor, None)
        # later calls keep the first chunk's net parameters (noise statistics)
        net_params = self._net_params(X_train, offset, scale) if first else {}
        net = self._train(
            X_train, X.shape[1], device, seed, run_params, net_params, resume=not first
        )
        monitor.check_finished(1)
        self._keep(net, offset, scale, validated=False)
        # models fitted before n_samples_seen_ existed count from zero
        seen = 0 if first else getattr(self, "n_samples_seen_", 0)
        self.n_samples_seen_ = seen + X.shape[0]
        return self

    def _train(self, X_train, n_features, device, seed, run_params, net_params, resume):
        """Train a net on ``X_train`` under ``seed`` and return it.

        With ``resume``, a copy of ``net_`` continues (Adam's state and the
        history carry over; the copy means a failed call leaves the model as
        it was); otherwise a new net is built for ``n_features`` inputs.
        """
        with seeded(seed, device):
            if resume:
                net = copy.deepcopy(self.net_)
                net.set_params(**net_params, **run_params)
                net.initialize_callbacks()
            else:
                net = self._new_net(n_features, device, **net_params, **run_params)
            net.partial_fit(TensorDataset(X_train))
        return net

    def _training_rows(self, X, offset, scale, device, memmap):
        """The normalised float32 training rows on ``device``: one tensor, or
        for sparse and memory-mapped X rows read one batch at a time."""
        if sp.issparse(X) or memmap:
            # densified / read one batch at a time, never whole
            return LazyRows(X.tocsr() if sp.issparse(X) else X, offset, scale, device)
        return torch.from_numpy(normalise(X, offset, scale, np.float32)).to(device)

    def _seed(self):
        """The torch seed of a training run, drawn from ``random_state``."""
        return int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )

    def _run_params(self, epochs, monitor, train_split):
        """The net's parameters for one training run."""
        validating = train_split is not None
        return dict(
            max_epochs=epochs,
            batch_size=self.batch_size,
            train_split=train_split,
            # skorch's per-epoch validation scoring and printing only when
            # used (the net's defaults are the epoch timer and train loss)
            callbacks=[
                *(
                    [("valid_loss", PassthroughScoring("valid_loss"))]
                    if validating
                    else []
                ),
                *([("print_log", PrintLog())] if self.verbose else []),
                ("monitor", monitor),
            ],
            verbose=int(self.verbose),
        )

    def _keep(self, net, offset, scale, validated):
        """Store a trained net and the fitted attributes read off it."""
        history = net.history
        for epoch in history:
            epoch["batches"] = []  # no per-batch log in a fitted model
        self.net_ = net
        self.offset_ = offset
        self.scale_ = scale
        self.n_components_ = self.n_components
        self.n_iter_ = len(history)
        self.loss_curve_ = [float(v) for v in history[:, "train_loss"]]
        self.validation_scores_ = (
            [-float(v) for v in history[:, "valid_loss"]] if validated else None
        )
        self.best_validation_score_ = (
            max(self.validation_scores_) if validated else None
        )
        self._record_history(history)

    def _new_net(self, n_features, device, **net_params):
        """An initialised, untrained skorch net for ``n_features`` inputs."""
        module_params = self._module_params(np.empty((0, n_features)))
        net = self._net_class()(
            module=self._module_class(),
            **{f"module__{k}": v for k, v in module_params.items()},
            criterion=(
                torch.nn.BCEWithLogitsLoss if self.loss_ == "bce" else torch.nn.MSELoss
            ),
            optimizer=torch.optim.Adam,
            lr=self.learning_rate_init,
            optimizer__weight_decay=self.weight_decay,
            iterator_train=TensorBatches,
            iterator_train__shuffle=True,
            iterator_valid=TensorBatches,
            device=device,
            **net_params,
        )
        return net.initialize()

    # ------------------------------------------------------------ inference

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

    def inverse_transform(self, X):
        """Decode codes back to the input space, in the units of the fitted data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, e.g. the output of :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, `n_features_in_`)
            The decoder's mean reconstruction, in the input's float dtype.
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=[np.float64, np.float32])
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {Z.shape[1]} features, but {type(self).__name__}."
                f"inverse_transform is expecting {self.n_components_} features "
                "(the code width, n_components) as input."
            )
        out = self._run_batches(self._decode_mean, Z)
        return self._denormalise(out)

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
            and str(self.device).startswith("cuda")
            and torch.device(net.device).type == "cpu"
        ):
            warnings.warn(
                f"This model was pickled with device={self.device!r}, which is not "
                "available here; it is loaded on the CPU (its device parameter is "
                "now 'cpu').",
                UserWarning,
                stacklevel=2,
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
        return (Xn * self.scale_ + self.offset_).astype(Xn.dtype, copy=False)

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
            module = copy.deepcopy(module).double()
            dtype = np.float64
        else:
            dtype = np.float32
        offset = torch.as_tensor(self.offset_.astype(dtype), device=device)
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
                    batch = (batch - offset).div_(self.scale_)  # one temporary, not two
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

    def _check_params(self, X):
        """Checks that ``_parameter_constraints`` cannot express."""
        sizes = self.hidden_layer_sizes
        if not all(isinstance(s, Integral) and s >= 1 for s in np.ravel(sizes)) or (
            np.ndim(sizes) != 1
        ):
            raise ValueError(
                "hidden_layer_sizes must be a sequence of positive integers, e.g. "
                f"(128, 64), or () for none; got {sizes!r}."
            )

    def _requested_loss(self):
        """``"mse"`` or ``"bce"`` as the parameters ask, None for ``"auto"``."""
        return None if self.loss == "auto" else self.loss

    def _loss_label(self, loss):
        """How error messages name a resolved loss."""
        return f"loss={loss!r}"

    def _resolve_loss(self, X, warm):
        """The loss this fit trains with (a warm start keeps the fitted one)."""
        requested = self._requested_loss()
        if not warm:
            return requested or _auto_loss(X)
        if requested not in (None, self.loss_):
            raise ValueError(
                f"warm_start=True continues a model fitted with "
                f"{self._loss_label(self.loss_)}; it cannot switch to "
                f"{self._loss_label(requested)}. Set warm_start=False to fit a "
                "new model."
            )
        return self.loss_

    def _module_class(self):
        """The torch module the net trains."""
        return AutoencoderModule

    def _module_params(self, X):
        """Keyword arguments of the module (:meth:`_module_class`); only
        ``X.shape[1]`` is read."""
        return dict(
            n_features=X.shape[1],
            n_components=self.n_components,
            hidden_layer_sizes=tuple(int(s) for s in self.hidden_layer_sizes),
            activation=self.activation,
            dropout=self.dropout,
        )

    def _net_class(self):
        return AutoencoderNet

    def _net_params(self, X_train, offset, scale):
        """Extra keyword arguments of the net (penalties, noise, ...).

        ``X_train`` is the normalised float32 training tensor, on the device;
        ``offset`` and ``scale`` the map that normalised it.
        """
        return {}

    def _warmup_epochs(self):
        """Epochs, counted over the net's whole history, whose loss is not yet
        the final objective (e.g. a KL warm-up): the stopping rule and the
        best-weights restore ignore them."""
        return 0

    def _encode(self, module, x):
        return module.encode(x)

    def _decode_mean(self, module, z):
        out = module.decode(z)
        return torch.sigmoid(out) if self.loss_ == "bce" else out

    def _record_history(self, history):
        """Copy per-epoch terms beyond the training loss into fitted attributes."""
