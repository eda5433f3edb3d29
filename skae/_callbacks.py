"""skae's own skorch callbacks: the epoch means of batch scores, and the
training monitor (divergence guard, stopping rule, best-weights restore).
The history helpers they share with the nets and the estimators sit here
too."""

import math

import torch
from skorch.callbacks import Callback, PassthroughScoring


def history_column(history, key):
    """``history[:, key]`` as floats: the values of ``key`` in the epochs
    that have it, a KeyError when none has, without skorch's ``History``
    indexing (about 1 µs an epoch, paid at the end of every call of a
    stream, whose history grows by an epoch a call)."""
    values = [float(epoch[key]) for epoch in history if key in epoch]
    if history and not values:
        raise KeyError(f"Key {key!r} was not found in history.")
    return values


def batch_row(net):
    """The history row of the batch in progress, in constant time.

    ``net.history[-1]["batches"][-1]``, without skorch's ``History`` indexing,
    which copies the list of epochs on every call (``History.to_list``): read
    once a batch, that copy would grow with the epochs so far (0.7 µs a read
    after 20 epochs, 6 µs after 2000; 0.1 µs this way).
    """
    return list.__getitem__(net.history, -1)["batches"][-1]


class EpochMean(PassthroughScoring):
    """skorch's ``PassthroughScoring`` (an epoch's batch-size weighted mean
    of a batch score, and whether it is the best yet), reading the epoch's
    batch rows directly: the history's column indexing that skorch's own
    does, and numpy's average, cost as much as a small net's batch."""

    def on_epoch_end(self, net, **kwargs):
        size = ("train" if self.on_train else "valid") + "_batch_size"
        rows = [row for row in net.history[-1]["batches"] if self.name in row]
        # the weighted mean, in exactly rounded sums (numpy's average of a
        # few dozen numbers costs more than a small net's batch)
        weighted = math.fsum(row[size] * row[self.name] for row in rows)
        total = math.fsum(row[size] for row in rows)
        ranks = getattr(net, "ranks_", None)
        if ranks is not None:  # a data-parallel run: over every rank's rows
            weighted, total = (float(v) for v in ranks.sum([weighted, total]))
        if not total:  # no validation data, say
            return
        score = weighted / total
        is_best = self._is_best_score(score)
        if is_best:
            self.best_score_ = score
        net.history.record(self.name, score)
        if is_best is not None:
            net.history.record(self.name + "_best", bool(is_best))


class TrainingDiverged(ValueError):
    """The loss or the weights became non-finite during training, or a fit's
    loss blew up (see :class:`TrainingMonitor`)."""


#: A fit "blew up" when its final training loss is more than this many times
#: its reference: the loss of the first batch of the call (the network as it
#: was before the first step), or 1, whichever is larger. In the normalised
#: units skae trains in, predicting the mean costs about 1 (mse) or less
#: (bce), so a final loss ten times that is no fit at all; a loss that only
#: fell to a poor value is not a blow-up.
BLOWUP = 10.0


