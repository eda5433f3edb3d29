"""Dead code units (issue 32, item 3): counted after every fit, and avoided
for a ReLU code under the L1 penalty (the README's "real sparsity" recipe)."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from conftest import fast_autoencoders
from sklearn.datasets import load_digits
from skorch.callbacks import Callback

from skae import AutoencoderTransformer, SparseAutoencoder, hoyer_sparsity


@pytest.fixture(scope="module")
def X():
    return load_digits().data[:600]


class SwitchOff(Callback):
    """When training ends, sets the code head's bias of the first ``n``
    units far below any input: those ReLU units are zero on every row."""

    def __init__(self, n):
        self.n = n

    def on_train_end(self, net, **kwargs):
        with torch.no_grad():
            net.module_.code_head.bias[: self.n] = -1e6


def test_dead_units_are_counted_and_warned_about(X):
    model = AutoencoderTransformer(
        4,
        hidden_layer_sizes=(),
        code_activation="relu",
        callbacks=[SwitchOff(2)],
        max_iter=2,
        random_state=0,
    )
    with pytest.warns(UserWarning, match="2 of 4 code units are zero on every"):
        model.fit(X)
    assert model.n_dead_components_ == 2
    Z = model.transform(X)
    assert np.all(Z[:, :2] == 0) and np.all(np.any(Z[:, 2:] != 0, axis=0))


@pytest.mark.parametrize(
    "estimator", fast_autoencoders(), ids=lambda e: type(e).__name__
)
def test_every_autoencoder_reports_dead_units(X, estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = estimator.set_params(random_state=0).fit(X[:100])
    # the linear (or posterior-mean, or sigmoid) codes of these have none
    assert model.n_dead_components_ == 0
    model.partial_fit(X[100:200])
    assert model.n_dead_components_ == 0
    assert pickle.loads(pickle.dumps(model)).n_dead_components_ == 0


def _relu_code(X, alpha, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        settings = dict(
            code_activation="relu",
            hidden_layer_sizes=(64,),
            dropout=0.0,
            max_iter=20,
            batch_size=32,
            random_state=0,
        )
        return SparseAutoencoder(32, alpha=alpha, **{**settings, **params}).fit(X)


def test_relu_code_under_l1_stays_alive_and_gets_sparser(X):
    # before the code was standardised ahead of its ReLU: 3 of 32 units dead
    # at alpha=0.3, 24 at alpha=1 (Hoyer 0.36, 0.72, 0.91)
    models = {alpha: _relu_code(X, alpha) for alpha in (0.0, 0.3, 1.0)}
    assert [m.n_dead_components_ for m in models.values()] == [0, 0, 0]
    sparsity = {a: hoyer_sparsity(m.transform(X)) for a, m in models.items()}
    assert sparsity[0.0] < sparsity[0.3] < sparsity[1.0]
    assert sparsity[1.0] > sparsity[0.0] + 0.15, sparsity
    linear = _relu_code(X, 0.3, code_activation=None)
    assert sparsity[0.3] > hoyer_sparsity(linear.transform(X)) + 0.1


def test_standardise_uses_running_estimates_for_one_row():
    from skae._modules import RunningStandardise

    norm = RunningStandardise(3, momentum=1.0)
    h = torch.tensor([[1.0, 2.0, -1.0], [3.0, 6.0, -1.0]])
    out = norm(h)
    torch.testing.assert_close(out[:, :2], torch.tensor([[-1.0, -1.0], [1.0, 1.0]]))
    # one row has no spread: the running mean and variance of the batch above
    torch.testing.assert_close(norm(h[:1]), out[:1])
