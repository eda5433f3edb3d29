"""skae.onnx: skl2onnx converters and the inverse_transform graph, checked
against skae itself with onnxruntime."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("onnxscript")  # torch's ONNX exporter runs on it
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")

import torch  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

import skae  # noqa: E402
import skae.onnx  # noqa: E402
from skae.onnx import ExportError, to_onnx_inverse  # noqa: E402

#: max |onnxruntime - skae| / max |skae| on the training data
TOLERANCE = 1e-5

TINY = dict(n_components=4, hidden_layer_sizes=(16,), max_iter=3, random_state=0)


def _cases():
    """Every public estimator (discovered, as skae.onnx registers them) and
    the variants whose inference graph differs: the KL penalty's sigmoid
    code, both VAE likelihoods, both losses."""
    cases = {cls.__name__: cls(**TINY) for cls in skae.onnx.estimator_classes()}
    cases["SparseAutoencoder-kl"] = skae.SparseAutoencoder(penalty="kl", **TINY)
    cases["VAETransformer-gaussian"] = skae.VAETransformer(
        likelihood="gaussian", **TINY
    )
    cases["VAETransformer-bernoulli"] = skae.VAETransformer(
        likelihood="bernoulli", **TINY
    )
    cases["AutoencoderTransformer-mse"] = skae.AutoencoderTransformer(
        loss="mse", **TINY
    )
    # init="pca": skae's blocks beside a linear path (a concatenation)
    cases["AutoencoderTransformer-pca"] = skae.AutoencoderTransformer(
        init="pca", **TINY
    )
    # TopK builds its own linear network: ONNX's TopK, a scatter, a threshold
    for penalty in ("topk", "batchtopk"):
        cases[f"SparseAutoencoder-{penalty}"] = skae.SparseAutoencoder(
            8, penalty=penalty, n_nonzero_coefs=2, max_iter=3, random_state=0
        )
    return cases


CASES = _cases()
DTYPES = [np.float32, np.float64]


def _fit(estimator, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clone(estimator).fit(X, y)


def _session(model):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def _run(model, X):
    session = _session(model)
    return session.run(None, {session.get_inputs()[0].name: X})


def _relative_error(got, expected):
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    return float(np.abs(got - expected).max() / np.abs(expected).max())


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


@pytest.fixture(scope="module")
def fitted(digits):
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = _fit(CASES[name], digits[0])
        return cache[name]

    return get


def test_every_public_estimator_is_registered():
    names = {cls.__name__ for cls in skae.onnx.estimator_classes()}
    assert names == {
        "AutoencoderTransformer",
        "SparseAutoencoder",
        "DenoisingAutoencoder",
        "ContractiveAutoencoder",
        "VAETransformer",
    }
    for cls in skae.onnx.estimator_classes():
        assert f"Skae{cls.__name__}" in skl2onnx.supported_converters()
    # the two built on them: converted, or refused with a clear error
    for name in ("AutoencoderOutlierDetector", "AutoencoderImputer"):
        assert f"Skae{name}" in skl2onnx.supported_converters()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", CASES)
@pytest.mark.slow
def test_transform_parity(name, dtype, digits, fitted):
    estimator = fitted(name)
    X = digits[0].astype(dtype)
    model = skl2onnx.to_onnx(estimator, X[:1])
    onnx.checker.check_model(model, full_check=True)
    (codes,) = _run(model, X)
    assert _relative_error(codes, estimator.transform(X)) <= TOLERANCE


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", CASES)
@pytest.mark.slow
def test_inverse_transform_parity(name, dtype, digits, fitted):
    estimator = fitted(name)
    Z = estimator.transform(digits[0].astype(dtype))
    model = to_onnx_inverse(estimator, Z)
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["X"]
    assert [o.name for o in model.graph.output] == ["X_original"]
    (X_back,) = _run(model, Z)
    assert _relative_error(X_back, estimator.inverse_transform(Z)) <= TOLERANCE


def test_inverse_takes_a_dtype(fitted):
    estimator = fitted("AutoencoderTransformer")
    for dtype in DTYPES:
        model = to_onnx_inverse(estimator, dtype)
        (output,) = _run(model, np.zeros((3, 4), dtype=dtype))
        assert output.dtype == dtype and output.shape == (3, 64)
    assert to_onnx_inverse(estimator).graph.input[0].type.tensor_type.elem_type == (
        onnx.TensorProto.FLOAT
    )
    with pytest.raises(ValueError, match="float32 or float64"):
        to_onnx_inverse(estimator, np.int64)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_pipeline_scaler_autoencoder_logistic_regression(dtype, digits):
    X, y = digits
    X = X.astype(dtype)
    pipeline = Pipeline(
        [
            ("scale", MinMaxScaler()),
            ("ae", skae.AutoencoderTransformer(**TINY)),
            ("lr", LogisticRegression(max_iter=300)),
        ]
    )
    pipeline = _fit(pipeline, X, y)
    # onnxruntime's ZipMap takes float32 probabilities only
    options = None if dtype == np.float32 else {LogisticRegression: {"zipmap": False}}
    model = skl2onnx.to_onnx(pipeline, X[:1], options=options)
    labels, probabilities = _run(model, X)
    np.testing.assert_array_equal(labels, pipeline.predict(X))
    if dtype == np.float64:
        np.testing.assert_allclose(
            probabilities, pipeline.predict_proba(X), rtol=0, atol=1e-5
        )
    (one,), _ = _run(model, X[:1])
    assert one == pipeline.predict(X[:1])[0]


@pytest.mark.slow
def test_conv_encoder_and_decoder(digits):
    X = digits[0][:400]
    estimator = _fit(
        skae.AutoencoderTransformer(
            3,
            encoder=skae.nn.ConvEncoder((1, 8, 8), channels=(4, 8)),
            decoder=skae.nn.ConvDecoder((1, 8, 8), channels=(4, 8)),
            max_iter=3,
            random_state=0,
        ),
        X,
    )
    for dtype in DTYPES:
        Xd = X.astype(dtype)
        (codes,) = _run(skl2onnx.to_onnx(estimator, Xd[:1]), Xd)
        Z = estimator.transform(Xd)
        assert _relative_error(codes, Z) <= TOLERANCE
        (X_back,) = _run(to_onnx_inverse(estimator, Z), Z)
        assert _relative_error(X_back, estimator.inverse_transform(Z)) <= TOLERANCE


class _Branchy(torch.nn.Module):
    """Python control flow on a tensor's value: torch.export refuses it."""

    def forward(self, x):
        if x.sum() > 0:
            return x * 2
        return x - 1


