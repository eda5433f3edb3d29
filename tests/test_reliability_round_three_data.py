"""Reliability, round three (the data's side): a network never changes the
caller's arrays nor its own training target, scores do not silently
underflow, a one-row last batch trains with batch normalisation, a body
that breaks the batch dimension fails at build, and the conv blocks' and
user modules' edge cases."""

import copy
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback
from torch import nn

from skae import AutoencoderOutlierDetector, AutoencoderTransformer, VAETransformer
from skae.nn import ConvDecoder, ConvEncoder

SMALL = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).normal(size=(60, 6))


def _with_inplace(module, inplace):
    """A copy of ``module`` whose ReLUs have ``inplace`` set (same weights)."""
    module = copy.deepcopy(module)
    for m in module.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = inplace
    return module


# ------------------------------------------- inputs are never written to


def test_inverse_transform_leaves_the_codes_unchanged(X):
    torch.manual_seed(0)
    decoder = nn.Sequential(nn.ReLU(inplace=True), nn.Linear(2, 6))
    model = AutoencoderTransformer(2, decoder=decoder, **SMALL).fit(X)
    for dtype in (np.float32, np.float64):
        Z = np.array([[-1.0, 2.0], [3.0, -4.0]], dtype=dtype)
        given = Z.copy()
        out = model.inverse_transform(Z)
        np.testing.assert_array_equal(Z, given)
        # and the result is the decoder's on the codes as given
        plain = copy.deepcopy(model)
        plain.net_.module_.decoder[0].inplace = False
        np.testing.assert_array_equal(out, plain.inverse_transform(given))


def test_an_inplace_first_layer_trains_as_the_same_net_without_inplace(X):
    """The batch is input and target: an encoder that writes to its input
    must not change the target (nor, in validation, the held-out rows)."""
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.ReLU(inplace=True), nn.Linear(6, 8), nn.ReLU())
    fits = [
        AutoencoderTransformer(
            2,
            encoder=_with_inplace(encoder, inplace),
            max_iter=4,
            batch_size=16,
            early_stopping=True,
            random_state=0,
        ).fit(X)
        for inplace in (True, False)
    ]
    assert fits[0].loss_curve_ == fits[1].loss_curve_
    assert fits[0].validation_scores_ == fits[1].validation_scores_


@pytest.mark.parametrize("cls", [AutoencoderTransformer, VAETransformer])
def test_scores_compare_with_the_input_as_given(cls, X):
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.ReLU(inplace=True), nn.Linear(6, 8))
    model = cls(2, encoder=encoder, **SMALL).fit(X)
    plain = copy.deepcopy(model)
    plain.net_.module_.encoder[0].inplace = False
    given = X.copy()
    np.testing.assert_array_equal(model.score_samples(X), plain.score_samples(X))
    np.testing.assert_array_equal(X, given)


# ------------------------------------------------- scores of tiny data


def test_scores_that_would_underflow_are_a_clear_error():
    """Squared errors of data spread ~1e-200 are below float64's smallest
    numbers: every score was exactly 0 and the detector flagged nothing."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5))
    X[:5] += 50.0  # gross outliers
    tiny = X * 1e-200
    model = AutoencoderTransformer(2, **SMALL).fit(tiny)
    with pytest.raises(ValueError, match="underflow float64.*Rescale X"):
        model.score_samples(tiny)
    with pytest.raises(ValueError, match="underflow float64"):
        AutoencoderOutlierDetector(AutoencoderTransformer(2, **SMALL)).fit(tiny)
    # rescaled, as the message says, the detector finds them
    rescaled = tiny / np.abs(tiny).max()
    labels = AutoencoderOutlierDetector(
        AutoencoderTransformer(2, **SMALL), contamination=5 / 200
    ).fit_predict(rescaled)
    assert set(np.flatnonzero(labels == -1)) == set(range(5))


def test_scores_of_small_data_rank_its_outliers():
    """Between the error's bounds (spread ~1e-157: its square is subnormal)
    scores are computed and rank gross outliers first."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5))
    X[:5] += 50.0
    small = X * 1e-157
    scores = AutoencoderTransformer(2, **SMALL).fit(small).score_samples(small)
    assert np.all(scores < 0)
    assert set(np.argsort(scores)[:5]) == set(range(5))


# ------------------------------------------------- a one-row last batch


class BatchSizes(Callback):
    """Records the rows of every training batch and the learning rate after
    it (after the one-cycle schedule's step)."""

    def initialize(self):
        self.sizes, self.rates = [], []
        return self

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training:
            self.sizes.append(len(batch[0]))
            self.rates.append(net.optimizer_.param_groups[0]["lr"])


def _sizes(model):
    return dict(model.net_.callbacks_)["user_0_BatchSizes"].sizes


def test_a_one_row_last_batch_trains_with_a_batchnorm_encoder():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(129, 6))
    encoder = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU())
    model = AutoencoderTransformer(
        2, encoder=encoder, batch_size=128, max_iter=2, callbacks=[BatchSizes()]
    ).fit(X)
    assert _sizes(model) == [129, 129]  # merged into the batch before it
    assert [e["train_batch_count"] for e in model.net_.history] == [1, 1]
    assert model.n_samples_seen_ == 129


