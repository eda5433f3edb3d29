"""AutoencoderImputer: missing values filled in by an autoencoder."""

import copy
import math
import numbers
from contextlib import nullcontext

import numpy as np
import scipy.sparse as sp
from sklearn import config_context
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.impute import MissingIndicator
from sklearn.utils.validation import check_is_fitted

from . import _ddp as ddp
from ._base import BaseAutoencoder
from ._compat import (
    Interval,
    StrOptions,
    _check_feature_names_in,
    _fit_context,
    _get_container_adapter,
    _get_mask,
)
from ._data import (
    check_sample_weight,
    positive_rows,
    refuse_weights_in_parallel,
    validate_X,
)
from ._denoising import DenoisingAutoencoder
from ._params import ADDED_PARAMS
from ._table import as_frame, fill_missing, wants_table
from ._training import warn_at_caller
from ._vae import VAETransformer


def _is_nan(value):
    """Whether ``missing_values`` is NaN (float NaN or np.nan)."""
    return isinstance(value, numbers.Real) and math.isnan(value)


def _none_entries(X):
    """The mask of X's ``None`` entries, found before the conversion to
    floats turns them into NaN; None when X holds none (no object array)
    or is no array that validation would take."""
    try:
        raw = np.asarray(X)
    except (TypeError, ValueError):
        return None  # validation names the problem
    if raw.dtype != object or raw.ndim != 2:
        return None
    return np.frompyfunc(lambda v: v is None, 1, 1)(raw).astype(bool)


#: the default model's training budget in rows visited (epochs x rows):
#: from 25 000 rows on, its fit time no longer grows with the rows
ROW_BUDGET = 1_000_000


def default_estimator(n_samples=None):
    """The model of ``AutoencoderImputer(estimator=None)``, unfitted, for a
    fit on ``n_samples`` rows (None: a small fit).

    It trains for 40 epochs, or fewer from 25 000 rows on, so that a fit
    visits at most ``ROW_BUDGET`` rows (20 epochs at 50 000 rows), in
    batches of 128 rows.
    """
    n = 0 if n_samples is None else int(n_samples)
    return DenoisingAutoencoder(
        n_components=64,
        hidden_layer_sizes=(128, 128),
        activation="tanh",
        loss="mse",
        noise="masking",
        noise_level=0.25,
        dropout=0.0,
        batch_size=128,
        learning_rate_init=5e-3,
        max_iter=min(40, math.ceil(ROW_BUDGET / max(n, 1))),
        random_state=0,
    )


