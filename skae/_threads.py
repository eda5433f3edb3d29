"""How many intra-op threads a CPU fit trains on.

torch starts one intra-op thread per core. For a small network a batch is a
few microseconds of arithmetic, and waking the other threads costs more than
they save; on a machine whose other cores are busy, every parallel region
also waits for a thread that is not scheduled. Both make the default the
slow choice (see the thread-policy section of the benchmarks page), so a CPU
fit chooses:

- **The caller's setting, untouched**, when the caller chose one:
  ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` in the environment, or a thread
  count different from the one torch had when skae was imported
  (``torch.set_num_threads``, a ``threadpoolctl.threadpool_limits`` block,
  joblib's limits in its worker processes).
- **One thread** when another skae fit is training in another thread of the
  process (they already share the cores), and when a batch is less work than
  :data:`ONE_THREAD_BELOW` floating-point operations (forward pass, as
  ``torch.utils.flop_counter`` counts it), the crossover measured by
  ``benchmarks/bench_threads.py``.
- Otherwise **whichever of one thread and the caller's count is faster**,
  timed on the fit's own batches: a few batches on one thread, then (after
  one untimed batch that wakes the other threads) a few on the caller's
  count, at the start and again every :data:`REPROBE_EVERY`
  batches, so that a core taken by another process is noticed. Training
  starts on one thread, and a probe batch on more threads that is much
  slower ends the probe at once: on a busy machine such a batch can take
  tens of times longer.

A ``partial_fit`` (or a warm start) with the same ``batch_size`` goes on
where the net's last run in this process left off: its choice, and its
count of batches to the next probe. A stream of small chunks would
otherwise spend most of its batches probing, or on one thread while two
are faster.

The count is set for the training thread only and put back when the fit
ends, however it ends. With torch 2.13.0+cpu the same ``random_state`` gave
the same weights on one and two threads, bit for bit (tested).
"""

import os
import secrets
import threading
import time
from contextlib import contextmanager
from statistics import median

import torch
from skorch.callbacks import Callback

#: A batch with fewer forward floating-point operations than this trains on
#: one thread (measured on the 2-core machine of the benchmarks page).
ONE_THREAD_BELOW = 1.0e7
#: Batches timed at each count per probe.
PROBE_BATCHES = 4
#: Batches between two probes.
REPROBE_EVERY = 300
#: Batches skipped before the first probe (allocations, caches).
WARMUP_BATCHES = 2
#: A probe batch on more threads this many times slower than one thread's
#: median ends the probe at once (one thread chosen).
ABANDON_AT = 1.5

#: Environment variables by which a user sets the thread count.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")

#: Process-wide: torch's thread count is one per process. The count the
#: process started with tells the caller's own choice from skae's, and the
#: number of skae fits training now (in any thread, counted under the lock)
#: tells a policy whether other fits compete for the cores.
_DEFAULT_THREADS = torch.get_num_threads()
_lock = threading.Lock()
_training = 0


#: Tells this process's carried thread state (see :meth:`ThreadPolicy.on_train_end`)
#: from one unpickled from another process, even one with the same pid.
_PROCESS = secrets.token_hex(8)


def user_chose_threads():
    """True when the thread count in force is the caller's choice."""
    if any(os.environ.get(name) for name in THREAD_VARIABLES):
        return True
    return torch.get_num_threads() != _DEFAULT_THREADS


def forward_flops(module, n_features, batch_size):
    """Forward floating-point operations of one training batch of
    ``module`` (counted on two zero rows, in eval mode, without grad)."""
    from torch.utils.flop_counter import FlopCounterMode

    param = next(module.parameters(), None)
    x = torch.zeros(2, n_features, device=None if param is None else param.device)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module.decode(module.encode(x))
    finally:
        module.train(was_training)
    return counter.get_total_flops() / 2 * batch_size


@contextmanager
def training_threads():
    """Count this fit among the ones training, and leave the calling
    thread's torch thread count as it found it, however the block ends."""
    global _training
    before = torch.get_num_threads()
    with _lock:
        _training += 1
    try:
        yield
    finally:
        with _lock:
            _training -= 1
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def _others_training():
    return _training > 1


