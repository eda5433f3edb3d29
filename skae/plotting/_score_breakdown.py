"""ScoreBreakdownDisplay: which columns made one row's score unusual."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._compat import check_matplotlib_support
from ._common import _fill_display_doc, _get_ax, _keep_axes


@_fill_display_doc
class ScoreBreakdownDisplay:
    """Horizontal bars of the features that lower one sample's score most.

    Draws an outlier detector's ``score_samples_per_feature`` for one row:
    each bar is one feature's share of the row's score, drawn as its
    magnitude (for an autoencoder, the feature's squared reconstruction
    error over ``n_features``), the largest at the top.

    {use_from_estimator}

    Parameters
    ----------
    contributions : array-like of shape (n_features,)
        One row's per-feature scores (summing to its score; the more
        negative, the more the feature made the row unusual).
    feature_names : array-like of str of shape (n_features,), default=None
        Names of the features; None names them ``x0``, ``x1``, ...
    row : int or str, default=None
        Which row it is, shown in the title. None shows none.
    {estimator_name}

    Attributes
    ----------
    bars_ : matplotlib BarContainer
        The bars, top feature first.
    features_ : ndarray of str
        The names of the features drawn, top feature first.
    ax_ : matplotlib Axes
        Axes with the bars.
    figure_ : matplotlib Figure
        Figure containing the bars.

    See Also
    --------
    skae.AutoencoderOutlierDetector.score_samples_per_feature : What is drawn.
    ScoreDistributionDisplay : Histogram of the scores with the threshold.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skae import AutoencoderOutlierDetector, AutoencoderTransformer
    >>> from skae.plotting import ScoreBreakdownDisplay
    >>> X, _ = load_wine(return_X_y=True, as_frame=True)
    >>> X = StandardScaler().set_output(transform="pandas").fit_transform(X)
    >>> detector = AutoencoderOutlierDetector(
    ...     AutoencoderTransformer(2, max_iter=5, random_state=0)
    ... ).fit(X)
    >>> display = ScoreBreakdownDisplay.from_estimator(detector, X, max_features=5)
    >>> len(display.features_)
    5
    >>> plt.show()
    """

    def __init__(
        self, contributions, feature_names=None, row=None, estimator_name=None
    ):
        self.contributions = contributions
        self.feature_names = feature_names
        self.row = row
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, max_features=10, name=None, **barh_kwargs):
        """Draw the features that lower the row's score most.

        Parameters
        ----------
        {ax}
        max_features : int, default=10
            Draw at most this many features, those with the most negative
            contributions.
        {name_plot}
        **barh_kwargs : dict
            Further keyword arguments of :meth:`matplotlib.axes.Axes.barh`.

        {returns}
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        values = np.asarray(self.contributions, dtype=np.float64)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(
                "contributions must be a non-empty 1-dimensional array (one "
                f"value per feature of one row); got shape {values.shape}."
            )
        if self.feature_names is None:
            names = np.asarray([f"x{i}" for i in range(values.size)])
        else:
            names = np.asarray(self.feature_names, dtype=str)
            if names.shape != values.shape:
                raise ValueError(
                    f"feature_names has {names.size} entries but contributions "
                    f"has {values.size}; they must be equal."
                )
        if not (isinstance(max_features, (int, np.integer)) and max_features >= 1):
            raise ValueError(
                f"max_features must be a positive int; got {max_features!r}."
            )
        top = np.argsort(values, kind="stable")[:max_features]  # most negative
        ax = _get_ax(ax)
        # the top feature at the top: barh draws the first bar at the bottom
        self.bars_ = ax.barh(names[top][::-1], -values[top][::-1], **barh_kwargs)
        self.features_ = names[top]
        ax.set_xlabel("minus the feature's share of the score (larger = more unusual)")
        row = "score" if self.row is None else f"row {self.row}: score"
        summary = f"{row} {values.sum():.3g}, {values.size} features"
        title = name if name is not None else self.estimator_name
        ax.set_title(summary if title is None else f"{title}\n{summary}")
        return _keep_axes(self, ax)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        *,
        row=None,
        ax=None,
        max_features=10,
        name=None,
        **barh_kwargs,
    ):
        """Plot one row's ``estimator.score_samples_per_feature``.

        Parameters
        ----------
        estimator : estimator instance
            A fitted :class:`~skae.AutoencoderOutlierDetector` (or any
            estimator with ``score_samples_per_feature``).
        X : array-like of shape (n_samples, n_features)
            Samples; one row of them is drawn.
        row : int, default=None
            Position of the row in X. None draws the row with the lowest
            score (the most unusual).
        {ax}
        max_features : int, default=10
            Draw at most this many features, those with the most negative
            contributions.
        {name_from_estimator}
        **barh_kwargs : dict
            Further keyword arguments of :meth:`matplotlib.axes.Axes.barh`.

        {returns}
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        if not hasattr(estimator, "score_samples_per_feature"):
            raise TypeError(
                f"{type(estimator).__name__} has no score_samples_per_feature; "
                "pass a fitted skae AutoencoderOutlierDetector."
            )
        values = np.asarray(estimator.score_samples_per_feature(X), dtype=np.float64)
        n_samples = values.shape[0]
        if row is None:
            row = int(np.argmin(values.sum(axis=1)))
        elif (
            not isinstance(row, (int, np.integer)) or not -n_samples <= row < n_samples
        ):
            raise ValueError(
                f"row must be the position of a row of X, an int in "
                f"[{-n_samples}, {n_samples}); got {row!r}."
            )
        names = getattr(estimator, "feature_names_in_", None)
        index = getattr(X, "index", None)
        label = index[row] if index is not None else int(row) % n_samples
        display = cls(
            contributions=values[row],
            feature_names=names,
            row=label,
            estimator_name=type(estimator).__name__,
        )
        return display.plot(ax=ax, max_features=max_features, name=name, **barh_kwargs)
