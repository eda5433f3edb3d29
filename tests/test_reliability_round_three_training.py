"""Issue 31 ("Reliability, round three"), the training items: modules that
share parameters, seeding of user modules, dropout and threads, concurrent
``partial_fit`` on one model, an application's own SIGINT handler, callbacks
that stop training early, and three smaller ones (a device given as
``torch.device``, a module that cannot be copied, a callback holding the
net). Each test fails on the commit before the fix (55401c2)."""

import pickle
import signal
import threading
import time
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone
from skorch.callbacks import Callback, EarlyStopping
from torch import nn

import skae

TRAIN = dict(max_iter=4, batch_size=16, device="cpu")
FAST = dict(hidden_layer_sizes=(16,), **TRAIN)
#: How long a thread test waits for work that must not be blocked.
PATIENCE = 60


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of short fits
        yield


def data(n=96, d=6, seed=0):
    return np.random.RandomState(seed).randn(n, d).astype(np.float32)


class Shared(Callback):
    """A callback that keeps its ``event`` (or ``barrier``) when skae
    deep-copies it for a fit."""

    def __init__(self, event=None, barrier=None, when=1):
        self.event = event
        self.barrier = barrier
        self.when = when

    def __deepcopy__(self, memo):
        return type(self)(self.event, self.barrier, self.when)


# 6. encoder and decoder that share parameters ------------------------------


class TiedDecoder(nn.Module):
    """Decodes with the transpose of the encoder's linear layer."""

    def __init__(self, linear):
        super().__init__()
        self.linear = linear

    def forward(self, z):
        return F.linear(z, self.linear.weight.t())


def _tied():
    linear = nn.Linear(6, 3, bias=False)
    return linear, TiedDecoder(linear), lambda m: m.decoder.linear is m.encoder


def _passed_twice():
    body = nn.Sequential(nn.Linear(6, 6), nn.Tanh())
    return body, body, lambda m: m.encoder is m.decoder


def _shared_parameter():
    encoder, decoder = nn.Linear(6, 3), nn.Linear(3, 6)
    shared = nn.Parameter(torch.zeros(6))
    decoder.bias = shared
    encoder.register_parameter("extra", shared)
    return encoder, decoder, lambda m: m.decoder.bias is m.encoder.extra


@pytest.mark.parametrize("make", [_tied, _passed_twice, _shared_parameter])
def test_modules_sharing_parameters_stay_shared(make):
    encoder, decoder, shared = make()
    n_components = 6 if encoder is decoder else 3
    ae = skae.AutoencoderTransformer(
        n_components, encoder=encoder, decoder=decoder, random_state=0, **TRAIN
    ).fit(data())
    module = ae.net_.module_
    assert shared(module)
    # trained as one: the optimizer saw (and pickles keep) one tensor
    assert shared(pickle.loads(pickle.dumps(ae)).net_.module_)
    assert encoder is not module.encoder  # still copies of the user's


# 7. random_state fixes user modules drawing outside nn.Dropout --------------


