"""Helpers shared by the displays of :mod:`skae.plotting`."""


def _get_ax(ax):
    """``ax``, or the axes of a new figure when ``ax`` is None."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    return ax


def _set_title(ax, name, estimator_name):
    """Title ``ax`` with ``name``, else ``estimator_name``; None for both: none."""
    title = name if name is not None else estimator_name
    if title is not None:
        ax.set_title(title)
