"""CodeScatterDisplay: a scatter plot of two components of the codes."""

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._compat import check_matplotlib_support
from ._common import _fill_display_doc, _get_ax, _keep_axes

#: Above this many distinct labels, CodeScatterDisplay draws a colorbar
#: instead of a legend.
MAX_LEGEND_LABELS = 20


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


@_fill_display_doc
class CodeScatterDisplay:
    """Scatter plot of two components of an autoencoder's codes.

    {use_from_estimator}

    Parameters
    ----------
    codes : array-like of shape (n_samples, n_components)
        The codes, e.g. the output of an estimator's ``transform``.
    labels : array-like of shape (n_samples,), default=None
        Labels colouring the points, e.g. class labels. None draws every
        point in one colour.
    {components}
    {estimator_name}

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
        {ax}
        {cmap_labels}
        {scatter_kwargs}

        {returns}
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
        return _keep_axes(self, ax)

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
        {components}
        {ax}
        {cmap_labels}
        {scatter_kwargs}

        {returns}
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