class NoisyEncoder(nn.Module):
    """Draws from torch's global generator outside nn.Dropout."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(6, 8)

    def forward(self, x):
        h = F.dropout(torch.relu(self.linear(x)), 0.3, training=self.training)
        return h + 0.1 * torch.randn_like(h) if self.training else h


def test_random_state_fixes_user_module_randomness_and_keeps_global_state():
    X, encoder = data(), NoisyEncoder()  # each fit trains a copy of it
    torch.manual_seed(5)
    before = torch.get_rng_state()
    codes = [
        # dropout=0: no nn.Dropout anywhere in the network
        skae.AutoencoderTransformer(
            2, encoder=encoder, dropout=0.0, random_state=0, **FAST
        ).fit_transform(X)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(codes[0], codes[1])
    assert torch.equal(torch.get_rng_state(), before)


# 8. skae's dropout draws from the fit's generator; the lock is short --------


def test_default_fits_in_threads_match_sequential_while_caller_draws():
    X = data(128)
    est = skae.AutoencoderTransformer(2, random_state=0, **FAST)  # dropout=0.1
    reference = clone(est).fit(X).transform(X)
    results, errors = [None] * 3, []

    def work(i):
        try:
            results[i] = clone(est).fit(X).transform(X)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    torch.manual_seed(123)
    drawn = []
    for t in threads:
        t.start()
    deadline = time.monotonic() + PATIENCE
    while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
        drawn.append(torch.rand(8))
    for t in threads:
        t.join(timeout=1)
    assert not errors and not any(t.is_alive() for t in threads)
    for codes in results:
        np.testing.assert_array_equal(codes, reference)
    torch.manual_seed(123)
    expected = torch.rand(8 * len(drawn))
    assert torch.equal(torch.cat(drawn), expected)  # the caller's own stream


class Holds(Shared):
    """Blocks training at the end of its first epoch until ``event``."""

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.when:
            self.barrier.set()  # here: "training has started"
            self.event.wait(timeout=PATIENCE)


class DropoutEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.2))

    def forward(self, x):
        return self.body(x)


@pytest.mark.parametrize("encoder", [None, DropoutEncoder()], ids=["skae", "user"])
def test_training_with_dropout_does_not_block_other_fits_or_load(encoder, tmp_path):
    X = data()
    saved = skae.AutoencoderTransformer(2, random_state=0, **FAST).fit(X)
    path = tmp_path / "model.skae"
    skae.save(saved, path)
    release, started = threading.Event(), threading.Event()
    blocked = skae.AutoencoderTransformer(
        2,
        encoder=encoder,
        callbacks=[Holds(release, started)],
        random_state=0,
        **FAST,
    )
    background = threading.Thread(target=blocked.fit, args=(X,))
    background.start()
    done = []

    def others():
        skae.load(path)
        skae.AutoencoderTransformer(2, dropout=0.0, random_state=1, **FAST).fit(X)
        skae.AutoencoderTransformer(
            2, encoder=DropoutEncoder(), random_state=1, **FAST
        ).fit(X)
        done.append(True)

    try:
        assert started.wait(timeout=PATIENCE)
        worker = threading.Thread(target=others)
        worker.start()
        worker.join(timeout=20)
        assert done, "a fit holding dropout blocked load and other fits"
    finally:
        release.set()
        background.join(timeout=PATIENCE)
        if "worker" in locals():
            worker.join(timeout=PATIENCE)
    assert blocked.n_iter_ == FAST["max_iter"]


# 9. two threads calling partial_fit on one model ----------------------------

_MEET = {}


class Meets(Callback):
    """Waits at a barrier (if one is set) when training begins: two calls
    that train at once meet there."""

    def on_train_begin(self, net, **kwargs):
        barrier = _MEET.get("barrier")
        if barrier is not None:
            try:
                barrier.wait(timeout=3)
            except threading.BrokenBarrierError:
                pass  # the calls ran one after another


def test_partial_fit_from_two_threads_counts_both_chunks():
    X = data(192)
    ae = skae.AutoencoderTransformer(2, callbacks=[Meets()], random_state=0, **FAST)
    ae.partial_fit(X[:64])
    _MEET["barrier"] = threading.Barrier(2)
    try:
        threads = [
            threading.Thread(target=ae.partial_fit, args=(X[64 * i : 64 * i + 64],))
            for i in (1, 2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=PATIENCE)
    finally:
        _MEET.clear()
    assert ae.n_samples_seen_ == 192
    assert ae.n_iter_ == 3
    # the lock that serialises them is not part of the model
    assert pickle.loads(pickle.dumps(ae)).n_samples_seen_ == 192
    assert clone(ae).get_params()["random_state"] == 0


# 10. an application's SIGINT handler that does not raise --------------------


class SendsSigint(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 1:
            signal.raise_signal(signal.SIGINT)


def test_sigint_swallowed_by_the_application_lets_the_fit_finish():
    seen = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    ae = skae.AutoencoderTransformer(
        2, callbacks=[SendsSigint()], random_state=0, **FAST
    )
    try:
        ae.fit(data())
    except KeyboardInterrupt:  # not pytest's: the handler swallowed it
        pytest.fail("fit raised KeyboardInterrupt for a SIGINT handled without one")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen == [signal.SIGINT]
    assert ae.n_iter_ == FAST["max_iter"]


def test_sigint_that_raises_still_interrupts_and_keeps_the_model():
    def handler(signum, frame):
        raise KeyboardInterrupt

    ae = skae.AutoencoderTransformer(2, random_state=0, **FAST).fit(data())
    before = ae.transform(data())
    previous = signal.signal(signal.SIGINT, handler)
    try:
        ae.set_params(callbacks=[SendsSigint()])
        with pytest.raises(KeyboardInterrupt):
            ae.fit(data(seed=1))
    finally:
        signal.signal(signal.SIGINT, previous)
    np.testing.assert_array_equal(ae.transform(data()), before)


# 14. callbacks that stop training early -------------------------------------


class StopsAt(Callback):
    """Ends training at batch ``batch`` of epoch ``epoch`` (1-based)."""

    def __init__(self, epoch=1, batch=1):
        self.epoch = epoch
        self.batch = batch

    def on_batch_end(self, net, training=False, **kwargs):
        rows = net.history[-1]["batches"]
        if training and len(net.history) == self.epoch and len(rows) == self.batch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("epoch", [1, 2, 3])
@pytest.mark.parametrize(
    "cls", [skae.AutoencoderTransformer, skae.VAETransformer], ids=["ae", "vae"]
)
def test_callback_stopping_mid_epoch_counts_completed_epochs(cls, epoch):
    ae = cls(2, callbacks=[StopsAt(epoch, batch=2)], random_state=0, **FAST)
    ae.fit(data())
    assert ae.n_iter_ == epoch - 1 == len(ae.loss_curve_) == len(ae.net_.history)
    if cls is skae.VAETransformer:
        assert len(ae.kl_weight_curve_) == len(ae.kl_curve_) == epoch - 1
    assert np.isfinite(ae.transform(data())).all()
    ae.set_params(callbacks=None, warm_start=True).fit(data())  # continues
    assert ae.n_iter_ == epoch - 1 + FAST["max_iter"] == len(ae.loss_curve_)


def test_callback_stopping_at_an_epoch_end_keeps_that_epoch():
    class AtEnd(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 2:
                raise KeyboardInterrupt

    ae = skae.AutoencoderTransformer(2, callbacks=[AtEnd()], random_state=0, **FAST)
    assert ae.fit(data()).n_iter_ == 2 == len(ae.loss_curve_)


def test_early_stopping_callback_at_its_defaults():
    # without a validation split: a clear error naming the fix, before training
    ae = skae.AutoencoderTransformer(2, callbacks=[EarlyStopping()], **FAST)
    with pytest.raises(ValueError, match="early_stopping=True.*monitor='train_loss'"):
        ae.fit(data())
    assert not hasattr(ae, "net_")
    # with one, the user guide's example works
    ae.set_params(early_stopping=True, random_state=0).fit(data())
    assert ae.n_iter_ == len(ae.loss_curve_) == len(ae.validation_scores_)
    # and monitoring the training loss works without one
    ae = skae.AutoencoderTransformer(
        2, callbacks=[EarlyStopping(monitor="train_loss")], random_state=0, **FAST
    )
    assert ae.fit(data()).n_iter_ == len(ae.loss_curve_)


# minor ------------------------------------------------------------------------


def test_device_string_and_torch_device_are_the_same_setting():
    ae = skae.AutoencoderTransformer(2, random_state=0, **FAST).fit(data())
    ae.set_params(device=torch.device("cpu"), warm_start=True).fit(data())
    ae.partial_fit(data())
    assert ae.n_iter_ == 2 * FAST["max_iter"] + 1


class HoldsALock(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 8)
        self.lock = threading.Lock()

    def forward(self, x):
        return self.linear(x)


def test_module_that_cannot_be_copied_is_named_with_the_fix():
    ae = skae.AutoencoderTransformer(2, decoder=HoldsALock(), **FAST)
    with pytest.raises(TypeError, match=r"decoder \(HoldsALock\).*__deepcopy__"):
        ae.fit(data())


def test_callback_keeping_the_net_allows_partial_fit_and_warm_start():
    class KeepsNet(Callback):
        def on_train_begin(self, net, **kwargs):
            self.net = net

    ae = skae.AutoencoderTransformer(
        2, callbacks=[KeepsNet()], random_state=0, **FAST
    ).fit(data())
    ae.partial_fit(data())
    ae.set_params(warm_start=True).fit(data())
    assert ae.n_iter_ == 2 * FAST["max_iter"] + 1


def test_a_model_stopped_in_its_first_epoch_saves_and_loads(tmp_path):
    ae = skae.AutoencoderTransformer(
        2, callbacks=[StopsAt(1, batch=2)], random_state=0, **FAST
    ).fit(data())
    assert ae.n_iter_ == 0
    with pytest.warns(UserWarning, match="callbacks"):
        skae.save(ae, tmp_path / "m.skae")
    loaded = skae.load(tmp_path / "m.skae")
    assert loaded.n_iter_ == 0
    np.testing.assert_array_equal(loaded.transform(data()), ae.transform(data()))


def test_a_user_lazy_layer_and_skaes_heads_draw_independent_weights():
    # the user's lazy layer draws from torch's global generator, skae's heads
    # from the fit's own: seeded alike, one matrix was a scaled copy of the other
    encoder = nn.Sequential(nn.LazyLinear(16), nn.ReLU())
    ae = skae.AutoencoderTransformer(  # a step too small to move the weights
        4,
        encoder=encoder,
        random_state=0,
        max_iter=1,
        learning_rate="constant",
        learning_rate_init=1e-12,
    ).fit(data())
    module = ae.net_.module_
    head = module.code_head.weight.detach().ravel()
    ratio = head / module.encoder[0].weight.detach().ravel()[: len(head)]
    assert ratio.std() > 0.1
