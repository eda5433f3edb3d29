"""LatentFrequencyDisplay: how often each code unit fires, on a log scale."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._compat import check_matplotlib_support
from ._common import _fill_display_doc, _get_ax, _keep_axes, _set_title

#: Rows transformed at a time by :meth:`LatentFrequencyDisplay.from_estimator`,
#: so that a wide code is never held for all rows at once.
CHUNK_ROWS = 4096


@_fill_display_doc
class LatentFrequencyDisplay:
    """Histogram of the code units' firing frequencies, in log10, as sparse
    autoencoder papers draw them; the dead units (never firing) are counted
    apart, since their logarithm is -inf.

    {use_from_estimator}

    Parameters
    ----------
    frequencies : array-like of shape (n_components,)
        The fraction of rows on which each code unit is non-zero.
    {estimator_name}

    Attributes
    ----------
    n_dead_ : int
        The units with frequency 0, left out of the histogram and named in
        its legend.
    patches_ : list
        The histogram's artists (what :meth:`matplotlib.axes.Axes.hist`
        returns as patches).
    bin_edges_ : ndarray of shape (n_bins + 1,)
        The bin edges, in log10 of the frequency.
    line_mean_ : matplotlib Line2D
        A vertical line at the mean frequency (k / n_components for a TopK
        code with k active units per row).
    ax_ : matplotlib Axes
        Axes with the histogram.
    figure_ : matplotlib Figure
        Figure containing the histogram.

    See Also
    --------
    skae.SparseAutoencoder : Its ``penalty="topk"`` codes, whose
        ``dead_fraction_`` counts units that stopped firing in training.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from skae import SparseAutoencoder
    >>> from skae.plotting import LatentFrequencyDisplay
    >>> X, _ = load_digits(return_X_y=True)
    >>> sae = SparseAutoencoder(
    ...     64, penalty="topk", n_nonzero_coefs=4, max_iter=5, random_state=0
    ... ).fit(X)
    >>> display = LatentFrequencyDisplay.from_estimator(sae, X)
    >>> display.frequencies.shape
    (64,)
    >>> plt.show()
    """

    def __init__(self, frequencies, estimator_name=None):
        self.frequencies = frequencies
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, bins=30, name=None, **hist_kwargs):
        """Draw the histogram of log10 firing frequencies.

        Parameters
        ----------
        {ax}
        bins : int or sequence of float, default=30
            Bins of log10 frequency, as :func:`numpy.histogram_bin_edges`
            takes them.
        {name_plot}
        **hist_kwargs : dict
            Further keyword arguments of :meth:`matplotlib.axes.Axes.hist`.

        {returns}
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        frequencies = np.asarray(self.frequencies, dtype=np.float64)
        if (
            frequencies.ndim != 1
            or frequencies.size == 0
            or not np.all((frequencies >= 0) & (frequencies <= 1))
        ):
            raise ValueError(
                "frequencies must be a non-empty 1-dimensional array of "
                f"fractions in [0, 1] (one per code unit); got {frequencies!r:.80}."
            )
        ax = _get_ax(ax)
        alive = frequencies[frequencies > 0]
        self.n_dead_ = int(frequencies.size - alive.size)
        logs = np.log10(alive) if alive.size else np.zeros(0)
        edges = np.histogram_bin_edges(logs if logs.size else [0.0], bins=bins)
        kwargs = {"histtype": "stepfilled", "alpha": 0.7, **hist_kwargs}
        label = (
            f"{alive.size} firing units ({self.n_dead_} dead, "
            f"{self.n_dead_ / frequencies.size:.1%}, not drawn)"
        )
        _, _, self.patches_ = ax.hist(logs, bins=edges, label=label, **kwargs)
        mean = float(frequencies.mean())
        self.line_mean_ = ax.axvline(
            np.log10(mean) if mean > 0 else edges[0],
            color="black",
            linestyle="--",
            label=f"mean frequency ({mean:.3g})",
        )
        ax.set_xlabel("log10 of the fraction of rows a unit fires on")
        ax.set_ylabel("code units")
        ax.legend()
        _set_title(ax, name, self.estimator_name)
        self.bin_edges_ = edges
        return _keep_axes(self, ax)

    @classmethod
    def from_estimator(cls, estimator, X, *, ax=None, bins=30, name=None, **kwargs):
        """Plot how often each unit of ``estimator.transform(X)`` is non-zero.

        X is transformed a chunk of rows at a time, so only one chunk's codes
        are held at once.

        Parameters
        ----------
        estimator : estimator instance
            A fitted transformer, e.g. a
            ``SparseAutoencoder(penalty="topk")``.
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to encode.
        {ax}
        bins : int or sequence of float, default=30
            Bins of log10 frequency.
        {name_from_estimator}
        **kwargs : dict
            Further keyword arguments of :meth:`matplotlib.axes.Axes.hist`.

        {returns}
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        counts = None
        n_rows = X.shape[0]
        for start in range(0, n_rows, CHUNK_ROWS):
            Z = estimator.transform(X[start : start + CHUNK_ROWS])
            fired = np.asarray((Z != 0).sum(axis=0), dtype=np.float64).ravel()
            counts = fired if counts is None else counts + fired
        if counts is None:
            raise ValueError("X has no rows: nothing to count.")
        display = cls(
            frequencies=counts / n_rows, estimator_name=type(estimator).__name__
        )
        return display.plot(ax=ax, bins=bins, name=name, **kwargs)