class AutoencoderImputer(TransformerMixin, BaseEstimator):
    """Impute missing values with an autoencoder trained on the observed ones.

    Like :class:`~sklearn.impute.KNNImputer` and
    :class:`~sklearn.impute.IterativeImputer`: ``transform`` returns X with
    only its missing entries replaced; every observed entry is returned
    unchanged, bit for bit.

    The autoencoder (``estimator``, cloned as ``estimator_``) is trained on X
    with its missing entries left out of everything that learns from data:
    the normalisation statistics use the observed entries, a missing entry
    enters the network as its feature's mean over the observed training
    entries, and the reconstruction loss is taken over the observed entries
    only (a masked loss: the network is never taught to reproduce the
    filler). The default estimator also hides a further 25% of the entries
    in every training batch the same way (masking noise), so it learns to
    fill in entries from the others: the denoising-autoencoder imputation of
    Gondara and Wang (2018). ``transform`` feeds each row, missing entries
    at their fill value, through the network, and takes the reconstruction
    of the missing entries; with ``n_passes > 1`` it then feeds the row again
    with those estimates in place, and so on.

    A mixed table (a pandas or polars DataFrame with categorical, string or
    boolean columns; see ``categorical_features``) goes in as it is, with
    NaN, None or ``pd.NA`` where a value is missing: the estimator encodes
    it as the autoencoders do (its statistics and levels from the observed
    entries), a missing categorical entry enters the network as its levels'
    frequencies and leaves its column's term out of the loss, and
    ``transform`` fills each categorical or boolean hole with the most
    likely level given the row (the largest output of the column's softmax),
    each numeric one with the decoder's mean. It returns the same columns
    with the same dtypes (a polars frame for polars input).

    Parameters
    ----------
    estimator : skae estimator or None, default=None
        The autoencoder: any skae estimator but :class:`VAETransformer`.
        None means ``DenoisingAutoencoder(n_components=64,
        hidden_layer_sizes=(128, 128), activation="tanh", loss="mse",
        noise="masking", noise_level=0.25, dropout=0.0, batch_size=128,
        learning_rate_init=5e-3, max_iter=min(40, ceil(1_000_000 / n)),
        random_state=0)`` for ``fit`` on ``n`` rows: two hidden layers of
        128 tanh units on each side of a 64-unit code, trained with the
        one-cycle schedule (peak 5e-3) on the squared error (the error
        imputation is judged by; a table's per-column loss on the table
        path) with a further quarter of the entries masked in every batch.
        It trains for 40 epochs up to 25 000 rows and for a million rows
        visited beyond (20 epochs at 50 000 rows), so its fit time stops
        growing with the rows there. The network was chosen on digits with
        30% and 50% missing and checked on MNIST; the epoch budget on
        IterativeImputer's fit time at 50 000 rows (see the
        benchmarks page). An
        estimator with ``strategy="ddp"`` trains data-parallel, every
        process of a torch.distributed group calling ``fit`` with its own
        rows: the statistics of the observed entries, the features missing
        everywhere (dropped) and the indicator's features are agreed over
        the rows of every process.
    missing_values : int, float, str, np.nan or None, default=np.nan
        The placeholder of the missing values; all its occurrences are
        imputed. When it is not NaN, X must hold no NaN (a ValueError says
        so, as scikit-learn's imputers do). None marks the ``None`` entries
        of an object array or DataFrame column as missing.
    categorical_features : "from_dtype", array-like of int, str or bool, \
or None, default="from_dtype"
        Which columns of a table are categorical, passed to the estimator
        (it replaces the estimator's own; see the autoencoders' parameter):
        ``"from_dtype"`` takes a DataFrame's ``category``, ``object`` and
        string columns (booleans are read as two-level columns). A numeric
        array, or a DataFrame with numeric columns only, takes the numeric
        path. On a table, ``missing_values`` must be NaN or None (both,
        and ``pd.NA``, mark holes); a column with no observed value is an
        error naming it (``keep_empty_features`` does not apply), and so is
        a level at ``transform`` that ``fit`` did not see.
    n_passes : int, default=2
        Passes through the network at ``transform`` (a positive int, not a
        bool); each feeds the previous pass's estimates of the missing
        entries back in.
    add_indicator : bool, default=False
        Append a :class:`~sklearn.impute.MissingIndicator`'s columns (for the
        features with missing values at ``fit``) to the output.
    keep_empty_features : bool, default=False
        Keep the features that are missing in every row at ``fit``: their
        missing entries are imputed as 0 and their observed entries (in the
        rows given to ``transform``) are returned unchanged, as
        :class:`~sklearn.impute.SimpleImputer` does. By default they are
        dropped from the output, with a warning at ``transform``, as
        scikit-learn's imputers do.

    Attributes
    ----------
    estimator_ : BaseAutoencoder
        The fitted autoencoder (on the features with observed values).
    indicator_ : MissingIndicator or None
        The fitted indicator when ``add_indicator=True``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    sklearn.impute.KNNImputer : Imputation from the nearest neighbours.
    sklearn.impute.IterativeImputer : Imputation by chained regressions.

    References
    ----------
    Gondara and Wang (2018), "MIDA: Multiple Imputation Using Denoising
    Autoencoders".

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderImputer
    >>> X = load_digits().data
    >>> X_missing = X.copy()
    >>> X_missing[np.random.RandomState(0).rand(*X.shape) < 0.3] = np.nan
    >>> imputer = AutoencoderImputer().fit(X_missing)
    >>> np.isnan(imputer.transform(X_missing)).any()
    np.False_
    """

    _parameter_constraints: dict = {
        "estimator": [BaseAutoencoder, None],
        "missing_values": [numbers.Real, numbers.Integral, str, None],
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "n_passes": [Interval(numbers.Integral, 1, None, closed="left")],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        missing_values=np.nan,
        categorical_features="from_dtype",
        n_passes=2,
        add_indicator=False,
        keep_empty_features=False,
    ):
        self.estimator = estimator
        self.missing_values = missing_values
        self.categorical_features = categorical_features
        self.n_passes = n_passes
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features

    def _validate(self, X, reset):
        """X as a float array with NaN at its missing entries, and their mask."""
        none = None
        if self.missing_values is None and not sp.issparse(X):
            none = _none_entries(X)
        X = validate_X(
            self,
            X,
            reset=reset,
            ensure_all_finite="allow-nan",
            accept_sparse=False,
            copy=True,
        )
        if _is_nan(self.missing_values):
            mask = np.isnan(X)
        else:
            nan = np.isnan(X)
            if none is not None:
                nan &= ~none
            if nan.any():
                raise ValueError(
                    f"Input X contains NaN, but missing_values="
                    f"{self.missing_values!r}: only the entries equal to "
                    "missing_values are imputed. Set missing_values=np.nan to "
                    "impute the NaN entries, or replace them with "
                    f"{self.missing_values!r} first."
                )
            mask = none if none is not None else _get_mask(X, self.missing_values)
            X[mask] = np.nan
        if np.isinf(X).any():
            raise ValueError(
                "Input X contains infinity; only missing values (given by "
                f"missing_values={self.missing_values!r}) can be imputed."
            )
        return X, mask

    def _check_n_passes(self):
        if isinstance(self.n_passes, bool):
            # a bool is an Integral to Python and to the parameter checks
            raise ValueError(
                "n_passes is the number of passes through the network, a "
                f"positive int; got {self.n_passes!r} (a bool). Use e.g. "
                "n_passes=2."
            )

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the autoencoder on the observed entries of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing values (``missing_values``).
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows, passed to the estimator's fit (see
            :meth:`AutoencoderTransformer.fit`): its loss and its
            statistics (the normalisation, the missing entries' fill)
            count each row by its weight; a table's encoding does not.
            Rows of weight 0 are left out first (removed rows: they count
            neither for the empty features nor for the indicator). Not
            with a data-parallel estimator (``strategy="ddp"``).

        Returns
        -------
        self : object
            The fitted imputer.
        """
        self._check_n_passes()
        if isinstance(self.estimator, VAETransformer):
            raise ValueError(
                "AutoencoderImputer's estimator cannot be a VAETransformer (its "
                "ELBO has no masked form here); use AutoencoderTransformer, "
                "DenoisingAutoencoder, SparseAutoencoder or ContractiveAutoencoder."
            )
        # fitted on a copy, published only when it succeeds: a failed call
        # leaves a fitted imputer as it was
        work = copy.copy(self)
        work._fit(X, sample_weight)
        self.__dict__ = work.__dict__
        return self

    def _fit(self, X, sample_weight=None):
        estimator = default_estimator() if self.estimator is None else self.estimator
        self.estimator_ = clone(estimator)
        self.estimator_.set_params(categorical_features=self.categorical_features)
        self.estimator_._validate_params()  # as its own fit would
        refuse_weights_in_parallel(
            sample_weight, self.estimator_, "AutoencoderImputer.fit's estimator"
        )
        # checked here too, for an error that names the imputer; rows of
        # weight 0 left out first (of the empty features and the indicator's)
        weights = check_sample_weight(sample_weight, X, 2, "AutoencoderImputer.fit")
        if not sp.issparse(X):  # sparse X is refused below
            X, sample_weight = positive_rows(X, weights)
        if self._is_table(X):
            self._fit_table(X, sample_weight)
            return
        # strategy="ddp": the group of a data-parallel fit (a RuntimeError
        # naming the launch command when there is none, before any work)
        ranks = ddp.join(self.estimator_)
        checked = ranks.checked(self, lambda: X.shape[1]) if ranks else nullcontext()
        with checked:  # with ranks: when one rank's X is refused, every rank raises
            X, mask = self._validate(X, reset=True)
        missing_somewhere = mask.any(axis=0)
        empty = mask.all(axis=0)
        if ranks is not None:  # over the rows of every rank
            missing_somewhere = ranks.max(missing_somewhere) > 0
            empty = ranks.min(empty) > 0
        self._empty = empty
        self._train(X[:, ~empty], sample_weight)
        self._fit_indicator(missing_somewhere)

    def _is_table(self, X):
        """Whether X goes through the engine's table path (a DataFrame with
        categorical, string or boolean columns; see ``categorical_features``)."""
        return wants_table(
            X, self.categorical_features, self.estimator_.column_likelihoods
        )

    def _table_holes(self, X):
        """A table X as a pandas frame and its mask of missing entries (NaN,
        None, pd.NA, whatever ``missing_values`` is NaN or None)."""
        if not (self.missing_values is None or _is_nan(self.missing_values)):
            raise ValueError(
                f"missing_values={self.missing_values!r}: on a table with "
                "categorical columns, the missing entries are NaN, None or "
                "pd.NA. Replace the placeholder first (X.replace("
                f"{self.missing_values!r}, np.nan)) and use missing_values=np.nan."
            )
        frame, _ = as_frame(X)
        return frame, np.asarray(frame.isna(), dtype=bool)

    def _fit_table(self, X, sample_weight=None):
        """``fit`` on a table: the engine encodes it (statistics and levels
        of the observed entries), a column without any observed value is
        refused naming it."""
        _, mask = self._table_holes(X)
        self._empty = np.zeros(mask.shape[1], dtype=bool)
        self._train(X, sample_weight)
        self.n_features_in_ = self.estimator_.n_features_in_
        self.__dict__.pop("feature_names_in_", None)
        names = getattr(self.estimator_, "feature_names_in_", None)
        if names is not None:
            self.feature_names_in_ = names
        self._fit_indicator(mask.any(axis=0))

    def _train(self, X, sample_weight=None):
        """Train ``estimator_`` on X (an array with NaN holes, or a table's
        DataFrame with its holes). The default model takes the epochs of
        :func:`default_estimator` for X's rows; it is never data-parallel
        (``strategy=None``: a data-parallel imputer is given its
        ``estimator``, used as it is). ``sample_weight`` goes to its fit
        (:meth:`~skae._base.BaseAutoencoder._fit_missing`). Its epochs are
        chosen for the imputation error and time: had its training loss on
        the observed entries still been falling, that is no reason to train
        longer, so it is spared the ConvergenceWarning."""
        if self.estimator is None:
            self.estimator_.set_params(max_iter=default_estimator(X.shape[0]).max_iter)
        self._warn_without_masking()
        self.estimator_._fit_missing(
            X, warn_cut_short=self.estimator is not None, sample_weight=sample_weight
        )

    def _warn_without_masking(self):
        if self.estimator_.noise != "masking":
            warn_at_caller(
                f"AutoencoderImputer's estimator has noise={self.estimator_.noise!r}: "
                "without masking noise it is never trained to fill in an entry "
                "from the others, and imputes worse. Set noise='masking' on it "
                "(e.g. noise_level=0.25, the default estimator's).",
                UserWarning,
            )

    def _fit_indicator(self, missing_somewhere):
        self.indicator_ = None
        if self.add_indicator:
            # fitted on one row missing where X (of any rank) has missing
            # entries: the features the indicator keeps
            pattern = np.where(missing_somewhere, np.nan, 0.0)[None, :]
            self.indicator_ = MissingIndicator(
                missing_values=np.nan, error_on_new=False
            ).fit(pattern)

    def transform(self, X):
        """Impute the missing entries of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing values.

        Returns
        -------
        X_imputed : ndarray or DataFrame of shape (n_samples, n_features_out)
            X with its missing entries replaced (observed entries unchanged;
            features missing everywhere at ``fit`` dropped unless
            ``keep_empty_features``), then the indicator's columns when
            ``add_indicator=True``. For a table, a DataFrame (pandas, or
            polars for polars input) of its columns and dtypes, the holes
            of a categorical column filled with its most likely level.
        """
        check_is_fitted(self)
        self._check_n_passes()
        if getattr(self.estimator_, "table_", None) is not None:
            return self._transform_table(X)
        X, mask = self._validate(X, reset=False)
        empty = self._empty
        if empty.any() and not self.keep_empty_features:
            # as scikit-learn's imputers say it, at transform
            names = getattr(self, "feature_names_in_", None)
            skipped = np.flatnonzero(empty) if names is None else names[empty]
            # at the caller's line, also through set_output's wrapper
            warn_at_caller(
                f"Skipping features without any observed values: {skipped}. At "
                "least one non-missing value is needed for imputation with "
                "AutoencoderImputer.",
                UserWarning,
            )
        kept = X[:, ~empty]
        missing = mask[:, ~empty]
        filled = kept.copy()
        for _ in range(self.n_passes):
            recon = self.estimator_._reconstruct_missing(filled)
            filled = np.where(missing, recon, kept)
            if not missing.any():
                break
        if self.keep_empty_features:
            # as SimpleImputer: observed entries kept, missing ones 0
            out = np.where(mask, 0.0, X).astype(X.dtype, copy=False)
            out[:, ~empty] = filled
        else:
            out = filled
        if self.indicator_ is not None:
            # an array whatever set_output / transform_output ask of the
            # indicator; this transform's own output is wrapped once, after
            with config_context(transform_output="default"):
                indicator = self.indicator_.transform(X)
            out = np.hstack([out, np.asarray(indicator, dtype=out.dtype)])
        return out

    def _transform_table(self, X):
        """``transform`` of a table: each pass reconstructs the rows, the
        holes of a categorical column taking the most likely level, and the
        holes are filled from it (observed entries and dtypes kept). A
        pandas DataFrame for a pandas one, polars for polars, an array for
        an array (unless ``set_output`` asks for a DataFrame)."""
        frame, mask = self._table_holes(X)
        container = self.estimator_.table_.container
        rows = X
        for _ in range(self.n_passes):
            recon = self.estimator_._reconstruct_missing(rows)
            filled = fill_missing(frame, mask, recon)
            if not mask.any():
                break
            # the next pass reads the estimates, in the kind X came as
            rows = filled.to_numpy() if container == "array" else filled
        if self.indicator_ is not None:
            indicator = self.indicator_.transform(np.where(mask, np.nan, 0.0))
            names = self.indicator_.get_feature_names_out(
                _check_feature_names_in(self, None)
            )
            for name, values in zip(names, np.asarray(indicator).T, strict=True):
                filled[name] = values
        adapter = _get_container_adapter("transform", self)
        wanted = None if adapter is None else adapter.container_lib
        if wanted == "polars" or (wanted is None and container == "polars"):
            import polars as pl

            return pl.from_pandas(filled)
        if wanted is None and container == "array":
            return filled.to_numpy()
        return filled

    def get_feature_names_out(self, input_features=None):
        """Get output feature names.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; by default ``feature_names_in_`` or
            ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The kept input features, then the indicator's features.
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        out = names if self.keep_empty_features else names[~self._empty]
        if self.indicator_ is not None:
            out = np.concatenate([out, self.indicator_.get_feature_names_out(names)])
        return np.asarray(out, dtype=object)

    def __setstate__(self, state):
        # a pickle from before categorical_features: its older behaviour
        name = "categorical_features"
        super().__setstate__({name: ADDED_PARAMS[name], **state})

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