class _Digamma(torch.nn.Module):
    """An operator torch's ONNX exporter has no translation for."""

    def forward(self, x):
        return torch.digamma(torch.sigmoid(x) + 1)


def test_module_that_cannot_be_traced_is_named(digits):
    encoder = torch.nn.Sequential(torch.nn.LazyLinear(8), torch.nn.ReLU(), _Branchy())
    estimator = _fit(
        skae.AutoencoderTransformer(3, encoder=encoder, max_iter=2, random_state=0),
        digits[0][:200],
    )
    with pytest.raises(ExportError, match=r"encoder .*'encoder\.2' \(_Branchy\)"):
        skl2onnx.to_onnx(estimator, digits[0][:1].astype(np.float32))
    # the decoder is a plain MLP: the inverse exports
    to_onnx_inverse(estimator)


def test_operator_without_onnx_translation_is_named(digits):
    decoder = torch.nn.Sequential(
        torch.nn.LazyLinear(8), torch.nn.Sequential(torch.nn.ReLU(), _Digamma())
    )
    estimator = _fit(
        skae.AutoencoderTransformer(3, decoder=decoder, max_iter=2, random_state=0),
        digits[0][:200],
    )
    with pytest.raises(
        ExportError, match=r"decoder .*'decoder\.1\.1' \(_Digamma\) .*digamma"
    ):
        to_onnx_inverse(estimator)
    skl2onnx.to_onnx(estimator, digits[0][:1].astype(np.float32))


def test_export_is_deterministic(fitted, digits):
    estimator = fitted("SparseAutoencoder")
    X = digits[0][:1].astype(np.float32)
    first = skl2onnx.to_onnx(estimator, X).SerializeToString()
    assert skl2onnx.to_onnx(estimator, X).SerializeToString() == first
    assert (
        to_onnx_inverse(estimator).SerializeToString()
        == to_onnx_inverse(estimator).SerializeToString()
    )


def test_export_leaves_the_estimator_untouched(fitted, digits):
    estimator = fitted("AutoencoderTransformer")
    X = digits[0].astype(np.float32)
    before = estimator.transform(X)
    state = {k: v.clone() for k, v in estimator.net_.module_.state_dict().items()}
    training = [m.training for m in estimator.net_.module_.modules()]
    skl2onnx.to_onnx(estimator, X[:1])
    to_onnx_inverse(estimator)
    after = estimator.net_.module_.state_dict()
    assert all(torch.equal(state[k], after[k]) for k in state)
    assert [m.training for m in estimator.net_.module_.modules()] == training
    np.testing.assert_array_equal(estimator.transform(X), before)


