"""The one import site of private scikit-learn API.

scikit-learn does not promise these names; keeping them here means a rename
upstream is fixed in one place.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

__all__ = ["Interval", "StrOptions", "_fit_context", "validate_data"]
