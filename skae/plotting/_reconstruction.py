"""ReconstructionDisplay: images next to their reconstructions."""

import numbers
from math import prod

import numpy as np
from sklearn.utils import check_array, check_consistent_length
from sklearn.utils.validation import check_is_fitted

from .._compat import _safe_indexing, check_matplotlib_support
from ._common import _fill_display_doc


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


@_fill_display_doc
class ReconstructionDisplay:
    """Images next to their reconstructions by an autoencoder.

    {use_from_estimator}

    For a denoiser, whose input is a corrupted version of a clean image, pass
    the clean images as well: the figure then has three rows, the clean
    targets, the noisy inputs and the reconstructions.

    Parameters
    ----------
    originals : array-like of shape (n_images, n_features)
        The samples given to the estimator, one flattened image per row.
    reconstructions : array-like of shape (n_images, n_features)
        Their reconstructions, in the same order.
    {image_shape}
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
        {cmap_images}
        {im_kw}

        {returns}
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
        {image_shape}
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
        {cmap_images}
        {im_kw}

        {returns}
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
