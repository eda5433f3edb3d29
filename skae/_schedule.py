"""The learning-rate schedule of a fit, and its epoch budget.

``learning_rate="one_cycle"`` runs torch's :class:`~torch.optim.lr_scheduler.
OneCycleLR` (Smith & Topin, 2019) over the fit's epochs, stepped after every
batch: the rate rises from ``learning_rate_init / 25`` to
``learning_rate_init`` over the first 30% of the steps, then falls along a
cosine to ``learning_rate_init / 250000``, while Adam's β₁ moves the other way
between 0.95 and 0.85 (torch's defaults). ``"constant"`` keeps
``learning_rate_init`` throughout. ``partial_fit`` has no horizon to schedule
over and always trains at ``learning_rate_init``.

``max_iter="auto"`` gives a fit about :data:`STEP_BUDGET` optimizer steps,
in at most :data:`MAX_AUTO_EPOCHS` epochs: the schedule's length follows the
work, not the size of the data set.
"""

import math

from skorch.callbacks import Callback
from torch.optim.lr_scheduler import OneCycleLR

from ._data import training_batch_count

#: Optimizer steps that ``max_iter="auto"`` aims at: on MNIST-5k's 4000
#: training rows at ``batch_size=128`` that is 79 epochs, where the one-cycle
#: schedule reached its measured quality (benchmarks page, *Quality against
#: PCA*).
STEP_BUDGET = 2500

#: The most epochs ``max_iter="auto"`` gives (small data sets).
MAX_AUTO_EPOCHS = 200

#: The fraction of the steps over which the rate climbs to its peak (torch's
#: default); the stopping rule judges only the epochs after it.
PEAK_AT = 0.3


def first_judged_epoch(epochs_before, epochs):
    """The first epoch (counted over the net's history) whose loss the
    stopping rule judges in a one-cycle fit of ``epochs`` epochs: while the
    rate climbs to its peak the loss need not fall, and a fit stopped there
    would never anneal."""
    return epochs_before + math.ceil(PEAK_AT * epochs)


def auto_epochs(n_train_rows, batch_size, batches=None):
    """The epochs of ``max_iter="auto"`` for ``n_train_rows`` rows, or for
    epochs of ``batches`` steps when given (a data-parallel run's)."""
    if batches is None:
        batches = training_batch_count(n_train_rows, batch_size)
    batches = max(1, batches)
    return max(1, min(MAX_AUTO_EPOCHS, math.ceil(STEP_BUDGET / batches)))


class OneCycle(Callback):
    """Step torch's ``OneCycleLR`` after every training batch of a fit of
    ``epochs`` epochs; the step count is read off the first epoch's training
    set (its batches as the training epoch runs them), so it is exact with or
    without a validation split."""

    def __init__(self, epochs):
        self.epochs = epochs

    def initialize(self):
        self.scheduler_ = None
        self.steps_left_ = 0
        return self

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.scheduler_ is None:
            ranks = getattr(net, "ranks_", None)  # a data-parallel run's steps
            batches = (
                training_batch_count(len(dataset_train), net.batch_size)
                if ranks is None
                else ranks.steps
            )
            total = max(2, self.epochs * batches)
            self.scheduler_ = OneCycleLR(
                net.optimizer_, max_lr=net.lr, total_steps=total, pct_start=PEAK_AT
            )
            self.steps_left_ = total - 1

    def on_batch_end(self, net, training=False, **kwargs):
        if training and self.steps_left_ > 0:
            self.scheduler_.step()
            self.steps_left_ -= 1

    def on_train_end(self, net, **kwargs):
        # the scheduler holds the optimizer (and Adam's moments): a fitted
        # model's pickle must not
        self.scheduler_ = None
