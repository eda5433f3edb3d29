"""Where does ``AutoencoderTransformer.fit`` spend the time a plain torch loop does not?

A diagnostic companion to ``bench_fit_speed.py`` (which holds the pass/fail
criterion); this script has no pass/fail of its own.

Question
--------
skorch wraps every training step in hooks: ``notify`` of three callback
events, two ``history.record_batch`` calls, ``get_len``, a closure handed to
``optimizer.step``, and ``_set_training(True)``, which calls
``nn.Module.train()`` on the module and the criterion before *every* batch.
skae's ``TrainingMonitor`` adds its own per-batch work (the divergence guard
in ``on_grad_computed`` and ``on_batch_end``). How many microseconds does each
cost per step, and how much of the gap to a plain loop do candidate changes
in ``skae/_net.py`` close?

How to call it
--------------
::

    python benchmarks/profile_fit_overhead.py [--quick] [--batch-size 32]

Part 1 times single steps with torch on 1 thread, using ``time.thread_time``
(CPU time of the calling thread), so other processes on a shared machine
disturb it little. Part 2 times whole ``fit`` calls in wall-clock seconds
(torch's default threads unless ``--threads``), interleaved with the plain
loop of ``bench_fit_speed.py``, with the candidate changes monkeypatched onto
``skae._net`` classes in this process only; it also checks that every
variant's loss curve equals the loop's.

Candidate changes, applied cumulatively (monkeypatched here, not in the
package):

* ``+ cheap grad guard``: ``TrainingMonitor`` keeps the list of learnable
  parameters from ``on_train_begin`` and, in ``on_grad_computed``, tests
  ``math.isfinite(torch.stack(torch._foreach_norm(grads)).sum().item())``
  instead of ``torch.nn.utils.get_total_norm`` over the ``named_parameters``
  generator (same verdict: finite iff every gradient norm is finite).
* ``+ set_training``: skip ``NeuralNet._set_training`` when every module and
  criterion is already in the requested mode (checks the top-level
  ``.training`` flags only).
* ``+ lean train_step``: ``train_step`` without the closure and step
  accumulator: zero_grad, ``train_step_single``, ``on_grad_computed``,
  ``optimizer.step()`` (fine for Adam; not for closure optimizers like LBFGS).
* ``+ fewer callbacks``: default callbacks reduced to ``train_loss`` (no
  ``epoch_timer``, ``valid_loss``, ``print_log``), as with ``verbose=0`` and no
  validation split.
"""

import argparse
import gc
import math
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import PassthroughScoring
from skorch.dataset import get_len
from skorch.utils import TeeGenerator

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_fit_speed as bench  # noqa: E402

from skae import AutoencoderTransformer  # noqa: E402
from skae._net import AutoencoderNet, TrainingMonitor  # noqa: E402

# ------------------------------------------------------- candidate changes

_monitor_on_train_begin = TrainingMonitor.on_train_begin
_monitor_on_grad_computed = TrainingMonitor.on_grad_computed


def cached_on_train_begin(self, net, **kwargs):
    _monitor_on_train_begin(self, net, **kwargs)
    self.params_ = [p for _, p in net.get_all_learnable_params()]


def cheap_on_grad_computed(self, net, named_parameters, **kwargs):
    grads = [p.grad for p in self.params_ if p.grad is not None]
    if grads:
        total = torch.stack(torch._foreach_norm(grads)).sum().item()
        if not math.isfinite(total):
            self._diverged(net, "gradient norm", total)


def cheap_set_training(self, training=True):
    for name in self._modules + self._criteria:
        module = getattr(self, name + "_")
        if isinstance(module, torch.nn.Module) and module.training is not training:
            return NeuralNet._set_training(self, training)
    return None


def lean_train_step(self, batch, **fit_params):
    self._zero_grad_optimizer()
    step = self.train_step_single(batch, **fit_params)
    self.notify(
        "on_grad_computed",
        named_parameters=TeeGenerator(self.get_all_learnable_params()),
        batch=batch,
        training=True,
    )
    self._step_optimizer(None)
    return step


def few_callbacks(self):
    return [("train_loss", PassthroughScoring(name="train_loss", on_train=True))]


_GUARD = {
    (TrainingMonitor, "on_train_begin"): cached_on_train_begin,
    (TrainingMonitor, "on_grad_computed"): cheap_on_grad_computed,
}
_SET_TRAINING = {(AutoencoderNet, "_set_training"): cheap_set_training}
_LEAN = {(AutoencoderNet, "train_step"): lean_train_step}
_FEW = {(AutoencoderNet, "_default_callbacks"): property(few_callbacks)}

PATCHES = {
    "skae (as is)": {},
    "+ cheap grad guard": _GUARD,
    "+ set_training": {**_GUARD, **_SET_TRAINING},
    "+ lean train_step": {**_GUARD, **_SET_TRAINING, **_LEAN},
    "+ fewer callbacks": {**_GUARD, **_SET_TRAINING, **_LEAN, **_FEW},
}
_ORIGINAL = {
    key: vars(key[0]).get(key[1]) for patch in PATCHES.values() for key in patch
}


def apply(patch):
    """Restore the original classes, then set the attributes in ``patch``."""
    for (cls, name), original in _ORIGINAL.items():
        if original is None:
            if name in vars(cls):
                delattr(cls, name)
        else:
            setattr(cls, name, original)
    for (cls, name), value in patch.items():
        setattr(cls, name, value)


# ----------------------------------------------------- part 1: per step


