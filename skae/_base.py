"""The shared base of every skae estimator: the public face (``fit``,
``partial_fit``, ``transform``, ``inverse_transform``, ``score``), the
parameter constraints, the tags and the hooks a variant overrides.

The work happens in rooms of its own: the data (validation, normalisation,
training rows) in ``_data``, a training run (epochs, seeding, callbacks, the
one net builder) in ``_training``, batched evaluation in ``_inference``, the
parameter table and its checks in ``_params``, a mixed-type table's path
(``table_``, a mixin) in ``_tabular``, the supervised option's targets (a
mixin) in ``_target``. A variant is a small class
that writes its ``__init__`` out (``tests/test_signatures.py`` checks it
against the table in ``_params``) and overrides, where it needs them, the
hooks at the bottom of :class:`BaseAutoencoder`. Its objective is a choice
of the pieces in ``_objectives`` (likelihood, code penalty, corruption),
which every estimator accepts.
"""

import threading
import weakref
from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from . import _ddp as ddp
from ._callbacks import history_column
from ._compat import (
    Interval,
    StrOptions,
    _fit_context,
    _get_container_adapter,
)
from ._data import Normalisation, TrainingData, auto_loss, validate_X
from ._device import resolve_device
from ._inference import (
    reads_fitted_state,
    run_batches,
    training_code_batches,
    view,
)
from ._modules import Autoencoder
from ._net import AutoencoderNet
from ._objectives import (
    likelihood,
    make_penalty,
    penalty_fitted_names,
    penalty_from_params,
)
from ._params import (
    ADDED_PARAMS,
    FOREIGN_NAMES,
    check_architecture_unchanged,
    check_n_components,
    check_params,
    foreign_name_hint,
)
from ._tabular import TableInput
from ._target import SupervisedTargets
from ._training import (
    TrainingRun,
    warn_at_caller,
    warn_if_dead_components,
    warn_if_overcomplete,
)

#: Beyond this scale_, a squared error in X's units overflows float64.
LARGEST_SQUARABLE = float(np.sqrt(np.finfo(np.float64).max))
#: Below this scale_, scale_**2 is no normal float64 (subnormal or zero) ...
SMALLEST_SQUARABLE = float(np.sqrt(np.finfo(np.float64).tiny))
#: ... and below this one, a squared error the size of the data's own
#: variance (scale_**2) is a subnormal float64 with fewer significant bits
#: than float32 (the network's precision) has, and zero below ~2e-162.
SMALLEST_SCORABLE = float(
    np.sqrt(np.finfo(np.float64).smallest_subnormal / np.finfo(np.float32).eps)
)

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


