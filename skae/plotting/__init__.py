"""Visualisations of fitted skae models, in scikit-learn's Display style.

Each display holds the data it draws; its ``from_estimator`` classmethod
computes that data from a fitted estimator and calls ``plot``, which draws on
matplotlib axes and keeps the artists as attributes ending in ``_``.

matplotlib is an optional dependency (from a clone:
``pip install -e ".[plot]"``): this module imports without it, and the
displays raise a clear ``ImportError`` when it is missing.
"""

# public as skae.plotting.MAX_LEGEND_LABELS, as before, though not in __all__
from ._code_scatter import MAX_LEGEND_LABELS as MAX_LEGEND_LABELS
from ._code_scatter import CodeScatterDisplay
from ._latent_frequency import LatentFrequencyDisplay
from ._loss_curve import LossCurveDisplay
from ._reconstruction import ReconstructionDisplay
from ._score_breakdown import ScoreBreakdownDisplay
from ._score_distribution import ScoreDistributionDisplay

__all__ = [
    "CodeScatterDisplay",
    "LatentFrequencyDisplay",
    "LossCurveDisplay",
    "ReconstructionDisplay",
    "ScoreBreakdownDisplay",
    "ScoreDistributionDisplay",
]
