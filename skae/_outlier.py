"""AutoencoderOutlierDetector: an autoencoder's scores as an outlier detector."""

import copy
from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.utils import assert_all_finite, check_random_state, get_tags
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from . import _ddp as ddp
from ._autoencoder import AutoencoderTransformer
from ._compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    _get_container_adapter,
    _safe_indexing,
    validate_data,
)
from ._data import (
    check_sample_weight,
    held_out,
    positive_rows,
    refuse_weights_in_parallel,
    validate_X,
)
from ._table import wants_table


def _is_dataframe(X):
    """Whether X is a DataFrame (pandas, polars, ...): it has columns."""
    return hasattr(X, "columns") and hasattr(X, "shape")


def _rows_at_extremes(X):
    """Two boolean masks over X's rows: those holding X's smallest value,
    and those holding its largest (NaN ignored)."""
    if sp.issparse(X):
        X = X.tocsr()
        row_min = X.min(axis=1).toarray().ravel()
        row_max = X.max(axis=1).toarray().ravel()
    else:
        row_min = np.fmin.reduce(X, axis=1)  # NaN ignored, no warning
        row_max = np.fmax.reduce(X, axis=1)
    with np.errstate(invalid="ignore"):
        return row_min == np.nanmin(row_min), row_max == np.nanmax(row_max)


def _read_as_table(model, X):
    """Whether ``model``, an skae estimator, reads X as a table (a DataFrame
    with categorical, string or boolean columns at the default
    ``categorical_features="from_dtype"``: :mod:`skae._table`), which the
    detector then passes on unconverted."""
    params = model.get_params(deep=False)
    if "categorical_features" not in params:
        return False
    return wants_table(X, params["categorical_features"], params["column_likelihoods"])


class _ScoringModel(HasMethods):
    """``HasMethods(["fit", "score_samples"])`` whose message says what to do."""

    def __init__(self):
        super().__init__(["fit", "score_samples"])

    def __str__(self):
        return (
            "an unsupervised model with 'fit' and 'score_samples' methods (higher "
            "scores meaning more normal), such as an skae autoencoder, PCA, "
            "GaussianMixture or KernelDensity; a model without score_samples "
            "needs a subclass or wrapper that defines it"
        )


#: ``contamination="auto"``: the threshold lies this many robust standard
#: deviations (1.4826 MAD) below the median score.
AUTO_MADS = 3.0


def threshold(scores, contamination, weights=None):
    """``offset_`` for the scores: their ``100 * contamination`` percentile,
    or for ``"auto"`` the median less :data:`AUTO_MADS` robust standard
    deviations. With ``weights`` (the rows' sample weights) the weighted
    ones (:func:`weighted_percentile`): rows of weight 0 are left out, and
    equal weights give the unweighted threshold."""
    scores = np.asarray(scores, dtype=np.float64)
    if weights is not None:
        scores, weights = scores[weights > 0], weights[weights > 0]
        # divided by the largest: no cumulative sum overflows
        weights = None if np.all(weights == weights[0]) else weights / weights.max()
    if weights is not None:
        if isinstance(contamination, str):  # "auto"
            median = weighted_percentile(scores, weights, 50)
            mad = weighted_percentile(np.abs(scores - median), weights, 50)
            return float(median - AUTO_MADS * 1.4826 * mad)
        return weighted_percentile(scores, weights, 100.0 * contamination)
    if isinstance(contamination, str):  # "auto"
        median = np.median(scores)
        mad = np.median(np.abs(scores - median))
        return float(median - AUTO_MADS * 1.4826 * mad)
    return float(np.percentile(scores, 100.0 * contamination))


def weighted_percentile(values, weights, q):
    """The ``q`` percentile of ``values`` whose rows weigh ``weights``
    (positive): the averaged inverted CDF, as scikit-learn's weighted
    percentile (``average=True``) and numpy's ``"averaged_inverted_cdf"``
    (for integer weights, that of the values repeated): the first value
    whose cumulative weight reaches ``q`` percent of the total, or its mean
    with the next one where it reaches it exactly."""
    order = np.argsort(values, kind="stable")
    values = values[order]
    cumulative = np.cumsum(weights[order])
    target = q / 100.0 * cumulative[-1]
    i = min(int(np.searchsorted(cumulative, target)), len(values) - 1)
    exact = abs(cumulative[i] - target) <= 1e-12 * cumulative[-1]
    if exact and i + 1 < len(values):
        return float((values[i] + values[i + 1]) / 2)
    return float(values[i])


