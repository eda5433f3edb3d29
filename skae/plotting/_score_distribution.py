"""ScoreDistributionDisplay: a histogram of scores, with a detector's threshold."""

import numpy as np
from sklearn.base import is_outlier_detector
from sklearn.utils.validation import check_is_fitted

from .._compat import check_matplotlib_support
from ._common import _fill_display_doc, _get_ax, _keep_axes, _set_title


@_fill_display_doc
class ScoreDistributionDisplay:
    """Histogram of the scores of a model or outlier detector, with its threshold.

    {use_from_estimator}

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        The scores, e.g. the output of an estimator's ``score_samples``
        (higher = more normal).
    labels : array-like of shape (n_samples,), default=None
        Labels splitting the scores into one histogram per distinct label,
        e.g. inlier / outlier. None draws one histogram.
    threshold : float, default=None
        Score drawn as a vertical line, e.g. an outlier detector's
        ``offset_``. None draws no line.
    {estimator_name}

    Attributes
    ----------
    patches_ : list
        The artists of each histogram (what :meth:`matplotlib.axes.Axes.hist`
        returns as patches), one entry per label in sorted order, or a single
        entry without labels.
    bin_edges_ : ndarray of shape (n_bins + 1,)
        The bin edges, shared by every histogram.
    line_threshold_ : matplotlib Line2D or None
        The threshold line; None when ``threshold`` is None.
    ax_ : matplotlib Axes
        Axes with the histograms.
    figure_ : matplotlib Figure
        Figure containing the histograms.

    See Also
    --------
    skae.AutoencoderOutlierDetector : Its ``offset_`` is the threshold drawn.
    CodeScatterDisplay : Scatter plot of two code components.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderOutlierDetector, AutoencoderTransformer
    >>> from skae.plotting import ScoreDistributionDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> detector = AutoencoderOutlierDetector(
    ...     AutoencoderTransformer(8, max_iter=5, random_state=0)
    ... ).fit(X[y == 0])
    >>> X_test = np.vstack([X[y == 0][:20], X[y == 1][:5]])
    >>> is_zero = np.r_[[True] * 20, [False] * 5]
    >>> display = ScoreDistributionDisplay.from_estimator(detector, X_test, is_zero)
    >>> len(display.patches_)
    2
    >>> plt.show()
    """

    def __init__(self, scores, labels=None, threshold=None, estimator_name=None):
        self.scores = scores
        self.labels = labels
        self.threshold = threshold
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, bins=30, density=True, name=None, **hist_kwargs):
        """Draw the histogram(s) of the scores and the threshold.

        Parameters
        ----------
        {ax}
        bins : int, sequence of float or str, default=30
            Bins, as :func:`numpy.histogram_bin_edges` takes them; computed
            over all the scores and shared by every histogram.
        density : bool, default=True
            Normalise each histogram to unit area, so that a small group
            (the outliers) is as visible as a large one. False draws counts.
        {name_plot}
        **hist_kwargs : dict
            Further keyword arguments of :meth:`matplotlib.axes.Axes.hist`;
            the defaults are ``histtype="stepfilled"`` and ``alpha=0.5``.

        {returns}
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        scores = np.asarray(self.scores, dtype=np.float64)
        if scores.ndim != 1 or scores.size == 0:
            raise ValueError(
                f"scores must be a non-empty 1-dimensional array (one score per "
                f"sample); got shape {scores.shape}."
            )
        if self.labels is None:
            groups = [(None, scores)]
        else:
            labels = np.asarray(self.labels).ravel()
            if labels.shape[0] != scores.shape[0]:
                raise ValueError(
                    f"labels has {labels.shape[0]} entries but scores has "
                    f"{scores.shape[0]}; they must be equal."
                )
            groups = [(c, scores[labels == c]) for c in np.unique(labels)]
        ax = _get_ax(ax)
        edges = np.histogram_bin_edges(scores, bins=bins)
        kwargs = {"histtype": "stepfilled", "alpha": 0.5, **hist_kwargs}
        self.patches_ = []
        for label, group in groups:
            text = None if label is None else f"{label} ({group.size})"
            _, _, patches = ax.hist(
                group, bins=edges, density=density, label=text, **kwargs
            )
            self.patches_.append(patches)
        if self.threshold is None:
            self.line_threshold_ = None
        else:
            self.line_threshold_ = ax.axvline(
                self.threshold,
                color="black",
                linestyle="--",
                label=f"threshold ({self.threshold:.3g})",
            )
        ax.set_xlabel("score (higher = more normal)")
        ax.set_ylabel("density" if density else "count")
        if self.labels is not None or self.threshold is not None:
            ax.legend(title=None if self.labels is None else "label")
        _set_title(ax, name, self.estimator_name)
        self.bin_edges_ = edges
        return _keep_axes(self, ax)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y=None,
        *,
        ax=None,
        bins=30,
        density=True,
        name=None,
        **hist_kwargs,
    ):
        """Plot the distribution of ``estimator.score_samples(X)``.

        For an outlier detector (an :class:`~skae.AutoencoderOutlierDetector`,
        or scikit-learn's ``IsolationForest``, ``LocalOutlierFactor`` with
        ``novelty=True``, ``OneClassSVM``), its threshold ``offset_`` is drawn
        as a vertical line: rows to its left are predicted outliers. Other
        models with ``score_samples`` (an autoencoder, ``PCA``) get no line.

        Parameters
        ----------
        estimator : estimator instance
            A fitted estimator with ``score_samples``.
        X : array-like of shape (n_samples, n_features)
            Samples to score.
        y : array-like of shape (n_samples,), default=None
            Labels splitting the scores into one histogram per distinct
            label, e.g. whether each row is an outlier. None draws one
            histogram.
        {ax}
        bins : int, sequence of float or str, default=30
            Bins, as :func:`numpy.histogram_bin_edges` takes them; shared by
            every histogram.
        density : bool, default=True
            Normalise each histogram to unit area. False draws counts.
        {name_from_estimator}
        **hist_kwargs : dict
            Further keyword arguments of :meth:`matplotlib.axes.Axes.hist`.

        {returns}
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        # only a detector's offset_ is a threshold on its scores (an skae
        # autoencoder's offset_ is its normalisation)
        threshold = (
            float(estimator.offset_)
            if is_outlier_detector(estimator) and hasattr(estimator, "offset_")
            else None
        )
        display = cls(
            scores=np.asarray(estimator.score_samples(X), dtype=np.float64),
            labels=None if y is None else np.asarray(y),
            threshold=threshold,
            estimator_name=type(estimator).__name__,
        )
        return display.plot(ax=ax, bins=bins, density=density, name=name, **hist_kwargs)
