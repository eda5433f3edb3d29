"""Your own encoder and decoder, the skae.nn blocks, the seeds' architectures
and the composable objective pieces."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from torch import nn

import skae
from skae import (
    AutoencoderTransformer,
    ContractiveAutoencoder,
    DenoisingAutoencoder,
    SparseAutoencoder,
    VAETransformer,
)
from skae._data import Normalisation
from skae.nn import ConvDecoder, ConvEncoder, MLPEncoder

SMALL = dict(max_iter=5, batch_size=64, random_state=0)


@pytest.fixture(autouse=True)
def _no_convergence_noise():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def X(digits):
    return digits[0][:200]


def _weights(module):
    return [p.detach().clone() for p in module.parameters()]


def _pair():
    encoder = nn.Sequential(nn.Linear(64, 32), nn.Tanh())
    decoder = nn.Sequential(nn.Linear(3, 32), nn.Tanh(), nn.Linear(32, 64))
    return encoder, decoder


def test_custom_sequential_pair_trains_a_copy(X):
    encoder, decoder = _pair()
    before = _weights(encoder)
    model = AutoencoderTransformer(
        3, encoder=encoder, decoder=decoder, **{**SMALL, "max_iter": 100}
    ).fit(X)
    # the caller's modules are never trained...
    for old, new in zip(before, _weights(encoder)):
        assert torch.equal(old, new)
    # ... the fitted copy is: its weights moved from where they started
    trained = model.net_.module_.encoder
    assert trained is not encoder
    assert any(not torch.equal(a, b) for a, b in zip(before, _weights(trained)))
    # the decoder returned 64 = n_features values: no output head added
    assert model.net_.module_.output_head is None
    Z = model.transform(X)
    assert Z.shape == (len(X), 3)
    assert model.inverse_transform(Z).shape == X.shape
    assert model.score(X) > -np.mean((X - X.mean(0)) ** 2)  # beats the mean


def test_lazy_pair_needs_no_n_features(X):
    encoder = nn.Sequential(nn.LazyLinear(16), nn.ReLU())
    decoder = nn.Sequential(nn.LazyLinear(16), nn.ReLU())  # width != 64
    model = AutoencoderTransformer(2, encoder=encoder, decoder=decoder, **SMALL)
    model.fit(X)
    module = model.net_.module_
    assert isinstance(module.output_head, nn.Linear)  # added: 16 -> 64
    assert module.output_head.out_features == 64
    assert isinstance(encoder[0], nn.LazyLinear)  # the caller's stays lazy
    first = _weights(module)
    model.set_params(warm_start=True).fit(X)
    trained = _weights(model.net_.module_)
    assert any(not torch.equal(a, b) for a, b in zip(first, trained))
    assert model.inverse_transform(model.transform(X)).shape == X.shape
    # lazy layers are drawn from random_state: the same seed, the same model
    again = AutoencoderTransformer(2, encoder=encoder, decoder=decoder, **SMALL)
    np.testing.assert_array_equal(
        again.fit(X).transform(X),
        clone(again).fit(X).transform(X),
    )


def test_same_encoder_object_serves_the_autoencoder_and_the_vae(X):
    encoder = MLPEncoder((32,))
    ae = AutoencoderTransformer(2, encoder=encoder, **SMALL).fit(X)
    vae = VAETransformer(2, encoder=encoder, **SMALL).fit(X)
    assert ae.transform(X).shape == vae.transform(X).shape == (len(X), 2)
    # skae's heads: 2 outputs for the code, 4 for the VAE's mean and log-var
    assert ae.net_.module_.code_head.out_features == 2
    assert vae.net_.module_.code_head.out_features == 4
    assert np.isfinite(vae.score(X))


def test_grid_search_picks_between_mlp_and_conv_encoders(digits):
    X = digits[0][:240]
    shape = (1, 8, 8)
    search = GridSearchCV(
        AutoencoderTransformer(4, max_iter=3, batch_size=64, random_state=0),
        {
            "encoder": [MLPEncoder((16,)), ConvEncoder(shape, channels=(4, 8))],
            "decoder": [None, ConvDecoder(shape, channels=(4, 8))],
        },
        cv=2,
        n_jobs=2,
    ).fit(X)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_
    assert best.transform(X).shape == (len(X), 4)
    # the grid's modules were cloned, never trained in place
    for encoder in search.param_grid["encoder"]:
        assert any(
            isinstance(m, nn.modules.lazy.LazyModuleMixin) for m in encoder.modules()
        )


@pytest.mark.parametrize(
    "shape, channels, inner",
    [
        ((3, 9, 7), (32, 64), (64, 3, 2)),
        ((1, 28, 28), (32, 64), (64, 7, 7)),
        ((2, 5, 3), (4, 8, 8), (8, 1, 1)),
        ((1, 1, 1), (4, 8), (8, 1, 1)),
    ],
)
def test_conv_blocks_reshape_flat_images(shape, channels, inner):
    # each stride-2 stage maps a side of n pixels to ceil(n / 2), odd or even,
    # and the decoder gives the image's size back
    encoder, decoder = ConvEncoder(shape, channels), ConvDecoder(shape, channels)
    n_features = int(np.prod(shape))
    assert decoder(torch.randn(5, 4)).shape == (5, n_features)
    assert encoder(torch.randn(5, n_features)).shape == (5, int(np.prod(inner)))
    with pytest.raises(ValueError, match="image_shape must be"):
        ConvEncoder((28, 28))


def test_pickle_round_trip_of_a_custom_module_model(X):
    encoder, decoder = _pair()
    model = AutoencoderTransformer(3, encoder=encoder, decoder=decoder, **SMALL).fit(X)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.transform(X), model.transform(X))


def test_save_load_needs_the_modules_handed_back(X, tmp_path):
    encoder, decoder = _pair()
    model = AutoencoderTransformer(3, encoder=encoder, decoder=decoder, **SMALL).fit(X)
    path = tmp_path / "m.skae"
    skae.save(model, path)
    with pytest.raises(ValueError, match=r"your own encoder.*torch.nn.modules"):
        skae.load(path)
    with pytest.raises(ValueError, match="your own decoder"):
        skae.load(path, encoder=encoder)
    with pytest.raises(ValueError, match="of class torch.nn.modules"):
        skae.load(path, encoder=nn.Linear(64, 32), decoder=decoder)
    fresh_encoder, fresh_decoder = _pair()  # other weights: the file's are used
    loaded = skae.load(path, encoder=fresh_encoder, decoder=fresh_decoder)
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    # a module that does not fit the weights is named, not a raw error
    wrong = nn.Sequential(nn.Linear(64, 8), nn.Tanh())
    with pytest.raises(ValueError, match="do not fit the network"):
        skae.load(path, encoder=wrong, decoder=fresh_decoder)


def test_save_load_of_lazy_blocks_by_class(X, tmp_path):
    model = AutoencoderTransformer(2, encoder=MLPEncoder(), **SMALL).fit(X)
    skae.save(model, tmp_path / "m.skae")
    with pytest.raises(ValueError, match="skae.nn.MLPEncoder"):
        skae.load(tmp_path / "m.skae")
    # a class that builds the same module with no arguments is enough
    loaded = skae.load(tmp_path / "m.skae", encoder=MLPEncoder)
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    with pytest.raises(ValueError, match="do not fit the network"):
        skae.load(tmp_path / "m.skae", encoder=MLPEncoder((8,)))


def test_relu_code_with_l1_penalty_has_exact_zeros(X):
    model = AutoencoderTransformer(
        16, code_activation="relu", penalty="l1", alpha=1.0, **{**SMALL, "max_iter": 20}
    ).fit(X)
    Z = model.transform(X)
    assert np.all(Z >= 0)
    assert np.mean(Z == 0) > 0.3
    plain = AutoencoderTransformer(16, **{**SMALL, "max_iter": 20}).fit(X)
    assert np.mean(plain.transform(X) == 0) == 0


def test_denoising_and_sparse_combine(X):
    both = DenoisingAutoencoder(8, penalty="l1", alpha=1.0, **SMALL).fit(X)
    assert both.net_.corruption is not None and both.net_.penalty.name == "l1"
    denoise_only = DenoisingAutoencoder(8, **SMALL).fit(X)
    # the penalty changed what was learnt, on the same seed and noise
    assert not np.allclose(both.transform(X), denoise_only.transform(X))
    sparse_noisy = SparseAutoencoder(8, noise="masking", noise_level=0.2, **SMALL)
    assert sparse_noisy.fit(X).net_.corruption.fraction == 0.2


def test_vae_carries_a_code_penalty(X):
    plain = VAETransformer(2, **SMALL).fit(X)
    penalised = VAETransformer(2, penalty="l1", alpha=5.0, **SMALL).fit(X)
    assert np.abs(penalised.transform(X)).mean() < np.abs(plain.transform(X)).mean()
    with pytest.raises(ValueError, match="penalty='kl' needs a code in"):
        VAETransformer(2, penalty="kl", **SMALL).fit(X)
    with pytest.raises(ValueError, match="code_activation=None"):
        VAETransformer(2, code_activation="relu", **SMALL).fit(X)


def test_asymmetric_decoder(X):
    model = AutoencoderTransformer(
        4, hidden_layer_sizes=(32, 16), decoder_layer_sizes=(48,), **SMALL
    ).fit(X)
    module = model.net_.module_
    widths = [m.out_features for m in module.encoder if isinstance(m, nn.Linear)]
    assert widths == [32, 16]
    widths = [m.out_features for m in module.decoder if isinstance(m, nn.Linear)]
    assert widths == [48, 64]


def test_activation_without_hidden_layers_is_an_error(X):
    with pytest.raises(ValueError, match="activation='tanh' has no effect"):
        AutoencoderTransformer(2, hidden_layer_sizes=(), activation="tanh").fit(X)
    encoder, decoder = _pair()
    with pytest.raises(ValueError, match="hidden_layer_sizes=.*no effect"):
        AutoencoderTransformer(
            3, encoder=encoder, decoder=decoder, hidden_layer_sizes=(8,)
        ).fit(X)
    # "identity" is linear either way, and the default is fine
    AutoencoderTransformer(
        2, hidden_layer_sizes=(), activation="identity", **SMALL
    ).fit(X)
    # with no hidden layer, a nonlinear code is code_activation's job
    model = AutoencoderTransformer(
        2, hidden_layer_sizes=(), code_activation="tanh", **SMALL
    ).fit(X)
    assert np.all(np.abs(model.transform(X)) <= 1)


def test_unknown_activation_lists_the_names_sorted(X):
    with pytest.raises(ValueError) as excinfo:
        AutoencoderTransformer(2, activation="swish").fit(X)
    names = str(excinfo.value).split("[")[1].split("]")[0]
    listed = [n.strip(" '") for n in names.split(",")]
    assert listed == sorted(listed) and "relu" in listed


def test_encoder_errors_are_explained(X):
    bad = nn.Sequential(nn.Linear(10, 4))  # expects 10 features, X has 64
    with pytest.raises(ValueError, match="encoder failed on a batch of shape"):
        AutoencoderTransformer(2, encoder=bad).fit(X)


def test_image_array_gets_a_hint():
    images = np.zeros((10, 8, 8))
    with pytest.raises(ValueError, match="ConvEncoder.*Found array with dim 3"):
        AutoencoderTransformer().fit(images)


@pytest.mark.parametrize("calls", ["partial", "fit then partial"])
def test_sparse_diagnostics_follow_every_training_call(X, calls):
    model = SparseAutoencoder(4, **SMALL)
    if calls == "fit then partial":
        model.fit(X)
        after_fit = model.mean_activation_.copy()
    model.partial_fit(X[:100])
    Z = np.abs(model.transform(X[:100]))
    # computed in float32 on the rows as trained; X is float64
    np.testing.assert_allclose(model.mean_activation_, Z.mean(axis=0), rtol=1e-5)
    rms = np.sqrt(np.mean(Z**2, axis=0))
    # an entry within rounding of its unit's threshold may fall either way
    inactive = np.mean(Z < 0.1 * rms)
    assert abs(model.inactive_fraction_ - inactive) <= 1 / Z.size
    if calls == "fit then partial":
        assert not np.allclose(model.mean_activation_, after_fit)


def test_contractive_penalty_shrinks_the_jacobian(X):
    def jacobian_norm(model):
        x = torch.as_tensor(
            Normalisation(model.offset_, model.scale_).apply(X, np.float32)
        )
        module = model.net_.module_.eval()
        jac = torch.autograd.functional.jacobian(
            lambda v: module.encode(v).sum(0), x
        )  # (k, n, d): rows do not interact
        return float(jac.pow(2).sum() / len(X))

    kw = dict(hidden_layer_sizes=(32,), activation="tanh", **{**SMALL, "max_iter": 10})
    plain = ContractiveAutoencoder(4, alpha=0.0, **kw).fit(X)
    contracted = ContractiveAutoencoder(4, alpha=1.0, **kw).fit(X)
    assert jacobian_norm(contracted) < 0.5 * jacobian_norm(plain)
    # the penalty is a piece: any estimator takes it
    assert AutoencoderTransformer(4, penalty="contractive", **kw).fit(X).n_iter_ == 10


def test_new_penalty_is_one_registered_class(X):
    from skae._objectives import PENALTIES

    assert {"l1", "l2", "kl", "contractive"} <= set(PENALTIES)
    with pytest.raises(ValueError, match="'penalty' parameter.*Got 'l3'"):
        AutoencoderTransformer(2, penalty="l3").fit(X)
