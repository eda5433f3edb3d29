"""skae's training epoch and step (``AutoencoderNet.run_single_epoch`` and
``train_step``) do what skorch's own do, at less cost per batch: the same
weights, history and callback events."""

import warnings

import numpy as np
import pytest
from conftest import fast_autoencoders
from sklearn.base import clone
from skorch import NeuralNet
from skorch.callbacks import Callback

from skae._net import AutoencoderNet

ESTIMATORS = fast_autoencoders()
IDS = [type(e).__name__ for e in ESTIMATORS]


class Recorder(Callback):
    """Every batch event, with its training flag and argument names."""

    def initialize(self):
        self.events_ = []
        return self

    def _record(self, event, training, kwargs):
        self.events_.append((event, training, tuple(sorted(kwargs))))

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        self._record("on_batch_begin", training, {"batch": batch, **kwargs})

    def on_grad_computed(self, net, named_parameters, training=None, **kwargs):
        names = [name for name, _ in named_parameters]
        assert names == [name for name, _ in net.module_.named_parameters()]
        self._record("on_grad_computed", training, kwargs)

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        self._record("on_batch_end", training, {"batch": batch, **kwargs})


def _fit(estimator, X):
    model = clone(estimator).set_params(
        n_components=2,
        early_stopping=True,  # validation epochs too
        max_iter=4,
        batch_size=16,
        random_state=0,
        callbacks=[Recorder()],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X)


def _events(model):
    (recorder,) = [cb for _, cb in model.net_.callbacks_ if isinstance(cb, Recorder)]
    return recorder.events_


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_same_training_as_skorchs_own_loop(monkeypatch, estimator):
    X = np.random.RandomState(0).uniform(size=(90, 5))
    lean = _fit(estimator, X)
    monkeypatch.setattr(AutoencoderNet, "run_single_epoch", NeuralNet.run_single_epoch)
    monkeypatch.setattr(AutoencoderNet, "train_step", NeuralNet.train_step)
    reference = _fit(estimator, X)

    assert lean.n_iter_ == reference.n_iter_ == 4
    np.testing.assert_array_equal(lean.loss_curve_, reference.loss_curve_)
    np.testing.assert_array_equal(lean.transform(X), reference.transform(X))
    for ours, theirs in zip(lean.net_.history, reference.net_.history, strict=True):
        assert ours["batches"] == theirs["batches"]
        for key in ("train_loss", "train_loss_best", "train_batch_count"):
            assert ours[key] == theirs[key]
        assert ours["valid_loss"] == theirs["valid_loss"]
    assert _events(lean) == _events(reference)

    # and the events are skorch's: per training batch, begin, the gradient
    # and end, with the arguments skorch passes
    batches = sum(row["train_batch_count"] for row in lean.net_.history)
    training = [event for event in _events(lean) if event[1]]
    assert training[:3] == [
        ("on_batch_begin", True, ("batch",)),
        ("on_grad_computed", True, ("batch",)),
        ("on_batch_end", True, ("batch", "loss", "y_pred")),
    ]
    assert len(training) == 3 * batches


def test_callbacks_without_batch_methods_are_not_called_per_batch():
    X = np.random.RandomState(0).uniform(size=(40, 4))
    model = _fit(ESTIMATORS[0], X)
    hooks = model.net_.batch_hooks_
    assert hooks is None  # a fitted model keeps no bound methods

    net = model.net_
    net.initialize_callbacks()
    net.on_train_begin(net)
    for event, listeners in net.batch_hooks_.items():
        owners = {type(hook.__self__).__name__ for hook in listeners}
        assert "Recorder" in owners
        assert "EpochTimer" not in owners and "EpochMean" not in owners
        assert (event == "on_batch_begin") <= ("ThreadPolicy" in owners)
