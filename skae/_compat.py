"""The one import site of private scikit-learn API.

scikit-learn does not promise these names; keeping them here means a rename
upstream is fixed in one place.
"""

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import validate_data

try:  # scikit-learn >= 1.8 moved it out of sklearn.utils
    from sklearn.utils._optional_dependencies import check_matplotlib_support
except ImportError:  # pragma: no cover
    from sklearn.utils import check_matplotlib_support

__all__ = [
    "HasMethods",
    "Interval",
    "StrOptions",
    "_fit_context",
    "_safe_indexing",
    "check_matplotlib_support",
    "validate_data",
]