def test_a_one_row_last_batch_trains_with_skaes_conv_blocks():
    X = np.random.RandomState(0).uniform(size=(33, 16))
    model = AutoencoderTransformer(
        2,
        encoder=ConvEncoder((1, 4, 4), channels=(4, 4)),  # batch norm by default
        decoder=ConvDecoder((1, 4, 4), channels=(4, 4)),
        batch_size=16,
        max_iter=1,
        random_state=0,
    ).fit(X)
    assert model.net_.history[-1]["train_batch_count"] == 2


@pytest.mark.parametrize(
    "n, sizes", [(33, [16, 17]), (34, [16, 16, 2]), (32, [16, 16]), (1 + 1, [2])]
)
def test_only_a_one_row_last_batch_is_merged_and_the_schedule_counts_it(n, sizes):
    X = np.random.RandomState(0).normal(size=(n, 4))
    lr = 1e-3
    model = AutoencoderTransformer(
        2,
        batch_size=16,
        max_iter=3,
        learning_rate_init=lr,
        callbacks=[BatchSizes()],
        **{k: v for k, v in SMALL.items() if k != "max_iter"},
    ).fit(X)
    recorder = dict(model.net_.callbacks_)["user_0_BatchSizes"]
    assert recorder.sizes == sizes * 3
    # the one-cycle schedule ran its whole course, a step after every batch
    # but the last: its final rate (learning_rate_init / 250000) is reached
    # after the last but one batch, not earlier (nor never)
    final = pytest.approx(lr / 250000, rel=1e-6)
    assert recorder.rates[-1] == recorder.rates[-2] == final
    assert recorder.rates[-3] > recorder.rates[-2]


def test_a_one_row_epoch_with_batchnorm_says_why():
    X = np.random.RandomState(0).normal(size=(40, 6))
    encoder = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU())
    model = AutoencoderTransformer(2, encoder=encoder, batch_size=16, max_iter=1)
    model.fit(X)
    with pytest.raises(ValueError, match="skae merges a last batch of one row"):
        model.partial_fit(X[:1])


# ------------------------------------- bodies that break the batch dimension


class _Rows(nn.Module):
    def __init__(self, how):
        super().__init__()
        self.how = how

    def forward(self, x):
        if self.how == "first":
            return x[:1]
        if self.how == "twice":
            return torch.cat([x, x])
        return x.t()


@pytest.mark.parametrize("how", ["first", "twice", "transpose"])
def test_an_encoder_that_changes_the_batch_dimension_fails_at_build(how, X):
    with pytest.raises(ValueError, match="encoder returned .* keep the batch"):
        AutoencoderTransformer(2, encoder=_Rows(how), **SMALL).fit(X)


def test_a_decoder_that_changes_the_batch_dimension_fails_at_build(X):
    decoder = nn.Sequential(nn.Linear(2, 6), _Rows("first"))
    with pytest.raises(ValueError, match="decoder returned 1 rows .* keep the batch"):
        AutoencoderTransformer(2, decoder=decoder, **SMALL).fit(X)


# ------------------------------------------------------------ minor


def test_conv_decoder_without_stages_is_a_clear_error():
    with pytest.raises(ValueError, match="ConvDecoder needs at least one stage"):
        ConvDecoder((1, 4, 4), channels=())


@pytest.mark.parametrize("bad", [(True, 4, 4), (1, 4, 0), (1, 4.0, 4)])
def test_image_shape_refuses_bools_and_non_integers(bad):
    with pytest.raises(ValueError, match="image_shape must be"):
        ConvEncoder(bad)


def test_image_shape_and_channels_take_numpy_integers():
    shape = tuple(np.array([1, 4, 4]))
    channels = tuple(np.array([4]))
    encoder = ConvEncoder(shape, channels=channels)
    decoder = ConvDecoder(shape, channels=channels)
    assert encoder.image_shape == (1, 4, 4) and type(encoder.image_shape[0]) is int
    X = np.random.RandomState(0).uniform(size=(20, 16))
    AutoencoderTransformer(
        2, encoder=encoder, decoder=decoder, max_iter=1, random_state=0
    ).fit(X)


def test_conv_channels_refuse_bools():
    with pytest.raises(ValueError, match="channels must be positive ints"):
        ConvEncoder((1, 4, 4), channels=(True,))


def test_a_float64_user_module_trains_in_float32(X):
    encoder = nn.Linear(6, 4).double()
    decoder = nn.Linear(2, 6).double()
    model = AutoencoderTransformer(
        2, encoder=encoder, decoder=decoder, max_iter=2, random_state=0
    ).fit(X)
    assert all(p.dtype == torch.float32 for p in model.net_.module_.parameters())
    assert encoder.weight.dtype == torch.float64  # the parameter is untouched
    assert model.transform(X).dtype == np.float64


def test_the_contractive_penalty_takes_an_inplace_first_layer(X):
    from skae import ContractiveAutoencoder

    torch.manual_seed(0)
    encoder = nn.Sequential(nn.ReLU(inplace=True), nn.Linear(6, 8))
    fits = [
        ContractiveAutoencoder(
            2, encoder=_with_inplace(encoder, inplace), max_iter=2, random_state=0
        ).fit(X)
        for inplace in (True, False)
    ]
    assert fits[0].loss_curve_ == fits[1].loss_curve_