class TrainingMonitor(Callback):
    """Divergence guard, stopping rule, best-weights restore and epoch count.

    A non-finite training or validation loss raises :class:`TrainingDiverged`
    in the batch it appears in (in a data-parallel run, on every rank at the
    epoch's end); non-finite weights raise it when training
    ends. A non-finite gradient behind a finite loss (``sqrt`` at 0, say) is
    caught one of these two ways: the optimizer's step carries it into the
    weights, which make the next batch's loss non-finite, or, after the last
    step, are the weights the fit would return. The guard reads the loss the
    history records anyway and the weights once a fit, so it adds nothing to
    a training step (a check of the gradients before every step cost small
    nets 3% of their training time); the estimator trains a copy, so the
    weights a failed fit leaves are thrown away with it.

    Watches ``monitor`` (``"train_loss"`` or ``"valid_loss"``) at the end of
    each epoch. When it has not improved by at least ``tol`` for ``patience``
    epochs in a row, training stops. Epochs before ``start`` (counted in the
    net's history, so across warm starts) are not judged: a warm-up, or the
    rising half of a one-cycle schedule, must not stop a fit. With
    ``restore_best`` (a validation loss, always the final objective) the
    weights of the best epoch of all are loaded back when training ends, as
    scikit-learn's MLP keeps its best coefficients.

    It stops training the way skorch's callbacks do, by raising
    ``KeyboardInterrupt``, and records that it did (``converged_``); the
    estimator tells a user's Ctrl-C apart by the signal itself.

    With ``blowup_check`` (``fit``, not ``partial_fit``), a loss that stayed
    finite but blew up raises :class:`TrainingDiverged` too, when training
    ends: the final epoch's training loss (or, with ``restore_best``, the
    best monitored loss) above :data:`BLOWUP` times the larger of 1 and the
    loss of the call's first batch. A too large ``learning_rate_init`` under
    the one-cycle schedule does that: the loss explodes early, and the
    schedule's annealing then keeps it finite (and huge) to the end.
    """

    def __init__(
        self,
        monitor="train_loss",
        patience=10,
        tol=1e-4,
        restore_best=False,
        start=0,
        blowup_check=False,
    ):
        self.monitor = monitor
        self.patience = patience
        self.tol = tol
        self.restore_best = restore_best
        self.start = start
        self.blowup_check = blowup_check

    def on_train_begin(self, net, **kwargs):
        self.best_ = math.inf
        self.best_epoch_ = None
        self.misses_ = 0
        self.kept_ = math.inf
        self.kept_epoch_ = None
        self.best_state_ = None
        self.epochs_ = 0
        self.converged_ = False
        self.params_ = [p for _, p in net.get_all_learnable_params()]
        self.first_loss_ = None
        self.diverged_ = None

    def on_batch_end(self, net, training=False, **kwargs):
        # the net has just recorded the batch loss as a Python float (read
        # from the row itself: the history's column indexing costs more)
        name = "train_loss" if training else "valid_loss"
        loss = batch_row(net)[name]
        if not math.isfinite(loss):
            if getattr(net, "ranks_", None) is None:
                self._diverged(net, name.replace("_", " "), loss)
            # a data-parallel run goes on to the epoch's end, where every
            # rank raises together (one leaving alone would leave the others
            # waiting in the next gradient all-reduce)
            self.diverged_ = self.diverged_ or (name.replace("_", " "), loss)
        if training and self.first_loss_ is None:
            self.first_loss_ = loss  # computed before the first step

    def _check_weights(self, net):
        # one fused kernel: the sum of the norms is finite iff every weight is
        with torch.no_grad():
            total = torch.stack(torch._foreach_norm(self.params_)).sum().item()
        if not math.isfinite(total):
            self._diverged(net, "weights' norm", total)

    def _diverged(self, net, what, value):
        raise TrainingDiverged(
            f"Training diverged in epoch {len(net.history)}: the {what} became "
            f"{value}. The estimator was left as it was before this fit. Lower "
            f"learning_rate_init (now {net.lr}), or look for extreme values in X."
        )

    def on_epoch_end(self, net, **kwargs):
        ranks = getattr(net, "ranks_", None)
        if ranks is not None and ranks.max([self.diverged_ is not None])[0]:
            self._diverged(net, *(self.diverged_ or ("loss of another rank", math.nan)))
        self.epochs_ += 1
        if self.restore_best:
            # the weights kept are the best epoch's of all (any improvement,
            # judged or not), as scikit-learn's MLP keeps its coefficients:
            # those that best_validation_score_ reports
            loss = net.history[-1, self.monitor]
            if loss < self.kept_:
                self.kept_ = loss
                self.kept_epoch_ = len(net.history)
                self.best_state_ = {
                    k: v.detach().clone() for k, v in net.module_.state_dict().items()
                }
        if len(net.history) <= self.start:
            return
        loss = net.history[-1, self.monitor]
        if loss < self.best_ - self.tol:
            self.best_ = loss
            self.best_epoch_ = len(net.history)
            self.misses_ = 0
        else:
            self.misses_ += 1
        if self.misses_ >= self.patience:
            self.converged_ = True
            raise KeyboardInterrupt  # skorch's way to end the loop

    def on_train_end(self, net, **kwargs):
        self.restored_ = self.best_state_ is not None
        if self.restored_:
            net.module_.load_state_dict(self.best_state_)
        self.best_state_ = None  # a fitted model keeps no copies
        self._check_weights(net)  # the weights the fit returns
        self.params_ = None
        if self.blowup_check:
            self._check_blowup(net)

    def _check_blowup(self, net):
        if not self.epochs_ or self.first_loss_ is None:
            return
        epochs = [e for e in net.history[-self.epochs_ :] if "train_loss" in e]
        if not epochs:
            return
        ranks = getattr(net, "ranks_", None)
        if ranks is not None:  # one decision for every rank of a data-parallel run
            self.first_loss_ = float(ranks.max([self.first_loss_])[0])
        final = self.kept_ if self.restored_ else float(epochs[-1]["train_loss"])
        which = "best validation" if self.restored_ else "training"
        reference = max(self.first_loss_, 1.0)
        if final > BLOWUP * reference:
            raise TrainingDiverged(
                f"Training diverged: the {which} loss "
                f"ended at {final:.3g}, over {BLOWUP:g} times the loss before the "
                f"first step ({self.first_loss_:.3g}, or 1 if less): it blew up, "
                "though it stayed finite (a learning-rate schedule that anneals "
                "keeps it so). The estimator was left as it was before this fit. "
                "Lower learning_rate_init (now "
                f"{net.lr}), or look for extreme values in X."
            )
