"""The one import site of private scikit-learn API, and the one override of a
private skorch method.

Neither library promises these names; keeping them here means a rename
upstream is fixed in one place.
"""

import torch
from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._mask import _get_mask
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils._set_output import _get_container_adapter
from sklearn.utils.validation import (
    _check_feature_names_in,
    _check_sample_weight,
    _num_samples,
    validate_data,
)

try:  # scikit-learn >= 1.8 moved it out of sklearn.utils
    from sklearn.utils._optional_dependencies import check_matplotlib_support
except ImportError:  # pragma: no cover
    from sklearn.utils import check_matplotlib_support


class FastTrainingMode:
    """Mixin for a skorch ``NeuralNet``: skip ``Module.train()`` when the
    modules are already in the requested mode.

    skorch calls the private ``NeuralNet._set_training`` before every batch,
    and ``Module.train`` walks the whole module tree each time: on the small
    nets skae trains by default that walk costs a measurable share of the
    step. Checked on skorch 1.0.0, 1.2.0 and 1.4.0, where ``_set_training(training)``
    calls ``.train(training)`` on every module and criterion.
    """

    def _set_training(self, training=True):
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and module.training != training:
                return super()._set_training(training)
        return None


__all__ = [
    "FastTrainingMode",
    "HasMethods",
    "Interval",
    "StrOptions",
    "_check_feature_names_in",
    "_check_sample_weight",
    "_fit_context",
    "_get_container_adapter",
    "_get_mask",
    "_num_samples",
    "_safe_indexing",
    "check_matplotlib_support",
    "validate_data",
]
