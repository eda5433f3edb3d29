"""The training thread policy (skae/_threads.py): which intra-op thread count
a CPU fit trains on, and that the caller's count is left as it was."""

import threading

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

import skae
from skae import _threads

# no dropout: fits with dropout take turns on torch's global generator, and
# the concurrency test needs two fits training at once
FAST = dict(
    hidden_layer_sizes=(8,), dropout=0.0, max_iter=3, device="cpu", random_state=0
)


class SeenThreads(Callback):
    """Records torch's thread count at each training batch (it runs after
    skae's own callbacks, so it sees the count the batch trains on)."""

    def __init__(self, barrier=None):
        self.barrier = barrier

    def __deepcopy__(self, memo):
        # skae deep-copies user callbacks; the barrier is shared on purpose
        return type(self)(self.barrier)

    def initialize(self):
        self.seen_ = []
        return self

    def on_train_begin(self, net, **kwargs):
        if self.barrier is not None:
            self.barrier.wait(timeout=30)

    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            self.seen_.append(torch.get_num_threads())


def seen(model):
    return dict(model.net_.callbacks_)["user_0_SeenThreads"].seen_


@pytest.fixture
def two_default_threads(monkeypatch):
    """The process at torch's default of two threads, no environment
    variable set: the state in which skae chooses."""
    for name in _threads.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    monkeypatch.setattr(_threads, "_DEFAULT_THREADS", 2)
    yield
    torch.set_num_threads(before)


def slow_on(threads, monkeypatch):
    """Every batch counts as large work, and a batch on ``threads`` threads
    takes ten times as long as on the other count (a fake clock)."""
    monkeypatch.setattr(_threads, "ONE_THREAD_BELOW", 0)
    clock = iter(range(10**6))
    monkeypatch.setattr(
        _threads.time,
        "perf_counter",
        lambda: next(clock) * (10 if torch.get_num_threads() == threads else 1),
    )


@pytest.fixture
def data():
    return np.random.RandomState(0).rand(300, 20)


def test_small_net_trains_on_one_thread_and_restores(two_default_threads, data):
    model = skae.AutoencoderTransformer(callbacks=[SeenThreads()], **FAST).fit(data)
    assert seen(model) and set(seen(model)) == {1}
    assert torch.get_num_threads() == 2


def test_large_work_is_timed_at_both_counts(two_default_threads, data, monkeypatch):
    # every batch counts as large, and one thread is made to look slow
    slow_on(1, monkeypatch)
    model = skae.AutoencoderTransformer(
        callbacks=[SeenThreads()], batch_size=16, **FAST
    ).fit(data)
    policy = dict(model.net_.callbacks_)["threads"]
    assert policy.candidates_ == (1, 2)
    counts = seen(model)
    n = _threads.PROBE_BATCHES
    end = _threads.WARMUP_BATCHES + 2 * n + 1
    # n timed batches on one thread, one to wake the second, n timed on two
    assert counts[_threads.WARMUP_BATCHES : end] == [1] * n + [2] * (n + 1)
    # after the probe, the faster count
    assert policy.chosen_ == 2
    assert set(counts[end:]) == {2}
    assert torch.get_num_threads() == 2


def test_explicit_torch_setting_is_respected(two_default_threads, data, monkeypatch):
    monkeypatch.setattr(_threads, "ONE_THREAD_BELOW", 0)
    torch.set_num_threads(3)  # the caller's choice: not the default 2
    model = skae.AutoencoderTransformer(callbacks=[SeenThreads()], **FAST).fit(data)
    assert set(seen(model)) == {3}
    assert torch.get_num_threads() == 3


def test_environment_variable_is_respected(two_default_threads, data, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    model = skae.AutoencoderTransformer(callbacks=[SeenThreads()], **FAST).fit(data)
    assert set(seen(model)) == {2}  # a small net, yet left at 2


def test_threadpoolctl_limit_is_respected(two_default_threads, data):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1):
        assert torch.get_num_threads() == 1
        assert _threads.user_chose_threads()
    # and with a limit of 3, a small net still trains on 3
    torch.set_num_threads(3)
    assert _threads.user_chose_threads()


class Fails(Callback):
    def on_batch_begin(self, net, training=False, **kwargs):
        raise RuntimeError("boom")


def test_count_restored_when_the_fit_fails(two_default_threads, data):
    with pytest.raises(RuntimeError, match="boom"):
        skae.AutoencoderTransformer(callbacks=[Fails()], **FAST).fit(data)
    assert torch.get_num_threads() == 2
    assert _threads._training == 0


def test_concurrent_fits_train_on_one_thread(two_default_threads, data, monkeypatch):
    monkeypatch.setattr(_threads, "ONE_THREAD_BELOW", 0)
    monkeypatch.setattr(_threads, "WARMUP_BATCHES", 10**6)  # never probe
    barrier = threading.Barrier(2)
    models = [
        skae.AutoencoderTransformer(callbacks=[SeenThreads(barrier)], **FAST)
        for _ in range(2)
    ]
    errors = []

    def fit(model):
        try:
            torch.set_num_threads(2)  # a worker thread at the default
            model.fit(data)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=fit, args=(m,)) for m in models]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    for model in models:
        # both passed the barrier inside their fits: all batches until the
        # other finished ran on one thread; the first batch surely did
        assert seen(model)[0] == 1
    assert _threads._training == 0