def per_step(X, batch_size, rounds):
    torch.set_num_threads(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = bench.make_estimator(AutoencoderTransformer, batch_size, 1).fit(X)
    net = est.net_
    mod, crit, opt = net.module_, net.criterion_, net.optimizer_
    monitor = dict(net.callbacks_)["monitor"]
    monitor.params_ = [p for _, p in net.get_all_learnable_params()]
    Xt = torch.from_numpy(((X - X.mean(0)) / X.std()).astype(np.float32))
    gen = torch.Generator().manual_seed(0)
    batches = [
        Xt[torch.randperm(len(Xt), generator=gen)[:batch_size]] for _ in range(50)
    ]
    net.history.new_epoch()

    def loop_step(xb):
        opt.zero_grad()
        reconstruction, _ = mod(xb)
        loss = crit(reconstruction, xb)
        loss.backward()
        opt.step()
        loss.item()

    def skorch_step(xb):  # the body of skorch's run_single_epoch
        batch = (xb, xb)
        net.history.new_batch()  # skorch's history bookkeeping does this too
        net.notify("on_batch_begin", batch=batch, training=True)
        step = net.train_step(batch)
        net.history.record_batch("train_loss", step["loss"].item())
        net.history.record_batch("train_batch_size", get_len(batch[0]))
        net.notify("on_batch_end", batch=batch, training=True, **step)

    def patched(name):
        def run(xb):
            skorch_step(xb)

        run.patch = PATCHES[name]
        return run

    def grad_computed(xb):
        net.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(net.get_all_learnable_params()),
            batch=(xb, xb),
            training=True,
        )

    def monitor_guard(xb):
        _monitor_on_grad_computed(
            monitor, net, TeeGenerator(net.get_all_learnable_params())
        )

    def cheap_guard(xb):
        cheap_on_grad_computed(monitor, net, None)

    def batch_begin_end(xb):
        batch = (xb, xb)
        net.history.new_batch()
        net.notify("on_batch_begin", batch=batch, training=True)
        net.history.record_batch("train_loss", 1.0)
        net.history.record_batch("train_batch_size", get_len(batch[0]))
        net.notify("on_batch_end", batch=batch, training=True, loss=None, y_pred=None)

    fns = {
        "plain loop step": loop_step,
        # callbacks are built at initialize, so "+ fewer callbacks" shows in part 2
        **{
            f"skorch step, {name}": patched(name)
            for name in PATCHES
            if name != "+ fewer callbacks"
        },
        "  _set_training(True)": lambda xb: net._set_training(True),
        "  notify('on_grad_computed')": grad_computed,
        "    TrainingMonitor.on_grad_computed": monitor_guard,
        "    candidate cheap guard": cheap_guard,
        "  notify begin/end, record_batch, get_len": batch_begin_end,
        "    get_len(batch) alone": lambda xb: get_len(xb),
    }
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            apply(getattr(fn, "patch", {}))
            gc.collect()
            start = time.thread_time()
            for _ in range(4):
                for xb in batches:
                    fn(xb)
            times[name].append((time.thread_time() - start) / 200 * 1e6)
            apply({})
    base = statistics.median(times["plain loop step"])
    print(
        f"Part 1: CPU time per step, torch on 1 thread, digits, batch {batch_size} "
        f"(median of {rounds} rounds of 200 steps; indented rows: one piece alone)"
    )
    print(f"{'what':<45} {'us/step':>8} {'vs loop':>8}")
    for name, ts in times.items():
        med = statistics.median(ts)
        extra = f"{med - base:+8.1f}" if not name.startswith("  ") else ""
        print(f"{name:<45} {med:8.1f} {extra:>8}")
    torch.set_num_threads(DEFAULT_THREADS)


# ------------------------------------------------------- part 2: whole fit


def whole_fit(X, name, batch_size, epochs, repeats):
    def run_variant(variant):
        if variant == "loop":
            return bench.fit_loop(X, batch_size, epochs)
        apply(PATCHES[variant])
        try:
            return bench.fit_skae(X, batch_size, epochs)
        finally:
            apply({})

    variants = ["loop", *PATCHES]
    for v in variants:  # warm-up
        run_variant(v)
    times = {v: [] for v in variants}
    curves = {}
    for i in range(repeats):
        for v in variants if i % 2 == 0 else variants[::-1]:
            gc.collect()
            start = time.perf_counter()
            curves[v] = run_variant(v)
            times[v].append(time.perf_counter() - start)
    loop_med, loop_min = statistics.median(times["loop"]), min(times["loop"])
    for v in variants:
        med = statistics.median(times[v])
        same = "yes" if curves[v] == curves["loop"] else "NO"
        print(
            f"{name:<10} {batch_size:>5} {v:<20} {med:>8.3f} {med / loop_med:>6.3f} "
            f"{min(times[v]) / loop_min:>9.3f} {same:>12}",
            flush=True,
        )


DEFAULT_THREADS = torch.get_num_threads()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    global DEFAULT_THREADS
    DEFAULT_THREADS = torch.get_num_threads()
    repeats = 3 if args.quick else 5
    print(__doc__.split("\n")[0])
    print(
        f"torch threads = {DEFAULT_THREADS}, torch {torch.__version__}, "
        f"skae from {Path(bench.__file__).resolve().parent.parent}"
    )
    print()
    X = bench.digits()
    per_step(X, args.batch_size, rounds=3 if args.quick else 7)
    print()
    print(
        f"Part 2: whole fit, wall-clock, {DEFAULT_THREADS} torch threads, 20 epochs, "
        f"{repeats} interleaved repetitions"
    )
    print(
        f"{'data':<10} {'batch':>5} {'variant':<20} {'median s':>8} {'ratio':>6} "
        f"{'min ratio':>9} {'curve=loop':>12}"
    )
    for bs in (32, 128, 512):
        whole_fit(X, "digits", bs, 20, repeats)


if __name__ == "__main__":
    main()
