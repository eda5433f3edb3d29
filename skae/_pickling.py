"""A pickle of an estimator read back (``joblib.load``, ``copy.deepcopy``,
the processes of a parallel search): :class:`PickleState`, a mixin of
:class:`~skae._base.BaseAutoencoder`. ``skae.save`` / ``skae.load``, the
model file that runs no code, are in :mod:`skae._persistence`.
"""

import torch

from ._params import ADDED_PARAMS
from ._training import warn_at_caller


class PickleState:
    """Mixin of :class:`~skae._base.BaseAutoencoder`: a pickle (``joblib``,
    ``copy.deepcopy``, a parallel search's processes) read back, older ones
    included; the model file of :func:`skae.save` is the other way."""

    def __setstate__(self, state):
        # a pickle from before a parameter existed: its older behaviour
        state = {**ADDED_PARAMS, **state}
        fitted = state.get("_fitted_params")
        if fitted is not None:
            state["_fitted_params"] = {**ADDED_PARAMS, **fitted}
        super().__setstate__(state)
        # skorch unpickles a GPU-trained net_ onto the CPU when this machine
        # has no GPU (with its DeviceWarning); say so in ``device`` too, as
        # skae.load does, so that it names the device actually used
        net = state.get("net_")
        if (
            net is not None
            and str(self.device).startswith(("cuda", "mps", "xpu"))
            and torch.device(net.device).type == "cpu"
        ):
            warn_at_caller(
                f"This model was pickled with device={self.device!r}, which is not "
                "available here; it is loaded on the CPU (its device parameter is "
                "now 'cpu').",
                UserWarning,
            )
            self.device = "cpu"
