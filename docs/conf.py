"""Sphinx configuration of skae's documentation.

Build it with ``python -m sphinx -W -b html docs docs/_build/html`` (after
``pip install -e ".[docs]"``); ``-W`` turns every warning, numpydoc's
docstring validation included, into an error.
"""

import os
import sys
import warnings
from pathlib import Path

import skae

os.environ.setdefault("MPLBACKEND", "Agg")

project = "skae"
author = "the skae developers"
copyright = "2026, the skae developers"
release = skae.__version__
version = release

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "examples/GALLERY_HEADER.rst", "auto_examples/*.ipynb"]
templates_path = ["_templates"]

# Markdown pages link to each other's sections (``benchmarks.md#...``)
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]

autosummary_generate = True
# the class template documents inherited members too: fit, transform and the
# rest live on skae's private base class (a False default here hid them all)
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# every public docstring must pass numpydoc's validator; the checks left out
# ask for things we do not write for every object (extended summaries, "See
# Also" and examples sections), or, like scikit-learn, name the return value
numpydoc_validation_checks = {"all", "ES01", "SA01", "EX01", "GL01", "GL02", "RT02"}
# methods inherited unchanged from scikit-learn are validated upstream
numpydoc_validation_exclude = {
    r"\.get_params$",
    r"\.set_params$",
    r"\.set_output$",
    r"\.fit_transform$",
    r"\.get_metadata_routing$",
    r"\.get_feature_names_out$",
}

intersphinx_mapping = {}  # CI has no network: no cross-project links

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "reset_modules": ("matplotlib",),
}

html_theme = "pydata_sphinx_theme"
html_title = f"skae {release}"
# The layout, checked at 1280 and 800 px by docs/check_layout.py:
# - every top-level page is a link in the header (no "More" menu; the
#   toctree in index.md gives them short names), with search as a button
#   rather than a wide field, so that they fit on one row at 1280 px;
# - one sidebar, on the left, on every page: the whole site (the current
#   page's children unfolded) and below it the page's own sections and its
#   source link, which the theme puts in a second sidebar on the right;
#   without that one the text
#   column takes the width the right sidebar held (645 px at 1280 before);
# - custom.css: code scrolls sideways and never wraps, tables scroll
#   sideways instead of being cut off (table-scroll.js fades the edge a
#   table goes on past), the text column takes the width.
html_theme_options = {
    "navigation_with_keys": False,
    "header_links_before_dropdown": 9,
    "navbar_persistent": ["search-button"],
    "secondary_sidebar_items": [],
}
html_sidebars = {"**": ["sidebar-site-nav", "page-toc", "sourcelink"]}
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_js_files = ["table-scroll.js"]
# "On this page" of an API page lists fit(), transform(), ... rather than
# AutoencoderTransformer.fit(), which ran out of the sidebar at 1280 px
toc_object_entries_show_parents = "hide"

sys.path.insert(0, str(Path(__file__).resolve().parent))
warnings.filterwarnings("ignore", category=UserWarning, message=".*non-GUI backend.*")
