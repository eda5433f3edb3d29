"""``learning_rate`` (the schedule of a fit) and ``max_iter="auto"``."""

import math

import numpy as np
import pytest
from skorch.callbacks import Callback, LRScheduler

from skae import AutoencoderTransformer, VAETransformer
from skae._schedule import MAX_AUTO_EPOCHS, STEP_BUDGET, auto_epochs

SMALL = dict(hidden_layer_sizes=(8,), batch_size=25, random_state=0)

#: the learning rate and Adam's beta1 of every training batch, in order
SEEN = []


class RecordRate(Callback):
    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            group = net.optimizer_.param_groups[0]
            SEEN.append((group["lr"], group["betas"][0]))


@pytest.fixture
def X():
    return np.random.RandomState(0).normal(size=(100, 5))


def fit_and_record(model, X, method="fit"):
    SEEN.clear()
    getattr(model.set_params(callbacks=[RecordRate()]), method)(X)
    return np.array(SEEN)


def test_one_cycle_is_the_default_and_follows_torch(X):
    model = AutoencoderTransformer(2, max_iter=6, n_iter_no_change=100, **SMALL)
    assert model.learning_rate == "one_cycle"
    seen = fit_and_record(model, X)
    lr, beta1 = seen[:, 0], seen[:, 1]
    assert len(lr) == 6 * 4  # 6 epochs of 4 batches, each with its own rate
    peak = model.learning_rate_init
    np.testing.assert_allclose(lr[0], peak / 25)
    assert lr.argmax() == round(0.3 * len(lr)) - 1  # the end of the warm-up
    np.testing.assert_allclose(lr.max(), peak, rtol=0.01)  # peak between steps
    np.testing.assert_allclose(lr[-1], peak / 25 / 1e4, rtol=1e-6)
    assert np.all(np.diff(lr[: lr.argmax() + 1]) > 0)
    assert np.all(np.diff(lr[lr.argmax() :]) < 0)
    # beta1 the other way round: 0.95 at the ends, 0.85 at the peak
    np.testing.assert_allclose([beta1[0], beta1[lr.argmax()]], [0.95, 0.85], rtol=1e-3)
    # the fitted model's optimizer is back at the base rate
    assert model.net_.optimizer_.param_groups[0]["lr"] == peak


def test_constant_rate(X):
    model = AutoencoderTransformer(
        2, learning_rate="constant", learning_rate_init=0.01, max_iter=3, **SMALL
    )
    seen = fit_and_record(model, X)
    assert len(seen) == 12
    np.testing.assert_array_equal(seen[:, 0], 0.01)
    np.testing.assert_array_equal(seen[:, 1], 0.9)  # Adam's own beta1


def test_schedule_counts_the_training_rows_only(X):
    # 10 of the 100 rows held out: 90 training rows, 4 batches of up to 25
    model = AutoencoderTransformer(
        2, max_iter=5, early_stopping=True, n_iter_no_change=100, **SMALL
    )
    lr = fit_and_record(model, X)[:, 0]
    assert len(lr) == 5 * 4
    np.testing.assert_allclose(lr[-1], model.learning_rate_init / 25e4, rtol=1e-6)


def test_schedule_cut_short_by_the_stopping_rule(X):
    # the stopping rule may end a fit before the schedule does: no error
    model = AutoencoderTransformer(2, max_iter=50, n_iter_no_change=1, tol=10, **SMALL)
    model.fit(X)
    assert model.n_iter_ < 50


def test_partial_fit_runs_at_the_base_rate(X):
    model = AutoencoderTransformer(2, max_iter=3, **SMALL).fit(X)
    seen = fit_and_record(model, X, "partial_fit")
    np.testing.assert_array_equal(seen[:, 0], model.learning_rate_init)


def test_warm_start_runs_a_new_cycle(X):
    model = AutoencoderTransformer(2, max_iter=4, warm_start=True, **SMALL).fit(X)
    lr = fit_and_record(model, X)[:, 0]
    assert len(lr) == 16
    np.testing.assert_allclose([lr[0], lr.max()], [3e-3 / 25, 3e-3], rtol=0.01)


def test_a_users_lr_scheduler_replaces_the_schedule(X):
    step = LRScheduler(policy="StepLR", step_size=1, gamma=0.5)
    SEEN.clear()
    AutoencoderTransformer(2, max_iter=3, callbacks=[step, RecordRate()], **SMALL).fit(
        X
    )
    lr = np.array(SEEN)[:, 0]
    np.testing.assert_allclose(lr, np.repeat([3e-3, 1.5e-3, 7.5e-4], 4))


def test_auto_epochs():
    assert auto_epochs(4000, 128) == 79  # MNIST-5k's training rows
    assert auto_epochs(60000, 128) == math.ceil(STEP_BUDGET / 469)
    assert auto_epochs(1536, 128) == MAX_AUTO_EPOCHS  # 12 batches
    # a last batch of one row joins the one before it: still 12 batches
    assert auto_epochs(1537, 128) == MAX_AUTO_EPOCHS
    assert auto_epochs(1538, 128) == 193  # 13 batches
    assert auto_epochs(2, 128) == MAX_AUTO_EPOCHS
    assert auto_epochs(10**9, 1) == 1


def test_max_iter_auto_runs_the_step_budget(X):
    # 100 rows in batches of 4: 25 per epoch, so 100 epochs make 2500 steps
    model = AutoencoderTransformer(
        2,
        hidden_layer_sizes=(4,),
        batch_size=4,
        n_iter_no_change=1000,
        random_state=0,
    )
    assert model.max_iter == "auto"
    model.fit(X)
    assert model.n_iter_ == STEP_BUDGET // 25


@pytest.mark.parametrize("bad", ["cosine", None, 0.1])
def test_bad_learning_rate(X, bad):
    with pytest.raises(ValueError, match="learning_rate"):
        AutoencoderTransformer(2, learning_rate=bad, **SMALL).fit(X)


def test_vae_warmup_is_checked_against_the_auto_epochs(X):
    # 100 rows at batch 25: auto is 200 epochs (the cap)
    with pytest.raises(ValueError, match=r"max_iter='auto' \(200 epochs"):
        VAETransformer(2, kl_warmup=200, **SMALL).fit(X)


def test_stopping_rule_waits_for_the_peak(X):
    # tol so large that only the first judged epoch counts as an improvement:
    # the rule stops the fit n_iter_no_change epochs after it; in a one-cycle
    # fit the first judged epoch follows the rate's peak (30% of 20 epochs)
    model = AutoencoderTransformer(2, max_iter=20, n_iter_no_change=2, tol=1e3, **SMALL)
    assert model.fit(X).n_iter_ == 6 + 1 + 2
    assert model.set_params(learning_rate="constant").fit(X).n_iter_ == 0 + 1 + 2
