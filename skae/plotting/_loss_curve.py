"""LossCurveDisplay: the loss per epoch of a fitted autoencoder."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._compat import check_matplotlib_support
from ._common import _fill_display_doc, _get_ax, _keep_axes, _set_title


@_fill_display_doc
class LossCurveDisplay:
    """Training (and validation) loss curve of a fitted autoencoder.

    {use_from_estimator}

    Parameters
    ----------
    train_loss : array-like of shape (n_epochs,)
        Training loss of each epoch, e.g. an estimator's ``loss_curve_``.
    validation_loss : array-like of shape (n_epochs,), default=None
        Validation loss of each epoch, or None when there is none. Note that
        an estimator's ``validation_scores_`` are *minus* the validation loss.
    {estimator_name}

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
        {ax}
        {name_plot}

        {returns}
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
        _set_title(ax, name, self.estimator_name)
        return _keep_axes(self, ax)

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
        {ax}
        {name_from_estimator}

        {returns}
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