@pytest.mark.parametrize("width", [20, 300])
def test_same_weights_at_one_and_two_threads(width):
    # 300 features and 256 hidden units: work that two threads split
    X = np.random.RandomState(0).rand(512, width)
    before = torch.get_num_threads()
    codes = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)  # explicit: the policy keeps it
            model = skae.AutoencoderTransformer(
                n_components=3,
                hidden_layer_sizes=(256,),
                max_iter=2,
                device="cpu",
                random_state=0,
            ).fit(X)
            codes.append(model.transform(X))
    finally:
        torch.set_num_threads(before)
    np.testing.assert_array_equal(codes[0], codes[1])


def test_forward_flops_counts_the_network():
    module = skae.AutoencoderTransformer(
        n_components=4, hidden_layer_sizes=(16,), device="cpu", max_iter=1
    ).fit(np.random.RandomState(0).rand(20, 10))
    flops = _threads.forward_flops(module.net_.module_, 10, batch_size=8)
    # 10-16-4 encoder, 4-16-10 decoder: 2 flops per multiply-add
    assert flops == 2 * 8 * (10 * 16 + 16 * 4 + 4 * 16 + 16 * 10)


def test_slow_probe_on_more_threads_is_abandoned(
    two_default_threads, data, monkeypatch
):
    # a busy machine: a batch on two threads takes ten times one thread's
    slow_on(2, monkeypatch)
    model = skae.AutoencoderTransformer(
        callbacks=[SeenThreads()], batch_size=16, **FAST
    ).fit(data)
    counts = seen(model)
    first_many = _threads.WARMUP_BATCHES + _threads.PROBE_BATCHES
    # warm-up and the one-thread probe; on two threads an untimed batch
    # and one timed (ten times slower: the probe ends), then one thread
    assert counts[:first_many] == [1] * first_many
    assert counts[first_many : first_many + 2] == [2, 2]
    assert set(counts[first_many + 2 :]) == {1}
    assert dict(model.net_.callbacks_)["threads"].chosen_ == 1


def test_uncountable_module_is_timed_not_failed(two_default_threads, data, monkeypatch):
    def fails(*args, **kwargs):
        raise RuntimeError("cannot trace this module")

    monkeypatch.setattr(_threads, "forward_flops", fails)
    model = skae.AutoencoderTransformer(**FAST).fit(data)
    assert dict(model.net_.callbacks_)["threads"].candidates_ == (1, 2)


def test_a_stream_of_partial_fits_goes_on_from_the_last_choice(
    two_default_threads, data, monkeypatch
):
    # chunks of three batches: each call used to start over on one thread
    # and probe again, so a stream never got past its probes
    slow_on(1, monkeypatch)
    counted = []
    real = _threads.forward_flops
    monkeypatch.setattr(
        _threads, "forward_flops", lambda *a: counted.append(a) or real(*a)
    )
    model = skae.AutoencoderTransformer(
        callbacks=[SeenThreads()], batch_size=16, **FAST
    )
    counts = []
    for chunk in np.array_split(data[:240], 5):  # 48 rows: 3 batches each
        model.partial_fit(chunk)
        counts += seen(model)  # the callbacks are new at every call
    n = _threads.PROBE_BATCHES
    end = _threads.WARMUP_BATCHES + 2 * n + 1
    # one warm-up and one probe over the whole stream, then the faster count
    assert counts[:end] == [1] * (_threads.WARMUP_BATCHES + n) + [2] * (n + 1)
    assert set(counts[end:]) == {2}
    assert len(counted) == 1  # the work of a batch is counted once
    assert torch.get_num_threads() == 2
    # a net unpickled in another process chooses afresh
    model.net_.thread_policy_ = {**model.net_.thread_policy_, "process": "other"}
    model.partial_fit(data[:48])
    assert seen(model)[: _threads.WARMUP_BATCHES + 1] == [1] * 3
    # so do batches of another size: other work, other timings
    model.set_params(batch_size=8).partial_fit(data[:96])
    assert seen(model)[: _threads.WARMUP_BATCHES + 1] == [1] * 3
    assert len(counted) == 3  # counted afresh each time


def test_a_stream_that_began_under_the_callers_choice(
    two_default_threads, data, monkeypatch
):
    monkeypatch.setattr(_threads, "ONE_THREAD_BELOW", 0)
    model = skae.AutoencoderTransformer(**FAST)
    torch.set_num_threads(1)  # the caller's choice: left alone, nothing counted
    model.partial_fit(data)
    assert dict(model.net_.callbacks_)["threads"].candidates_ == ()
    torch.set_num_threads(2)  # back to torch's default: skae chooses again
    model.partial_fit(data)
    assert dict(model.net_.callbacks_)["threads"].candidates_ == (1, 2)
    assert torch.get_num_threads() == 2
