import os
import signal

# sklearn's check_array_api_input runs its numpy-only variant only when scipy's
# array-API mode is on; without this it is skipped. Must precede scipy's import.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import pytest  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import skae  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def ctrl_c_raises():
    """Ctrl-C raises KeyboardInterrupt, as in a foreground Python process.

    A shell without job control starts background commands with SIGINT
    ignored, and Python then installs no handler of its own; the tests that
    send a real SIGINT need the usual one.
    """
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


# tiny nets and few epochs: sklearn's checks fit dozens of times each
FAST = dict(hidden_layer_sizes=(8,), max_iter=5)


@pytest.fixture(scope="session")
def digits():
    """The first 400 of sklearn's bundled digits: (X, y)."""
    X, y = load_digits(return_X_y=True)
    return X[:400], y[:400]


def fast_autoencoders():
    """One fast instance per public autoencoder and per distinct code path."""
    return [
        skae.AutoencoderTransformer(**FAST),
        skae.SparseAutoencoder(**FAST),
        skae.SparseAutoencoder(penalty="kl", **FAST),
        skae.DenoisingAutoencoder(**FAST),
        skae.DenoisingAutoencoder(noise="masking", **FAST),
        skae.VAETransformer(**FAST),
        skae.VAETransformer(likelihood="bernoulli", **FAST),
        skae.ContractiveAutoencoder(**FAST),
    ]


def fast_imputers():
    """The imputer around a tiny masking denoiser."""
    return [
        skae.AutoencoderImputer(
            skae.DenoisingAutoencoder(noise="masking", noise_level=0.25, **FAST)
        ),
        skae.AutoencoderImputer(
            skae.AutoencoderTransformer(**FAST), add_indicator=True, n_passes=1
        ),
    ]


def fast_estimators():
    """One fast instance per public estimator and per distinct code path:
    the autoencoders, then the outlier detector around two of them."""
    return [
        *fast_autoencoders(),
        # the inner model's random_state is fixed: sklearn's checks set only
        # the detector's own, which seeds the default model but not a given
        # one, and compare two fits
        skae.AutoencoderOutlierDetector(
            skae.AutoencoderTransformer(random_state=0, **FAST)
        ),
        skae.AutoencoderOutlierDetector(
            skae.VAETransformer(random_state=0, **FAST), contamination=0.2
        ),
    ]


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU visible to torch")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