def test_opset(fitted, digits):
    estimator = fitted("AutoencoderTransformer")
    X = digits[0][:1].astype(np.float32)
    model = skl2onnx.to_onnx(estimator, X, target_opset=skae.onnx.MIN_OPSET)
    assert {o.domain: o.version for o in model.opset_import}[""] == 18
    assert {o.domain: o.version for o in to_onnx_inverse(estimator).opset_import}[
        ""
    ] == skl2onnx.get_latest_tested_opset_version()
    with pytest.raises(ValueError, match="opset 18 or later"):
        skl2onnx.to_onnx(estimator, X, target_opset=17)
    with pytest.raises(ValueError, match="opset 18 or later"):
        to_onnx_inverse(estimator, target_opset=17)


def test_errors(fitted, digits):
    with pytest.raises(NotFittedError):
        to_onnx_inverse(skae.AutoencoderTransformer())
    with pytest.raises(ValueError, match="fitted on 64 features"):
        skl2onnx.to_onnx(
            fitted("AutoencoderTransformer"), digits[0][:1, :10].astype(np.float32)
        )


@pytest.mark.slow
def test_skae_does_not_import_the_onnx_extra():
    code = (
        "import sys, skae; "
        "bad = [m for m in ('skae.onnx', 'skl2onnx', 'onnx', 'onnxruntime') "
        "if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------- the outlier detector, the imputer


def _detector(model, X):
    return _fit(skae.AutoencoderOutlierDetector(model, contamination=0.1), X)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.slow
def test_outlier_detector_label_and_decision_function(dtype, digits):
    X = digits[0].astype(dtype)
    detector = _detector(skae.AutoencoderTransformer(**TINY), X)
    model = skl2onnx.to_onnx(detector, X[:1])
    onnx.checker.check_model(model, full_check=True)
    assert [o.name for o in model.graph.output] == ["label", "scores"]
    label, scores = _run(model, X)
    # as skl2onnx's IsolationForest: (N, 1) label and decision_function
    assert label.shape == scores.shape == (len(X), 1)
    decision = detector.decision_function(X)
    assert scores.dtype == dtype
    error = np.abs(scores.ravel() - decision).max()
    assert error / np.abs(detector.score_samples(X)).max() <= TOLERANCE
    # the labels agree but where the decision is within float error of 0
    clear = np.abs(decision) > 10 * error
    assert clear.mean() > 0.99
    np.testing.assert_array_equal(label.ravel()[clear], detector.predict(X)[clear])
    assert set(np.unique(label)) == {-1, 1}


@pytest.mark.slow
def test_outlier_detector_in_a_pipeline(digits):
    X = digits[0].astype(np.float32)
    pipe = _fit(
        Pipeline(
            [
                ("scale", MinMaxScaler()),
                (
                    "detect",
                    skae.AutoencoderOutlierDetector(
                        skae.DenoisingAutoencoder(**TINY), contamination=0.1
                    ),
                ),
            ]
        ),
        X,
    )
    label, scores = _run(skl2onnx.to_onnx(pipe, X[:1]), X)
    np.testing.assert_allclose(
        scores.ravel(), pipe.decision_function(X), rtol=0, atol=1e-5
    )
    assert (label.ravel() == pipe.predict(X)).mean() > 0.99


def test_outlier_detector_scored_otherwise_is_refused_with_the_alternative(digits):
    X = digits[0][:200]
    detector = _detector(skae.VAETransformer(**TINY), X)
    with pytest.raises(ExportError, match=r"VAETransformer.*detector\.estimator_"):
        skl2onnx.to_onnx(detector, X[:1].astype(np.float32))
    with pytest.raises(NotFittedError):
        skl2onnx.to_onnx(skae.AutoencoderOutlierDetector(), X[:1].astype(np.float32))


def test_imputer_is_refused_with_the_alternative(digits):
    X = digits[0][:200].copy()
    X[::4, 3] = np.nan
    imputer = _fit(
        skae.AutoencoderImputer(
            skae.DenoisingAutoencoder(noise="masking", noise_level=0.25, **TINY)
        ),
        X,
    )
    with pytest.raises(ExportError, match="AutoencoderImputer.*SimpleImputer"):
        skl2onnx.to_onnx(imputer, X[:1].astype(np.float32))
