"""Visualisations of fitted skae models, in scikit-learn's Display style.

Each display holds the data it draws; its ``from_estimator`` classmethod
computes that data from a fitted estimator and calls ``plot``, which draws on
matplotlib axes and keeps the artists as attributes ending in ``_``.

matplotlib is an optional dependency (``pip install skae[plot]``): this module
imports without it, and the displays raise a clear ``ImportError`` when it is
missing.
"""

import numbers
from math import prod

import numpy as np
from sklearn.base import is_outlier_detector
from sklearn.utils import check_array, check_consistent_length
from sklearn.utils.validation import check_is_fitted

from ._compat import _safe_indexing, check_matplotlib_support

__all__ = [
    "CodeScatterDisplay",
    "LossCurveDisplay",
    "ReconstructionDisplay",
    "ScoreDistributionDisplay",
]

#: Above this many distinct labels, CodeScatterDisplay draws a colorbar
#: instead of a legend.
MAX_LEGEND_LABELS = 20


def _get_ax(ax):
    """``ax``, or the axes of a new figure when ``ax`` is None."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    return ax


def _check_image_shape(image_shape, n_features, what):
    """Validate image_shape against the number of values per row."""
    try:
        image_shape = tuple(int(s) for s in image_shape)
    except TypeError:
        raise TypeError(
            f"image_shape must be a tuple of ints; got {image_shape!r}."
        ) from None
    n_pixels = prod(image_shape)
    if n_pixels != n_features:
        raise ValueError(
            f"image_shape {image_shape} holds {n_pixels} values, but {what} has "
            f"{n_features} features; their numbers must be equal."
        )
    return image_shape


def _check_components(components, n_components):
    """Validate a pair of code component indices; returns them as a tuple."""
    if n_components < 2:
        raise ValueError(
            f"The codes have {n_components} component(s); a scatter plot of "
            "codes needs at least 2 (fit with n_components >= 2)."
        )
    try:
        first, second = components
    except (TypeError, ValueError):
        raise ValueError(
            f"components must be a pair of ints; got {components!r}."
        ) from None
    pair = (first, second)
    if not all(
        isinstance(c, numbers.Integral) and not isinstance(c, bool) and 0 <= c
        for c in pair
    ) or any(c >= n_components for c in pair):
        raise ValueError(
            f"components must be two ints in [0, {n_components}): the codes have "
            f"{n_components} components; got {components!r}."
        )
    return int(first), int(second)


class LossCurveDisplay:
    """Training (and validation) loss curve of a fitted autoencoder.

    Use :meth:`from_estimator` to create one from a fitted estimator; all
    parameters are stored as attributes.

    Parameters
    ----------
    train_loss : array-like of shape (n_epochs,)
        Training loss of each epoch, e.g. an estimator's ``loss_curve_``.
    validation_loss : array-like of shape (n_epochs,), default=None
        Validation loss of each epoch, or None when there is none. Note that
        an estimator's ``validation_scores_`` are *minus* the validation loss.
    estimator_name : str, default=None
        Name of the estimator, used as the title. None means no title.

    Attributes
    ----------
    line_train_ : matplotlib Line2D
        The training loss curve.
    line_valid_ : matplotlib Line2D or None
        The validation loss curve; None when ``validation_loss`` is None.
    ax_ : matplotlib Axes
        Axes with the curves.
    figure_ : matplotlib Figure
        Figure containing the curves.

    See Also
    --------
    ReconstructionDisplay : Images next to their reconstructions.
    CodeScatterDisplay : Scatter plot of two code components.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import LossCurveDisplay
    >>> X, _ = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(
    ...     8, max_iter=5, early_stopping=True, random_state=0
    ... ).fit(X)
    >>> display = LossCurveDisplay.from_estimator(ae)
    >>> len(display.line_train_.get_xdata())
    5
    >>> plt.show()
    """

    def __init__(self, train_loss, validation_loss=None, estimator_name=None):
        self.train_loss = train_loss
        self.validation_loss = validation_loss
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, name=None):
        """Plot the loss per epoch.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a new figure and axes.
        name : str, default=None
            Title of the plot. None uses ``estimator_name``.

        Returns
        -------
        LossCurveDisplay
            The display, with the artists stored as attributes.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        from matplotlib.ticker import MaxNLocator

        ax = _get_ax(ax)
        train = np.asarray(self.train_loss, dtype=np.float64).ravel()
        (self.line_train_,) = ax.plot(
            np.arange(1, train.size + 1), train, label="training loss"
        )
        if self.validation_loss is None:
            self.line_valid_ = None
        else:
            valid = np.asarray(self.validation_loss, dtype=np.float64).ravel()
            (self.line_valid_,) = ax.plot(
                np.arange(1, valid.size + 1), valid, label="validation loss"
            )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend(loc="upper right")
        title = name if name is not None else self.estimator_name
        if title is not None:
            ax.set_title(title)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None):
        """Plot the loss curve of a fitted estimator.

        The training loss is the estimator's ``loss_curve_``; the validation
        loss, drawn when the estimator was fitted with ``early_stopping=True``,
        is minus its ``validation_scores_``.

        Parameters
        ----------
        estimator : estimator instance
            A fitted skae estimator (anything with ``loss_curve_`` and
            ``validation_scores_``).
        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a new figure and axes.
        name : str, default=None
            Title of the plot. None uses the estimator's class name.

        Returns
        -------
        LossCurveDisplay
            The display, with the artists stored as attributes.
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        scores = getattr(estimator, "validation_scores_", None)
        validation_loss = None if scores is None else [-float(s) for s in scores]
        display = cls(
            train_loss=[float(v) for v in estimator.loss_curve_],
            validation_loss=validation_loss,
            estimator_name=type(estimator).__name__,
        )
        return display.plot(ax=ax, name=name)


class ReconstructionDisplay:
    """Images next to their reconstructions by an autoencoder.

    Use :meth:`from_estimator` to create one from a fitted estimator; all
    parameters are stored as attributes.

    For a denoiser, whose input is a corrupted version of a clean image, pass
    the clean images as well: the figure then has three rows, the clean
    targets, the noisy inputs and the reconstructions.

    Parameters
    ----------
    originals : array-like of shape (n_images, n_features)
        The samples given to the estimator, one flattened image per row.
    reconstructions : array-like of shape (n_images, n_features)
        Their reconstructions, in the same order.
    image_shape : tuple of int
        Shape each row is reshaped to for display, e.g. ``(8, 8)``; its
        product must be ``n_features``.
    clean : array-like of shape (n_images, n_features), default=None
        Clean targets of ``originals`` when those are corrupted (a denoiser's
        noisy input), in the same order; drawn as a first row. None draws
        two rows, the originals and their reconstructions.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes of shape (n_rows, n_images)
        ``n_rows`` is 2 without ``clean``: originals on the first row,
        reconstructions on the second. With ``clean`` it is 3: clean
        targets, noisy inputs (``originals``), reconstructions.
    images_ : ndarray of matplotlib AxesImage of shape (n_rows, n_images)
        The drawn images, laid out like ``axes_``.
    figure_ : matplotlib Figure
        Figure containing the images.

    See Also
    --------
    LossCurveDisplay : Loss per epoch of a fitted estimator.
    CodeScatterDisplay : Scatter plot of two code components.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import ReconstructionDisplay
    >>> X, _ = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(8, max_iter=5, random_state=0).fit(X)
    >>> display = ReconstructionDisplay.from_estimator(
    ...     ae, X, image_shape=(8, 8), n_images=6
    ... )
    >>> display.axes_.shape
    (2, 6)
    >>> noisy = X + np.random.RandomState(0).normal(scale=2.0, size=X.shape)
    >>> display = ReconstructionDisplay.from_estimator(
    ...     ae, noisy, X_clean=X, image_shape=(8, 8), n_images=6
    ... )
    >>> [ax.get_ylabel() for ax in display.axes_[:, 0]]
    ['clean', 'noisy input', 'reconstruction']
    >>> plt.show()
    """

    def __init__(self, originals, reconstructions, image_shape, clean=None):
        self.originals = originals
        self.reconstructions = reconstructions
        self.image_shape = image_shape
        self.clean = clean

    def plot(self, *, ax=None, cmap="gray_r", im_kw=None):
        """Draw the originals on a top row and their reconstructions below.

        With ``clean``, the clean targets come first, then the noisy inputs
        (``originals``), then the reconstructions. All rows share one colour
        scale.

        Parameters
        ----------
        ax : array-like of matplotlib Axes of shape (n_rows, n_images), default=None
            Axes to draw the images into; ``n_rows`` is 2, or 3 with
            ``clean``:

            - If an array-like of Axes of shape (n_rows, n_images) is passed
              in, the rows are drawn into its rows, in the order above.
            - If None, a new figure with an n_rows x n_images grid of axes is
              created.
        cmap : str or matplotlib Colormap, default="gray_r"
            Colormap of the images.
        im_kw : dict, default=None
            Further keyword arguments of :meth:`matplotlib.axes.Axes.imshow`,
            e.g. ``{"vmin": 0, "vmax": 1}`` to fix the colour scale (by
            default it spans the values of all rows).

        Returns
        -------
        ReconstructionDisplay
            The display, with the artists stored as attributes.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        originals = np.asarray(self.originals, dtype=np.float64)
        reconstructions = np.asarray(self.reconstructions, dtype=np.float64)
        originals = originals.reshape(originals.shape[0], -1)
        reconstructions = reconstructions.reshape(reconstructions.shape[0], -1)
        if originals.shape != reconstructions.shape:
            raise ValueError(
                f"originals and reconstructions must have the same shape; got "
                f"{originals.shape} and {reconstructions.shape}."
            )
        n_images, n_features = originals.shape
        if n_images < 1:
            raise ValueError("There are no images to plot.")
        image_shape = _check_image_shape(self.image_shape, n_features, "originals")
        if self.clean is None:
            rows = [(originals, "original"), (reconstructions, "reconstruction")]
        else:
            clean = np.asarray(self.clean, dtype=np.float64)
            clean = clean.reshape(clean.shape[0], -1)
            if clean.shape != originals.shape:
                raise ValueError(
                    f"clean and originals must have the same shape; got "
                    f"{clean.shape} and {originals.shape}."
                )
            rows = [
                (clean, "clean"),
                (originals, "noisy input"),
                (reconstructions, "reconstruction"),
            ]
        n_rows = len(rows)

        if ax is None:
            fig, axes = plt.subplots(
                n_rows,
                n_images,
                figsize=(1.2 * n_images + 0.6, 1.4 * n_rows),
                squeeze=False,
            )
        else:
            axes = np.asarray(ax, dtype=object)
            if axes.shape != (n_rows, n_images):
                raise ValueError(
                    f"ax must be an array-like of Axes of shape (n_rows, "
                    f"n_images) = ({n_rows}, {n_images}); got an array of shape "
                    f"{axes.shape}."
                )
            fig = axes[0, 0].figure

        im_kw = {} if im_kw is None else dict(im_kw)
        defaults = {"cmap": cmap}
        if "norm" not in im_kw:  # a norm carries its own limits
            defaults["vmin"] = min(data.min() for data, _ in rows)
            defaults["vmax"] = max(data.max() for data, _ in rows)
        im_kw = {**defaults, **im_kw}
        images = np.empty((n_rows, n_images), dtype=object)
        for row, (data, label) in enumerate(rows):
            for j in range(n_images):
                cell = axes[row, j]
                images[row, j] = cell.imshow(data[j].reshape(image_shape), **im_kw)
                cell.set_xticks([])
                cell.set_yticks([])
            axes[row, 0].set_ylabel(label)

        self.axes_ = axes
        self.images_ = images
        self.figure_ = fig
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        *,
        image_shape,
        X_clean=None,
        n_images=10,
        ax=None,
        cmap="gray_r",
        im_kw=None,
    ):
        """Plot the first rows of X next to their reconstructions.

        The reconstructions are
        ``estimator.inverse_transform(estimator.transform(X_rows))``. For a
        denoiser, pass the noisy samples as ``X`` and their clean versions as
        ``X_clean``: the figure then shows clean, noisy input and
        reconstruction rows.

        Parameters
        ----------
        estimator : estimator instance
            A fitted autoencoder with ``transform`` and ``inverse_transform``.
        X : array-like of shape (n_samples, n_features)
            Samples, one flattened image per row; the first ``n_images`` rows
            are shown (all of them if there are fewer).
        image_shape : tuple of int
            Shape each row is reshaped to for display, e.g. ``(8, 8)``; its
            product must be ``n_features``.
        X_clean : array-like of shape (n_samples, n_features), default=None
            Clean versions of the rows of ``X`` when ``X`` is corrupted (a
            denoiser's noisy input), drawn as a first row above ``X``. None
            draws two rows, ``X`` and its reconstructions.
        n_images : int, default=10
            Number of images to show.
        ax : array-like of matplotlib Axes of shape (n_rows, n_images), default=None
            Axes to draw the images into; ``n_rows`` is 2, or 3 with
            ``X_clean``:

            - If an array-like of Axes of shape (n_rows, n_images) is passed
              in, the clean rows (with ``X_clean``), the rows of ``X`` and
              their reconstructions are drawn into its rows, in that order;
              ``n_images`` is the number of images actually shown.
            - If None, a new figure with an n_rows x n_images grid of axes is
              created.
        cmap : str or matplotlib Colormap, default="gray_r"
            Colormap of the images.
        im_kw : dict, default=None
            Further keyword arguments of :meth:`matplotlib.axes.Axes.imshow`,
            e.g. ``{"vmin": 0, "vmax": 1}`` to fix the colour scale (by
            default it spans the values of all rows).

        Returns
        -------
        ReconstructionDisplay
            The display, with the artists stored as attributes.
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        if (
            isinstance(n_images, bool)
            or not isinstance(n_images, numbers.Integral)
            or n_images < 1
        ):
            raise ValueError(f"n_images must be an int >= 1; got {n_images!r}.")
        # the estimator gets the rows in X's own container (a DataFrame keeps
        # its feature names); the display keeps them as an array
        X_rows = _safe_indexing(X, slice(0, n_images))
        originals = check_array(X_rows)
        image_shape = _check_image_shape(image_shape, originals.shape[1], "X")
        clean = None
        if X_clean is not None:
            check_consistent_length(X, X_clean)
            clean = check_array(_safe_indexing(X_clean, slice(0, n_images)))
            if clean.shape != originals.shape:
                raise ValueError(
                    f"X_clean must have X's shape; X has {originals.shape[1]} "
                    f"features and X_clean has {clean.shape[1]}."
                )
        reconstructions = np.asarray(
            estimator.inverse_transform(estimator.transform(X_rows))
        )
        display = cls(
            originals=originals,
            reconstructions=reconstructions,
            image_shape=image_shape,
            clean=clean,
        )
        return display.plot(ax=ax, cmap=cmap, im_kw=im_kw)


class CodeScatterDisplay:
    """Scatter plot of two components of an autoencoder's codes.

    Use :meth:`from_estimator` to create one from a fitted estimator; all
    parameters are stored as attributes.

    Parameters
    ----------
    codes : array-like of shape (n_samples, n_components)
        The codes, e.g. the output of an estimator's ``transform``.
    labels : array-like of shape (n_samples,), default=None
        Labels colouring the points, e.g. class labels. None draws every
        point in one colour.
    components : tuple of (int, int), default=(0, 1)
        Indices of the code components on the x and y axes.
    estimator_name : str, default=None
        Name of the estimator, used as the title. None means no title.

    Attributes
    ----------
    scatter_ : matplotlib PathCollection
        The scatter plot.
    ax_ : matplotlib Axes
        Axes with the scatter plot.
    figure_ : matplotlib Figure
        Figure containing the scatter plot.

    See Also
    --------
    LossCurveDisplay : Loss per epoch of a fitted estimator.
    ReconstructionDisplay : Images next to their reconstructions.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import CodeScatterDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(2, max_iter=5, random_state=0).fit(X)
    >>> display = CodeScatterDisplay.from_estimator(ae, X, y)
    >>> display.scatter_.get_offsets().shape
    (1797, 2)
    >>> plt.show()
    """

    def __init__(self, codes, labels=None, components=(0, 1), estimator_name=None):
        self.codes = codes
        self.labels = labels
        self.components = components
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, cmap="tab10", **scatter_kwargs):
        """Scatter one code component against another.

        With labels, the points are coloured by label, with a legend of the
        labels when there are at most 20 distinct ones and a colorbar
        otherwise.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a new figure and axes.
        cmap : str or matplotlib Colormap, default="tab10"
            Colormap of the labels; unused without labels.
        **scatter_kwargs : dict
            Further keyword arguments of :meth:`matplotlib.axes.Axes.scatter`.

        Returns
        -------
        CodeScatterDisplay
            The display, with the artists stored as attributes.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        codes = np.asarray(self.codes)
        if codes.ndim != 2:
            raise ValueError(
                f"codes must be 2-dimensional (n_samples, n_components); got "
                f"shape {codes.shape}."
            )
        first, second = _check_components(self.components, codes.shape[1])
        ax = _get_ax(ax)
        x, y = codes[:, first], codes[:, second]

        if self.labels is None:
            self.scatter_ = ax.scatter(x, y, **scatter_kwargs)
        else:
            labels = np.asarray(self.labels).ravel()
            if labels.shape[0] != codes.shape[0]:
                raise ValueError(
                    f"labels has {labels.shape[0]} entries but codes has "
                    f"{codes.shape[0]} rows; they must be equal."
                )
            classes, encoded = np.unique(labels, return_inverse=True)
            # numeric labels colour by value, others by their sorted position
            c = labels if np.issubdtype(labels.dtype, np.number) else encoded
            self.scatter_ = ax.scatter(x, y, c=c, cmap=cmap, **scatter_kwargs)
            if classes.size <= MAX_LEGEND_LABELS:
                # one handle per distinct value of c, in sorted order, which is
                # the order of classes
                handles, _ = self.scatter_.legend_elements(num=None)
                ax.legend(handles, [str(c) for c in classes], title="label")
            else:
                ax.figure.colorbar(self.scatter_, ax=ax, label="label")

        ax.set_xlabel(f"code {first}")
        ax.set_ylabel(f"code {second}")
        if self.estimator_name is not None:
            ax.set_title(self.estimator_name)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y=None,
        *,
        components=(0, 1),
        ax=None,
        cmap="tab10",
        **scatter_kwargs,
    ):
        """Scatter two components of the codes of X.

        Parameters
        ----------
        estimator : estimator instance
            A fitted autoencoder with at least 2 code components.
        X : array-like of shape (n_samples, n_features)
            Samples to encode with ``estimator.transform``.
        y : array-like of shape (n_samples,), default=None
            Labels colouring the points. None draws every point in one colour.
        components : tuple of (int, int), default=(0, 1)
            Indices of the code components on the x and y axes.
        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a new figure and axes.
        cmap : str or matplotlib Colormap, default="tab10"
            Colormap of the labels; unused without labels.
        **scatter_kwargs : dict
            Further keyword arguments of :meth:`matplotlib.axes.Axes.scatter`.

        Returns
        -------
        CodeScatterDisplay
            The display, with the artists stored as attributes.
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        name = type(estimator).__name__
        n_components = getattr(estimator, "n_components_", None)
        if n_components is not None and n_components < 2:
            raise ValueError(
                f"{name} has {n_components} code component(s); a scatter plot "
                "of codes needs at least 2 (fit with n_components >= 2)."
            )
        codes = np.asarray(estimator.transform(X))
        _check_components(components, codes.shape[1])
        display = cls(
            codes=codes,
            labels=None if y is None else np.asarray(y),
            components=components,
            estimator_name=name,
        )
        return display.plot(ax=ax, cmap=cmap, **scatter_kwargs)


class ScoreDistributionDisplay:
    """Histogram of the scores of a model or outlier detector, with its threshold.

    Use :meth:`from_estimator` to create one from a fitted estimator; all
    parameters are stored as attributes.

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
    estimator_name : str, default=None
        Name of the estimator, used as the title. None means no title.

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
        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a new figure and axes.
        bins : int, sequence of float or str, default=30
            Bins, as :func:`numpy.histogram_bin_edges` takes them; computed
            over all the scores and shared by every histogram.
        density : bool, default=True
            Normalise each histogram to unit area, so that a small group
            (the outliers) is as visible as a large one. False draws counts.
        name : str, default=None
            Title of the plot. None uses ``estimator_name``.
        **hist_kwargs : dict
            Further keyword arguments of :meth:`matplotlib.axes.Axes.hist`;
            the defaults are ``histtype="stepfilled"`` and ``alpha=0.5``.

        Returns
        -------
        ScoreDistributionDisplay
            The display, with the artists stored as attributes.
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
        title = name if name is not None else self.estimator_name
        if title is not None:
            ax.set_title(title)
        self.bin_edges_ = edges
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

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
        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a new figure and axes.
        bins : int, sequence of float or str, default=30
            Bins, as :func:`numpy.histogram_bin_edges` takes them; shared by
            every histogram.
        density : bool, default=True
            Normalise each histogram to unit area. False draws counts.
        name : str, default=None
            Title of the plot. None uses the estimator's class name.
        **hist_kwargs : dict
            Further keyword arguments of :meth:`matplotlib.axes.Axes.hist`.

        Returns
        -------
        ScoreDistributionDisplay
            The display, with the artists stored as attributes.
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