class BaseAutoencoder(
    TableInput,
    SupervisedTargets,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Shared machinery of the skae estimators; not public.

    Subclasses write their ``__init__`` out (the parameters of
    ``_params.BASE_PARAMS``, then their own) and may override the hooks at
    the bottom: ``_requested_likelihood``, ``_likelihood_label``,
    ``_make_module``, ``_net_class``, ``_net_params``, ``_warmup_epochs``,
    ``_check_params``, ``_after_training`` and ``_record_history``.
    The fitted ``loss_`` ("mse" or "bce") names the likelihood piece, which
    picks the normalisation, the criterion and the output map.

    :class:`~skae.AutoencoderImputer` drives its estimator through two
    hooks: :meth:`_fit_missing` (fit on the observed entries) and
    :meth:`_reconstruct_missing` (reconstruct rows with missing entries).
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
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "column_likelihoods": [dict, None],
        "penalty": [str, None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "target_weight": [Interval(Real, 0, None, closed="left")],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
        "n_nonzero_coefs": [Interval(Integral, 1, None, closed="left"), None],
        "sparse_output": ["boolean"],
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
        "strategy": [StrOptions({"ddp"}), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def __new__(cls, *args, **kwargs):
        # only to name the right parameter for another library's (skorch's
        # max_epochs, lr): __init__ is written out and takes no **kwargs
        hint = foreign_name_hint(kwargs)
        if hint:
            raise TypeError(
                f"{cls.__name__}.__init__() got an unexpected keyword argument "
                f"{next(k for k in kwargs if k in FOREIGN_NAMES)!r}.{hint}"
            )
        return super().__new__(cls)

    def set_params(self, **params):
        """Set the parameters of this estimator (scikit-learn's
        ``set_params``; another library's name for a parameter, skorch's
        ``max_epochs`` say, is refused naming skae's).

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            Estimator instance.
        """
        valid = self.get_params(deep=False)
        unknown = [name for name in params if name not in valid]
        hint = foreign_name_hint(unknown)
        if hint:
            raise ValueError(
                f"Invalid parameter {next(n for n in unknown if n in FOREIGN_NAMES)!r} "
                f"for estimator {type(self).__name__}.{hint}"
            )
        return super().set_params(**params)

    def _validate_params(self):
        check_n_components(self)  # before sklearn's less helpful message
        super()._validate_params()

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the autoencoder to X.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data; at least 2 samples. Sparse matrices (CSR or CSC)
            and ``np.memmap`` arrays are read one mini-batch at a time. A
            table (a pandas or polars DataFrame with categorical or boolean
            columns, see ``categorical_features``) is encoded inside, one
            likelihood a column; the encoding is ``table_``.
        y : array-like of shape (n_samples,) or (n_samples, n_targets), \
default=None
            The target of the supervised option (``target_weight > 0``): a
            head on the code learns to predict it beside the reconstruction.
            Labels (integers, booleans, strings) train a softmax over
            ``classes_``; floats a regression on the standardised target. An
            unknown target is NaN (None in an object ``y``): its row trains
            the reconstruction only. Ignored when ``target_weight=0`` (the
            default), as by any unsupervised transformer.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._atomic(X, incremental=False, y=y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, classes=None):
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
        y : array-like of shape (n_samples,) or (n_samples, n_targets), \
default=None
            The chunk's targets for the supervised option (``target_weight >
            0``), as for :meth:`fit`; the first call fixes the task, the
            classes and the target's standardisation. Ignored when
            ``target_weight=0``.
        classes : array-like of shape (n_classes,), default=None
            Every class label, for a classification target on the first call
            (as ``SGDClassifier.partial_fit`` takes them); None takes the
            classes of the first chunk's labels, and a later chunk with
            another label is refused. Ignored when ``target_weight=0``.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._atomic(X, incremental=True, y=y, classes=classes)

    def _fit_missing(self, X, warn_cut_short=True):
        """Fit on X whose NaN entries are missing values (the imputer's
        engine): left out of the statistics and of the loss, and fed to the
        network as their feature's mean. ``warn_cut_short=False`` leaves out
        the ConvergenceWarning of a fit that ``max_iter`` cut short (for a
        default whose epochs are chosen for the imputation, not the loss),
        without touching the process's warning filters, which
        ``warnings.catch_warnings`` would, for every thread."""
        return self._atomic(X, False, missing=True, warn_cut_short=warn_cut_short)

    def _atomic(
        self, X, incremental, missing=False, warn_cut_short=True, y=None, classes=None
    ):
        """Train a copy of the estimator's state, then publish it in one step.

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
            work._fit(X, incremental, missing, warn_cut_short, y, classes)
            self.__dict__ = work.__dict__
        return self

    def _fit(
        self, X, incremental, missing=False, warn_cut_short=True, y=None, classes=None
    ):
        """The one training path: ``fit`` (max_iter epochs, the stopping
        rule) and ``partial_fit`` (one epoch) differ only in the run's
        settings. With ``missing`` (the imputer's engine, see
        :meth:`_fit_missing`), NaN entries of X are missing values: left out
        of the statistics and of the loss, and fed to the network as their
        feature's mean. ``warn_cut_short=False`` leaves out the
        ConvergenceWarning of a fit that ``max_iter`` cut short. ``y`` and
        ``classes``: the supervised option's targets (read only when
        ``target_weight > 0``). With ``strategy="ddp"`` every rank runs this
        path on its own rows, agreeing through :mod:`skae._ddp`: the local
        checks first (every rank raises when one fails), then the training
        with its collectives."""
        ranks = ddp.join(self)  # None unless strategy="ddp"
        X_given = X
        fitted = hasattr(self, "net_")
        resume = fitted and (incremental or self.warm_start)
        memmap = isinstance(X, np.memmap)
        # a data-parallel fit: every rank's checks pass, or every rank raises
        checked = ranks.checked(self, lambda: X.shape[1]) if ranks else nullcontext()
        with checked:
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
        with nullcontext() if ranks is None else ranks.collectives():
            if part is not None:  # a new fit's task, from every rank's targets
                targets = self._fit_target(targets, part, classes, ranks)
            self._train(
                X, incremental, missing, warn_cut_short, resume, memmap, ranks, targets
            )
        return self

    def _train(
        self, X, incremental, missing, warn_cut_short, resume, memmap, ranks, targets
    ):
        """``_fit`` once X and the parameters are checked: prepare the data,
        train, publish the fitted attributes (``ranks``: the processes of a
        data-parallel fit, or None)."""
        fitted = hasattr(self, "net_")
        data = self._training_data(
            X, resume, incremental, missing, memmap, targets, ranks
        )
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
        if warn_cut_short:
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

    def _training_data(
        self, X, resume, incremental, missing, memmap, targets=None, ranks=None
    ):
        """The rows a run trains on, with the device, likelihood,
        normalisation and missing entries (the fitted ones when the run
        continues the fitted net, else chosen from the parameters and X;
        with ``ranks``, a data-parallel fit's processes, from every rank's
        rows), and the supervised option's encoded ``targets`` (or None)."""
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
                lik = self._requested_likelihood() or likelihood(auto_loss(X, ranks))
                normalisation = Normalisation.fit(X, lik.loss, missing, ranks)
            missing = missing or None
        return TrainingData(
            X,
            device,
            lik,
            normalisation,
            resume,
            memmap=memmap,
            missing=missing,
            targets=targets,
            ranks=ranks,
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

    # ------------------------------------------------------------ inference

    @reads_fitted_state
    def transform(self, X):
        """Encode X.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Data in the units the model was fitted on; for a model fitted on
            a table, a table with the same columns (levels unseen in fit,
            missing values and changed dtypes are refused, naming the
            column).

        Returns
        -------
        X_new : ndarray or scipy.sparse.csr_matrix of shape (n_samples, n_components)
            The codes, in X's float dtype (float32 stays float32); a CSR
            matrix of the non-zero entries with ``sparse_output=True``.
        """
        return self._transform(X, sparse=self.sparse_output)

    def _transform(self, X, sparse=False):
        """``transform`` without the ``set_output`` wrapping: an array, or
        with ``sparse`` a CSR matrix."""
        check_is_fitted(self)
        X = self._inference_input(X, ensure_all_finite=False)
        return run_batches(self, self._encode, X, normalise=True, sparse=sparse)

    @reads_fitted_state
    def inverse_transform(self, X):
        """Decode codes back to the input space, in the units of the fitted data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_components)
            Codes, e.g. the output of :meth:`transform` (a CSR matrix with
            ``sparse_output=True``).

        Returns
        -------
        X_original : ndarray or DataFrame of shape (n_samples, `n_features_in_`)
            The decoder's mean reconstruction, in the input's float dtype. A
            DataFrame (pandas or polars) when ``set_output`` (or scikit-learn's
            global ``transform_output``) asks for one, with the fitted
            feature names as columns (``x0``, ``x1``, ... without them) and
            the index of ``X`` when it has one. For a model fitted on a
            table, a DataFrame of its columns with their dtypes (categories
            as labels, the most likely level; polars for a polars table).
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=[np.float64, np.float32], accept_sparse="csr")
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {Z.shape[1]} features, but {type(self).__name__}."
                f"inverse_transform is expecting {self.n_components_} features "
                "(the code width, n_components) as input."
            )
        out = Normalisation(self.offset_, self.scale_).invert(
            run_batches(self, self._decode_mean, Z)
        )
        # like transform, follow set_output: columns are the input features
        adapter = _get_container_adapter("transform", self)
        if getattr(self, "table_", None) is not None:
            return self._table_output(out, X, adapter)
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
        higher is better, so low values flag unusual samples. For a model
        fitted on a table: minus the mean over columns of each column's
        negative log-likelihood above its floor, divided by its value at
        the column's marginal (about -1 for a row reconstructed no better
        than the column means and frequencies, 0 for an exact one): the
        training loss, but with the numeric columns read at their marginal
        variance, so that a row's score depends on that row only.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data in the units the model was fitted on.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Float64 scores.

        Raises
        ------
        ValueError
            When squared errors in X's units overflow or underflow float64
            (``scale_`` above ~1e154 or below ~6e-159): rescale X.
        """
        check_is_fitted(self)
        if getattr(self, "table_", None) is not None:
            return self._table_scores(X)
        X = validate_X(self, X, reset=False, ensure_all_finite=False)

        if self.scale_ > LARGEST_SQUARABLE:
            raise ValueError(
                f"score_samples measures squared errors in X's units, and X's "
                f"spread (scale_={self.scale_:g}) makes them overflow float64. "
                "Rescale X (for example divide it by its largest absolute "
                "value) before fitting, or compare transforms instead."
            )

        if self.scale_ < SMALLEST_SCORABLE:
            raise ValueError(
                f"score_samples measures squared errors in X's units, and X's "
                f"spread (scale_={self.scale_:g}) makes them underflow float64 "
                "(their squares are below its smallest numbers, so every "
                "score would be about 0 and no sample would stand out). "
                "Rescale X (for example divide it by its largest absolute "
                "value) before fitting, or compare transforms instead."
            )
        scale = self.scale_
        tiny_scale = scale < SMALLEST_SQUARABLE

        def squared_error(module, x):
            # the input as given (a float64 copy), before a module that
            # writes to its input (nn.ReLU(inplace=True)) can change it
            target = x.to(torch.float64, copy=True)
            recon = self._decode_mean(module, self._encode(module, x))
            # in X's units: x - x̂ = scale_ · (x_n - x̂_n)
            mse = (target - recon.double()).pow(2).mean(dim=1)
            if tiny_scale:
                # scale_**2 is subnormal: one factor at a time, so that the
                # score is rounded once, not scale_**2 first
                return mse * scale * scale
            return mse * scale**2

        return -run_batches(self, squared_error, X, normalise=True, dtype=np.float64)

    @reads_fitted_state
    def _score_samples_per_feature(self, X):
        """``score_samples(X)`` split by feature, (n_samples, n_features)
        float64: minus each entry's squared reconstruction error in X's
        units over ``n_features`` (for a table, each column's weighted term
        over the number of columns), so a row sums to its score; None for a
        subclass whose ``score_samples`` is another score (the VAE's ELBO).
        The outlier detector's breakdown."""
        if type(self).score_samples is not BaseAutoencoder.score_samples:
            return None
        check_is_fitted(self)
        if getattr(self, "table_", None) is not None:
            # a table's score is minus its weighted column terms' mean
            return self._table_scores(X, per_column=True)
        X = validate_X(self, X, reset=False, ensure_all_finite=False)
        factor = self.scale_ / X.shape[1]  # times scale_ after: no overflow first

        def squared_errors(module, x):
            target = x.to(torch.float64, copy=True)  # before an in-place module
            recon = self._decode_mean(module, self._encode(module, x))
            return (target - recon.double()).pow(2)

        errors = run_batches(self, squared_errors, X, normalise=True, dtype=np.float64)
        return -(errors * factor) * self.scale_

    @reads_fitted_state
    def _reconstruct_missing(self, X):
        """The reconstruction of X in X's units, NaN entries of X treated as
        missing (fed as their feature's mean); the imputer's engine. For a
        table, a pandas DataFrame of its columns and fitted dtypes (a
        categorical column's most likely level), its missing entries (NaN,
        None, pd.NA) fed as the encoded column's mean over the observed
        training rows (a one-hot block: the levels' frequencies)."""
        check_is_fitted(self)
        X_given = X
        X = self._inference_input(
            X, missing=True, ensure_all_finite="allow-nan", accept_sparse=False
        )
        missing = self.net_.missing

        def reconstruct(module, x):
            if missing is not None:
                x = missing.fill_in(x)
            return self._decode_mean(module, self._encode(module, x))

        out = run_batches(self, reconstruct, X, normalise=True)
        table = getattr(self, "table_", None)
        if table is not None:
            return table.decode(out, index=getattr(X_given, "index", None))
        return Normalisation(self.offset_, self.scale_).invert(out)

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

    @property
    def components_(self):
        """The decoder's unit-norm atoms, ``(n_components, n_features)``.

        As ``DictionaryLearning.components_``: fitted with
        ``penalty="topk"`` or ``"batchtopk"`` only (a linear decoder), in X's
        units up to one global scale (``scale_``), which leaves directions
        unchanged."""
        decoder = getattr(getattr(self, "net_", None), "module_", None)
        atoms = getattr(getattr(decoder, "decoder", None), "atoms", None)
        if atoms is None:
            raise AttributeError(
                f"{type(self).__name__} has components_ (the atoms of a linear "
                "dictionary) only once fitted with penalty='topk' or 'batchtopk'."
            )
        with torch.no_grad():
            return atoms().T.detach().cpu().numpy().astype(np.float64)

    def __setstate__(self, state):
        # a pickle from before a parameter existed: its older behaviour
        state = {**ADDED_PARAMS, **state}
        fitted = state.get("_fitted_params")
        if fitted is not None:
            state["_fitted_params"] = {**ADDED_PARAMS, **fitted}
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

    # --------------------------------------------------------------- hooks

    def _check_params(self, X, incremental):
        """Checks that ``_parameter_constraints`` cannot express (a variant
        adds its own after these); with X=None, those that need no data."""
        check_params(self, X, incremental)

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
        """The torch module around the encoder and decoder bodies (the
        penalty's, which may build its own network)."""
        penalty = penalty_from_params(params)
        if penalty is not None:
            return penalty.build_module(encoder, decoder, n_features, params, lik)
        return Autoencoder(
            encoder,
            decoder,
            n_features,
            params["n_components"],
            code_activation=params["code_activation"],
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
        return self._fitted_likelihood().mean(module.decode(z))

    def _after_training(self, X_train):
        """Fitted diagnostics computed on the rows just trained on
        (``X_train``: the normalised rows, see
        :func:`~skae._data.training_rows`), one batch of codes at a time
        (a wide code on a large chunk would not fit in memory whole);
        called after ``fit`` and after every ``partial_fit``."""
        nonzero = torch.zeros(self.n_components_, dtype=torch.bool)
        for codes in training_code_batches(self, X_train):
            nonzero |= (codes != 0).any(dim=0).cpu()
        self.n_dead_components_ = int((~nonzero).sum())

    def _record_history(self, history):
        """Fitted attributes (a dict) read off the history beyond the
        training loss."""
        return {}