class ThreadPolicy(Callback):
    """Chooses the training thread count (see the module docstring).

    The count in force when training starts is the caller's; the fit's
    :func:`training_threads` block restores it afterwards.
    """

    def initialize(self):
        self.candidates_ = ()
        self.batch_ = 0
        self.times_ = {}
        self.chosen_ = None
        self.flops_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        carried = getattr(net, "thread_policy_", None)
        if not (
            isinstance(carried, dict)
            and carried.get("process") == _PROCESS
            and carried.get("batch_size") == net.batch_size
        ):
            # a first run, a net unpickled in another process, or batches
            # of another size (other work, other timings): choose afresh
            carried = None
        caller = torch.get_num_threads()
        self.flops_ = None
        if torch.device(net.device).type != "cpu" or user_chose_threads():
            self.candidates_ = ()  # leave it
        elif caller == 1:
            self.candidates_ = (1,)
        else:
            counted = carried is not None and carried["flops"] is not None
            self.flops_ = carried["flops"] if counted else self._flops(net)
            if self.flops_ < ONE_THREAD_BELOW:
                self.candidates_ = (1,)
            else:
                self.candidates_ = (1, caller)
        if carried is not None and carried["candidates"] == self.candidates_:
            self.chosen_, self.batch_ = carried["chosen"], carried["batch"]
            self.times_ = {count: list(t) for count, t in carried["times"].items()}
        else:
            # one thread until a probe shows more to be faster: on a busy
            # machine a batch on more threads can take many times longer
            self.chosen_, self.batch_, self.times_ = 1, 0, {}
        self._set(self.chosen_)

    def on_train_end(self, net, **kwargs):
        """Leave on the net what the next run in this process (a
        ``partial_fit``, a warm start) goes on from: plain values, so that a
        pickled model holds no class of this module's."""
        net.thread_policy_ = dict(
            process=_PROCESS,
            candidates=self.candidates_,
            batch_size=net.batch_size,
            flops=self.flops_,
            chosen=self.chosen_,
            batch=self.batch_,
            times=self.times_,
        )

    def _flops(self, net):
        module = net.module_
        try:
            return forward_flops(module, module.n_features, net.batch_size)
        except Exception:
            # a module of the user's that the counter cannot trace: time
            # both counts rather than fail the fit over a heuristic
            return float("inf")

    def _set(self, threads):
        if not self.candidates_:
            return
        if _others_training():
            threads = 1
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)

    def _probing(self):
        """``(count, timed)`` for a batch of a probe, None outside one: after
        the warm-up, every :data:`REPROBE_EVERY` batches, PROBE_BATCHES
        batches on one thread, then one untimed batch on the caller's count
        (waking its threads) and PROBE_BATCHES timed ones, cut short when
        one of them is slower than ABANDON_AT times one thread's median."""
        if len(self.candidates_) < 2 or self.batch_ < WARMUP_BATCHES:
            return None
        one, many = self.candidates_
        step = (self.batch_ - WARMUP_BATCHES) % REPROBE_EVERY
        if step == 0:
            self.times_ = {}
        if step < PROBE_BATCHES:
            return one, True
        if step <= 2 * PROBE_BATCHES and one in self.times_:
            return many, step > PROBE_BATCHES
        return None

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training or len(self.candidates_) < 2:
            return  # nothing to choose per batch: set once in on_train_begin
        self.probe_ = self._probing()
        self._set(self.chosen_ if self.probe_ is None else self.probe_[0])
        self.started_ = time.perf_counter()

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if not training or len(self.candidates_) < 2:
            return
        if self.probe_ is not None and self.probe_[1]:
            seconds = time.perf_counter() - self.started_
            count = self.probe_[0]
            self.times_.setdefault(count, []).append(seconds)
            one, many = self.candidates_
            if count == many:
                t_one, t_many = median(self.times_[one]), self.times_[many]
                if seconds > ABANDON_AT * t_one:
                    self.chosen_ = one
                    del self.times_[one]  # the rest of this probe is skipped
                elif len(t_many) == PROBE_BATCHES:
                    self.chosen_ = many if median(t_many) < t_one else one
        self.batch_ += 1
