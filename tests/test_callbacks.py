"""The ``callbacks`` parameter: skorch callbacks added to skae's own."""

import os
import signal
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    LRScheduler,
    ProgressBar,
)

from skae import AutoencoderTransformer, VAETransformer
from skae._callbacks import TrainingDiverged

SMALL = dict(hidden_layer_sizes=(8,), max_iter=4, batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).normal(size=(100, 6))


class CountEpochs(Callback):
    """State in attributes ending in ``_``, as skorch's callbacks keep it."""

    def initialize(self):
        self.epochs_ = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1


class StopAfter(Callback):
    """A user's callback that ends training, as skorch's EarlyStopping does."""

    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) >= self.epochs:
            raise KeyboardInterrupt


def test_lr_scheduler(X):
    sched = LRScheduler(policy="StepLR", step_size=1, gamma=0.5, event_name="lr_now")
    model = AutoencoderTransformer(
        2, callbacks=[sched], learning_rate_init=1e-3, **SMALL
    ).fit(X)
    lrs = model.net_.history[:, "lr_now"]
    np.testing.assert_allclose(lrs, [1e-3, 5e-4, 2.5e-4, 1.25e-4])


def test_checkpoint_into_a_directory(X, tmp_path):
    checkpoint = Checkpoint(monitor="train_loss_best", dirname=str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        AutoencoderTransformer(2, callbacks=[checkpoint], **SMALL).fit(X)
    assert (tmp_path / "params.pt").stat().st_size > 0
    assert (tmp_path / "history.json").exists()


def test_progress_bar(X, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        AutoencoderTransformer(2, callbacks=[ProgressBar()], **SMALL).fit(X)
    # tqdm's bar on stderr, sized from skae's batch iterator: 100 rows / 32
    assert "/4 [" in capsys.readouterr().err


@pytest.mark.parametrize(
    "stopper", [StopAfter(2), EarlyStopping(patience=1, threshold=0.5)]
)
def test_a_callback_may_stop_training(X, stopper):
    est = AutoencoderTransformer(
        2, callbacks=[("stop", stopper)], **{**SMALL, "max_iter": 50}
    )
    if isinstance(stopper, EarlyStopping):
        est.set_params(early_stopping=True, tol=0)  # EarlyStopping reads valid_loss
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # stopped: no warning
        model = est.fit(X)
    assert model.n_iter_ < 50
    if isinstance(stopper, StopAfter):
        assert model.n_iter_ == 2


class StopInBatch(Callback):
    """Ends training in the middle of the second epoch."""

    def initialize(self):
        self.batches_ = 0
        return self

    def on_batch_end(self, net, training=False, **kwargs):
        self.batches_ += training
        if self.batches_ == 5:
            raise KeyboardInterrupt


@pytest.mark.parametrize("cls", [AutoencoderTransformer, VAETransformer])
def test_a_callback_may_stop_training_in_a_batch(X, cls):
    model = cls(2, callbacks=[StopInBatch()], **{**SMALL, "max_iter": 50}).fit(X)
    net = model.net_
    # the cut second epoch is not counted (issue 31): one complete epoch
    assert len(net.history) == 1 == model.n_iter_ == len(model.loss_curve_)
    assert net.batch_hooks_ is None and net.generator_ is None
    assert getattr(net, "terms_", None) is None  # the VAE's, of the cut epoch
    model.transform(X)


def test_callbacks_are_copied_for_every_fit_and_clone(X):
    counter = CountEpochs()
    est = AutoencoderTransformer(2, callbacks=[counter], **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
        clone(est).fit(X)
    assert not hasattr(counter, "epochs_")  # the parameter itself is never used
    copies = [cb for _, cb in est.net_.callbacks_ if isinstance(cb, CountEpochs)]
    assert len(copies) == 1 and copies[0].epochs_ == 4
    assert clone(est).callbacks[0] is not counter


def test_grid_search_with_callbacks(X):
    est = VAETransformer(2, callbacks=[CountEpochs(), StopAfter(2)], **SMALL)
    search = GridSearchCV(est, {"beta": [0.5, 1.0]}, cv=2, n_jobs=2).fit(X)
    assert search.best_estimator_.n_iter_ == 2


def test_divergence_guard_holds_with_user_callbacks(X):
    model = AutoencoderTransformer(2, callbacks=[CountEpochs()], **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    before = model.transform(X)
    with pytest.raises(TrainingDiverged):
        model.set_params(learning_rate_init=1e20).fit(1e3 * X)
    np.testing.assert_array_equal(model.transform(X), before)


def test_ctrl_c_still_reaches_the_caller_with_user_callbacks(X):
    class CtrlC(Callback):
        def on_batch_end(self, net, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)

    model = AutoencoderTransformer(2, **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    before = model.transform(X)
    model.set_params(callbacks=[StopAfter(10), CtrlC()])
    with pytest.raises(KeyboardInterrupt):
        model.fit(X)
    np.testing.assert_array_equal(model.transform(X), before)
    assert model.n_iter_ == 4


def test_bad_callbacks_are_named(X):
    with pytest.raises(ValueError, match=r"callbacks\[0\] must be a skorch Callback"):
        AutoencoderTransformer(2, callbacks=["lr"], **SMALL).fit(X)
    with pytest.raises(ValueError, match="a name skae uses"):
        AutoencoderTransformer(2, callbacks=[("monitor", CountEpochs())], **SMALL).fit(
            X
        )
