"""Progress output for ``verbose``: plain lines (never colour codes) or a tqdm
bar on a terminal, and a closing line that says why training stopped."""

import math
import sys
import time

from skorch.callbacks import Callback

#: History columns shown per epoch, in this order, when present.
_COLUMNS = (
    "train_loss",
    "valid_loss",
    "train_reconstruction",
    "train_kl",
    "kl_weight",
)


def _duration(seconds):
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes} min {seconds:02d} s"


class EpochLog(Callback):
    """Report training progress.

    ``verbose=1``: a tqdm progress bar over the epochs when tqdm is installed
    and standard error is a terminal, otherwise one plain line per epoch;
    ``verbose=2``: one plain line per epoch with every recorded term. Each
    line reads ``epoch k/N``, the losses, the epoch's time and the time left
    at most (if every epoch up to ``max_iter`` runs). A header comes first
    and a closing line says why training stopped (the stopping rule, with
    the restored epoch; a callback; max_iter).
    """

    def __init__(self, verbose=1, title="", out=None):
        self.verbose = verbose
        self.title = title
        self.out = out

    def _stream(self):
        return self.out if self.out is not None else sys.stdout

    def _print(self, line):
        if getattr(self, "bar_", None) is not None:
            self.bar_.write(line, file=self._stream())
        else:
            print(line, file=self._stream(), flush=True)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.first_ = len(net.history)
        self.total_ = self.first_ + net.max_epochs
        self.started_ = time.perf_counter()
        self.bar_ = None
        self._print(
            f"{self.title}: up to {net.max_epochs} epochs of {len(X)} rows, "
            f"batch_size={net.batch_size}, on {net.device}"
        )
        if self.verbose == 1 and sys.stderr.isatty():
            try:
                from tqdm.auto import tqdm
            except ImportError:  # pragma: no cover - tqdm comes with skorch
                return
            self.bar_ = tqdm(total=net.max_epochs, unit="epoch", leave=True)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        values = {k: row[k] for k in _COLUMNS if k in row}
        if self.verbose == 1:
            values = {k: v for k, v in values.items() if k.endswith("_loss")}
        if self.bar_ is not None:
            self.bar_.set_postfix({k: f"{v:.4g}" for k, v in values.items()})
            self.bar_.update(1)
            return
        epoch = len(net.history)
        elapsed = time.perf_counter() - self.started_
        per_epoch = elapsed / max(epoch - self.first_, 1)
        left = per_epoch * (self.total_ - epoch)
        width = len(str(self.total_))
        terms = "  ".join(f"{k.replace('_', ' ')} {v:.5g}" for k, v in values.items())
        self._print(
            f"epoch {epoch:>{width}}/{self.total_}  {terms}  "
            f"{_duration(row['dur'])}, at most {_duration(left)} left"
        )

    def on_train_end(self, net, **kwargs):
        if self.bar_ is not None:
            self.bar_.close()
            self.bar_ = None
        monitor = dict(net.callbacks_).get("monitor")
        epoch = len(net.history)
        took = _duration(time.perf_counter() - self.started_)
        if monitor is not None and monitor.converged_:
            which = monitor.monitor.replace("_", " ")
            line = (
                f"stopped after epoch {epoch}: the {which} improved by less than "
                f"tol={monitor.tol:g} for {monitor.patience} epochs"
            )
            if getattr(monitor, "restored_", False):
                line += (
                    f"; restored the weights of epoch {monitor.kept_epoch_} "
                    f"(best {which} {monitor.kept_:.5g})"
                )
        elif epoch < self.total_:
            line = f"stopped after epoch {epoch} by a callback"
        else:
            line = f"reached max_iter: {epoch - self.first_} epochs"
            if math.isfinite(getattr(monitor, "patience", math.inf)):
                line += " (the stopping rule did not fire)"
        self._print(f"{line}; {took} in all")
