"""Helpers shared by the displays of :mod:`skae.plotting`."""

import re

#: Parameter and section text shared by several docstrings of the displays,
#: written once here and spliced in by :func:`_fill_display_doc`; each entry is
#: unindented, and takes the indentation of its placeholder's line.
_SHARED_DOCS = {
    "use_from_estimator": """\
Use :meth:`from_estimator` to create one from a fitted estimator; all
parameters are stored as attributes.""",
    "estimator_name": """\
estimator_name : str, default=None
    Name of the estimator, used as the title. None means no title.""",
    "ax": """\
ax : matplotlib Axes, default=None
    Axes to draw on. None creates a new figure and axes.""",
    "name_plot": """\
name : str, default=None
    Title of the plot. None uses ``estimator_name``.""",
    "name_from_estimator": """\
name : str, default=None
    Title of the plot. None uses the estimator's class name.""",
    "components": """\
components : tuple of (int, int), default=(0, 1)
    Indices of the code components on the x and y axes.""",
    "cmap_labels": """\
cmap : str or matplotlib Colormap, default="tab10"
    Colormap of the labels; unused without labels.""",
    "scatter_kwargs": """\
**scatter_kwargs : dict
    Further keyword arguments of :meth:`matplotlib.axes.Axes.scatter`.""",
    "image_shape": """\
image_shape : tuple of int
    Shape each row is reshaped to for display, e.g. ``(8, 8)``; its
    product must be ``n_features``.""",
    "cmap_images": """\
cmap : str or matplotlib Colormap, default="gray_r"
    Colormap of the images.""",
    "im_kw": """\
im_kw : dict, default=None
    Further keyword arguments of :meth:`matplotlib.axes.Axes.imshow`,
    e.g. ``{"vmin": 0, "vmax": 1}`` to fix the colour scale (by
    default it spans the values of all rows).""",
    "returns": """\
Returns
-------
{display}
    The display, with the artists stored as attributes.""",
}

# a placeholder stands alone on its line: ``{name}`` after the indentation
_PLACEHOLDER = re.compile(r"^( *)\{(\w+)\}$", flags=re.MULTILINE)


def _fill(doc, display):
    def entry(match):
        indent, name = match.groups()
        text = _SHARED_DOCS[name].replace("{display}", display)
        return indent + text.replace("\n", "\n" + indent)

    return doc if doc is None else _PLACEHOLDER.sub(entry, doc)


def _fill_display_doc(cls):
    """Splice :data:`_SHARED_DOCS` into the docstrings of a display class, of
    its ``plot`` and of its ``from_estimator``, in place of each line that is
    only a ``{placeholder}``; ``{display}`` in the text is the class name."""
    cls.__doc__ = _fill(cls.__doc__, cls.__name__)
    cls.plot.__doc__ = _fill(cls.plot.__doc__, cls.__name__)
    from_estimator = cls.from_estimator.__func__
    from_estimator.__doc__ = _fill(from_estimator.__doc__, cls.__name__)
    return cls


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


def _keep_axes(display, ax):
    """Store ``ax`` and its figure on ``display`` as ``ax_`` and ``figure_``;
    return ``display`` (the end of a single-axes display's ``plot``)."""
    display.ax_ = ax
    display.figure_ = ax.figure
    return display