def model_seed(random_state):
    """The default model's ``random_state`` from the detector's: an int or
    None as given (the same model as ``AutoencoderTransformer(random_state=
    random_state)``), an int drawn from a ``RandomState`` instance."""
    if random_state is None or isinstance(random_state, Integral):
        return random_state
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class AutoencoderOutlierDetector(OutlierMixin, BaseEstimator):
    """Outlier detection with an autoencoder's (or any model's) sample scores.

    Fits an unsupervised model to X and flags the rows it scores lowest. Any
    model with ``score_samples`` (higher = more normal) will do: an
    :class:`AutoencoderTransformer` (minus the squared reconstruction error),
    a :class:`VAETransformer` (the ELBO), or scikit-learn's
    :class:`~sklearn.decomposition.PCA` (the probabilistic PCA
    log-likelihood). The threshold ``offset_`` is the ``100 * contamination``
    percentile of the training rows' scores, so about a fraction
    ``contamination`` of the training rows are predicted to be outliers, as
    with :class:`~sklearn.ensemble.IsolationForest`.

    Parameters
    ----------
    estimator : estimator instance, default=None
        The unsupervised model, with ``fit`` and ``score_samples``; it is
        cloned and fitted as ``estimator_``, on X as given (a DataFrame
        stays one, so a pipeline may select columns by name). None means
        ``AutoencoderTransformer(random_state=random_state)``. On tables
        (standardised numeric and one-hot columns; the eight tables of
        ``benchmarks/bench_tables_detection.py``, results on the benchmarks
        page, "Outlier detection on tables") it ranks outliers about as well
        as ``IsolationForest`` and PCA when the training rows are clean, and
        worse when 5% of them are outliers. For tables,
        ``AutoencoderTransformer(n_components=1, hidden_layer_sizes=(64,))``
        is a measured option: as good on the benchmark's held-out tables,
        in about a third of the fit time, but worse on images. Scoring
        the code's Mahalanobis distance beside the reconstruction error
        (PCA's T² beside its SPE), a standardised residual, and a training
        loss that leaves out each batch's worst rows were measured there
        too: each won on some tables and lost on others, and none was
        adopted. Its
        parameters are tuned as ``estimator__<name>`` (e.g. in
        ``GridSearchCV``) once it is passed explicitly.

    contamination : "auto" or float, default=0.1
        The expected proportion of outliers in the training data, in
        (0, 0.5]. It sets the threshold ``offset_``; the scores do not depend
        on it. ``"auto"`` (as :class:`~sklearn.ensemble.IsolationForest`
        takes it) assumes no proportion: ``offset_`` is set
        :data:`AUTO_MADS` (3) robust standard deviations below the median
        score, ``median - 3 * 1.4826 * MAD``, the usual robust outlier rule
        (IsolationForest's fixed -0.5 has no counterpart on scores whose
        scale depends on the data and the model). It flags only rows that
        stand out from the bulk, so on clean data it flags few (about 0.1%
        of Gaussian scores; more where the error's tail is long).

    validation_fraction : float or None, default=None
        None: the model is fitted on all of X and ``offset_`` is set from the
        training rows' scores (scikit-learn's convention: ``predict`` flags
        about ``contamination`` of the training rows). A float in (0, 1):
        that fraction of the rows (shuffled by ``random_state``) is held out
        of the model's fit, and ``offset_`` is set from their scores, so that
        ``predict`` flags about ``contamination`` of *new* rows from the same
        distribution even when the model fits its training rows much better
        than new ones (a wide autoencoder code does). A row holding X's
        smallest value and one holding its largest are always among the
        fitted rows, so the model spans X's range (a Bernoulli VAE scores
        only rows within it); a mixed table's rows are drawn at random.

    random_state : int, RandomState instance or None, default=None
        Seeds the default model (``estimator=None``): it is passed down as
        that model's ``random_state`` (an int as given; from a
        ``RandomState`` instance, an int drawn from it in ``fit``), so an
        int makes the default detector's scores reproducible. A model
        given as ``estimator`` keeps its own ``random_state``, which is not
        overridden: seed it there. Also shuffles the rows held out by
        ``validation_fraction``.

    Attributes
    ----------
    estimator_ : estimator instance
        The fitted clone of ``estimator``.

    offset_ : float
        The threshold on the scores: the ``100 * contamination`` percentile
        of ``score_samples`` over the training rows (over the held-out rows
        with ``validation_fraction``); with ``contamination="auto"``, their
        median less 3 robust standard deviations. ``decision_function`` is
        ``score_samples - offset_``; rows below it are outliers. (Not the
        ``offset_`` of an skae autoencoder, the normalisation offset, which
        is ``estimator_.offset_``.)

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.ensemble.IsolationForest : Outlier detection with random trees.
    sklearn.neighbors.LocalOutlierFactor : Outlier detection by local density.
    AutoencoderTransformer : The default model.
    skae.plotting.ScoreBreakdownDisplay : Draws ``score_samples_per_feature``.
    VAETransformer : Scores rows by their ELBO.

    Notes
    -----
    By default ``offset_`` comes from the training rows' scores. A model
    that fits its training rows better than new ones (a wide code, little
    regularisation) makes it too strict for new rows (on the digits, a
    16-component autoencoder flagged 94% of new normal rows at
    ``contamination=0.1``), though the ranking by ``score_samples`` is
    unaffected; when the number of alarms on new data matters, set
    ``validation_fraction`` (e.g. 0.2) to take the threshold from rows held
    out of the model's fit.

    The model is trained on all of X, outliers included: a flexible model
    learns to reconstruct frequent outliers too, so train on data that is
    mostly clean. A :class:`VAETransformer` with the Bernoulli likelihood
    (chosen by ``likelihood="auto"`` for pixel data) scores only rows within
    the training data's [min, max] and raises a ValueError on others.

    With an skae model whose ``strategy="ddp"`` (data-parallel training:
    every process of a torch.distributed group calls ``fit`` with its own
    rows), the model is fitted on the rows of every process, and
    ``offset_`` is the threshold of the scores of every process's rows
    (its training rows, or its held-out ``validation_fraction`` of them,
    split on each process): each process gathers them all, one float per
    row, so ``offset_`` is the exact quantile and the same everywhere.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderOutlierDetector, AutoencoderTransformer
    >>> X, y = load_digits(return_X_y=True)
    >>> detector = AutoencoderOutlierDetector(
    ...     AutoencoderTransformer(8, max_iter=5, random_state=0),
    ...     contamination=0.05,
    ... ).fit(X[y == 0])
    >>> labels = detector.predict(X[y == 0])
    >>> round(float(np.mean(labels == -1)), 2)
    0.05
    """

    _parameter_constraints: dict = {
        "estimator": [None, _ScoringModel()],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        contamination=0.1,
        *,
        validation_fraction=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.contamination = contamination
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def _model(self):
        """The unfitted model: ``estimator``, or the default for None."""
        return AutoencoderTransformer() if self.estimator is None else self.estimator

    @_fit_context(
        # the inner model validates its own parameters
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y=None, sample_weight=None):
        """Fit the model to X and set the threshold ``offset_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, mostly normal rows.
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows, as ``IsolationForest.fit`` takes them: the
            model is fitted with them (its ``fit`` must take
            ``sample_weight``, as skae's estimators do; a ValueError says
            so before any work otherwise), and the threshold is their
            weighted percentile (scikit-learn's averaged inverted CDF; the
            weighted median and MAD for ``contamination="auto"``), over the
            held-out rows' weights with ``validation_fraction``. Rows of
            weight 0 are left out first, before that split. None, or equal
            weights, give the unweighted detector.

        Returns
        -------
        self : object
            The fitted detector.
        """
        # fitted on a copy, published only when it succeeds: a failed call
        # leaves a fitted detector as it was
        work = copy.copy(self)
        work._fit(X, sample_weight)
        self.__dict__ = work.__dict__
        return self

    def _fit(self, X, sample_weight=None):
        estimator = clone(self._model())
        if self.estimator is None:
            # the default model's seed; a model the user gave keeps its own
            estimator.set_params(random_state=model_seed(self.random_state))
        if sample_weight is not None:
            self._check_weighted_model(estimator, sample_weight)
        # strategy="ddp": the group of a data-parallel fit (a RuntimeError
        # naming the launch command when there is none, before any work)
        ranks = ddp.join(estimator) if getattr(estimator, "strategy", None) else None
        nested = [
            name
            for name, value in estimator.get_params(deep=True).items()
            if name.endswith("__strategy") and value is not None
        ]
        if ranks is None and nested:
            raise ValueError(
                f"AutoencoderOutlierDetector's estimator sets {nested[0]}="
                "'ddp' inside it: the detector would take each rank's own "
                "threshold. Give the detector the skae estimator itself (its "
                "strategy='ddp'), or strategy=None."
            )
        X_given = X
        checked = ranks.checked(self, lambda: X.shape[1]) if ranks else nullcontext()
        with checked:  # with ranks: when one rank's X is refused, every rank raises
            allow_nan = get_tags(self).input_tags.allow_nan
            X = self._check_rows(
                X, reset=True, model=estimator, ensure_all_finite=not allow_nan
            )
            if isinstance(X_given, np.memmap) and X.dtype == X_given.dtype:
                # skae's estimators train on a memmap one batch at a time
                X = X_given
            # the model gets the rows as given when they are a DataFrame (a
            # pipeline may select columns by name), else the validated array
            rows = X_given if _is_dataframe(X_given) else X
            weights = check_sample_weight(
                sample_weight, X, who="AutoencoderOutlierDetector.fit"
            )
            # rows of weight 0 left out first, before the held-out split
            X, weights, rows = positive_rows(X, weights, rows)
            fit_rows = threshold_rows = rows
            fit_weights = threshold_weights = weights
            if self.validation_fraction is not None:
                fit, held = self._split(X)
                fit_rows = _safe_indexing(rows, fit)
                threshold_rows = _safe_indexing(rows, held)
                if weights is not None:
                    fit_weights, threshold_weights = weights[fit], weights[held]
        if fit_weights is None:
            estimator.fit(fit_rows)
        else:
            estimator.fit(fit_rows, sample_weight=fit_weights)
        if ranks is None:
            scores = self._scores(estimator, threshold_rows)
        else:  # the threshold rows of every rank: one float each
            with ranks.collectives():
                scores = ranks.concatenated(
                    lambda: self._scores(estimator, threshold_rows)
                )
        self.estimator_ = estimator
        self.offset_ = threshold(scores, self.contamination, threshold_weights)

    @staticmethod
    def _check_weighted_model(estimator, sample_weight):
        """Refuse ``sample_weight`` for a model that cannot take it (its
        ``fit`` has no such argument, or a data-parallel skae model)."""
        name = type(estimator).__name__
        if not has_fit_parameter(estimator, "sample_weight"):
            raise ValueError(
                f"AutoencoderOutlierDetector.fit got sample_weight, but its "
                f"estimator ({name}) takes none in fit. Use a model whose fit "
                "takes sample_weight (skae's estimators, scikit-learn's "
                "KernelDensity; PCA and GaussianMixture take none), or fit "
                "without sample_weight."
            )
        refuse_weights_in_parallel(
            sample_weight,
            estimator,
            f"AutoencoderOutlierDetector.fit's estimator ({name})",
        )

    def _split(self, X):
        """The (fit, held-out) row indices of ``validation_fraction``.

        The held-out rows are the first ``ceil(validation_fraction *
        n_samples)`` of a permutation drawn by ``random_state``, except that
        a row holding X's smallest value and one holding its largest are
        always fitted on: the model then spans X's whole range, as it does
        when fitted on all of X, so a model that scores only rows within
        its training data's [min, max] (a Bernoulli VAE) can score every
        held-out row. A table (a DataFrame the model reads as one, whose
        columns are not all numbers) has no such extremes: its rows are
        drawn as they come.
        """
        n = X.shape[0]
        n_valid = held_out(self.validation_fraction, n)
        if not 1 <= n_valid < n - 1:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} of "
                f"{n} rows leaves too few rows to fit or to set "
                "the threshold on; give more rows or another fraction."
            )
        order = check_random_state(self.random_state).permutation(n)
        keep = []
        for at_extreme in () if _is_dataframe(X) else _rows_at_extremes(X):
            if at_extreme.any() and not at_extreme[order[n_valid:]].any():
                row = order[np.argmax(at_extreme[order])]  # the first drawn
                if row not in keep:  # one row may hold both extremes
                    keep.append(row)
        if keep:  # moved to the end: into the fit rows, the rest in order
            order = np.concatenate([order[~np.isin(order, keep)], keep])
        return np.sort(order[n_valid:]), np.sort(order[:n_valid])

    def score_samples(self, X):
        """Score each sample with the model: higher is more normal.

        These are ``estimator_.score_samples(X)``, e.g. minus the mean
        squared reconstruction error for an :class:`AutoencoderTransformer`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Float64 scores; the lower, the more abnormal.
        """
        check_is_fitted(self)
        # the model's own score_samples checks X for NaN and inf
        X_checked = self._check_rows(X, reset=False, ensure_all_finite=False)
        return self._scores(self.estimator_, X if _is_dataframe(X) else X_checked)

    def score_samples_per_feature(self, X):
        """Split each sample's score by feature: which columns made it unusual.

        For an skae autoencoder (the default model), entry ``(i, j)`` is
        minus the squared reconstruction error of ``X[i, j]`` in X's units,
        divided by ``n_features_in_``: row ``i`` sums to
        ``score_samples(X)[i]`` (minus the row's mean squared error), and
        its most negative entries are the columns the model reconstructs
        worst. For a mixed table (a DataFrame with categorical, string or
        boolean columns, which the model reads as one: see the user guide's
        *Tables*), entry ``(i, j)`` is minus column ``j``'s term in the
        model's loss (its weighted negative log-likelihood: a categorical
        column's whole one-hot block counts as one column) over the number
        of columns, again summing to the row's score.
        :class:`~skae.plotting.ScoreBreakdownDisplay` draws them.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples to explain.

        Returns
        -------
        scores : ndarray or DataFrame of shape (n_samples, `n_features_in_`)
            Float64 per-feature scores, summing over a row to the row's
            score. A DataFrame whose columns are ``feature_names_in_``
            (``x0``, ``x1``, ... without them), with X's index where it has
            one, under scikit-learn's ``set_config(transform_output="pandas")``
            (or ``"polars"``).

        Raises
        ------
        TypeError
            When the model's score has no per-feature split (a
            :class:`VAETransformer`'s ELBO, scikit-learn's models).
        """
        check_is_fitted(self)
        X_checked = self._check_rows(X, reset=False, ensure_all_finite=False)
        split = getattr(self.estimator_, "_score_samples_per_feature", None)
        rows = X if _is_dataframe(X) else X_checked
        scores = None if split is None else split(rows)
        if scores is None:
            raise TypeError(
                f"{type(self.estimator_).__name__}.score_samples has no "
                "per-feature breakdown: score_samples_per_feature needs a model "
                "whose score is minus the reconstruction error: the default "
                "AutoencoderTransformer, or a SparseAutoencoder, "
                "DenoisingAutoencoder or ContractiveAutoencoder."
            )
        adapter = _get_container_adapter("transform", self)
        if adapter is None:
            return scores
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = np.asarray([f"x{i}" for i in range(self.n_features_in_)], object)
        return adapter.create_container(scores, X, columns=names)

    def decision_function(self, X):
        """Score each sample relative to the threshold.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_``: negative for outliers, zero or
            positive for inliers.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Predict whether each sample is an inlier (+1) or an outlier (-1).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples to label.

        Returns
        -------
        is_inlier : ndarray of shape (n_samples,)
            -1 for rows scored below ``offset_``, +1 for the others.
        """
        decision = self.decision_function(X)
        is_inlier = np.ones_like(decision, dtype=int)
        is_inlier[decision < 0] = -1
        return is_inlier

    def _check_rows(self, X, reset, model=None, **kwargs):
        """X checked against the detector (``n_features_in_``,
        ``feature_names_in_``): a numeric array validated, a table that the
        model reads as one (``model``, by default ``estimator_``) only for
        its columns, the model checking its values."""
        if _read_as_table(self.estimator_ if model is None else model, X):
            return validate_data(self, X, reset=reset, skip_check_array=True)
        return validate_X(self, X, reset=reset, **kwargs)

    def _scores(self, estimator, X):
        """``estimator.score_samples(X)`` as a float64 vector, checked."""
        scores = np.asarray(estimator.score_samples(X), dtype=np.float64)
        if scores.shape != (X.shape[0],):
            raise ValueError(
                f"{type(estimator).__name__}.score_samples returned an array of "
                f"shape {scores.shape} for {X.shape[0]} samples; an outlier "
                "detector needs one score per sample."
            )
        if not np.isfinite(scores).all():
            if not get_tags(self).input_tags.allow_nan:
                # name a NaN or inf in X the way scikit-learn does
                assert_all_finite(
                    X if sp.issparse(X) else np.asarray(X),
                    input_name="X",
                    estimator_name=type(self).__name__,
                )
            raise ValueError(
                f"{type(estimator).__name__}.score_samples returned non-finite "
                "scores; check X for extreme values."
            )
        return scores

    def set_params(self, **params):
        """Set the parameters of this detector and of its model.

        Parameters
        ----------
        **params : dict
            Parameters by name; ``estimator__<name>`` sets those of the
            model, which must then be given (not None).

        Returns
        -------
        self : object
            The detector.
        """
        nested = sorted(k for k in params if k.startswith("estimator__"))
        if nested and self.estimator is None and params.get("estimator") is None:
            raise ValueError(
                f"Cannot set {', '.join(nested)}: estimator is None (the default "
                "AutoencoderTransformer(), which is created in fit). Pass the "
                "model explicitly, e.g. "
                "AutoencoderOutlierDetector(AutoencoderTransformer()), to set "
                "or search its parameters."
            )
        return super().set_params(**params)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        model_tags = get_tags(self._model())
        tags.input_tags.sparse = model_tags.input_tags.sparse
        tags.input_tags.allow_nan = model_tags.input_tags.allow_nan
        return tags
