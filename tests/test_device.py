"""The ``device`` parameter: any device torch accepts, checked before any work.

Accelerators are absent here, so their availability is patched, as the CUDA
tests do; every test starts from a machine with none (whatever the real one
has), then makes the one it needs available.
"""

import numpy as np
import pytest
import torch
from sklearn.base import clone

import skae
from skae import AutoencoderTransformer, _training
from skae._device import resolve_device

SMALL = dict(hidden_layer_sizes=(8,), max_iter=3, batch_size=32, random_state=0)
HAS_XPU = hasattr(torch, "xpu")
ACCELERATORS = [
    "cuda",
    "mps",
    pytest.param("xpu", marks=pytest.mark.skipif(not HAS_XPU, reason="no torch.xpu")),
]


def _data(n=60, d=5):
    return np.random.RandomState(0).normal(size=(n, d))


@pytest.fixture
def machine(monkeypatch):
    """Patches torch's availability checks; ``machine(cuda=2, mps=1)`` makes
    two CUDA devices and one MPS device visible, and nothing else."""

    def set_devices(cuda=0, mps=0, xpu=0):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps > 0)
        if HAS_XPU:
            monkeypatch.setattr(torch.xpu, "is_available", lambda: xpu > 0)
            monkeypatch.setattr(torch.xpu, "device_count", lambda: xpu)

    set_devices()
    return set_devices


@pytest.mark.parametrize("kind", ACCELERATORS)
def test_accelerator_accepted_when_available(machine, kind):
    machine(**{kind: 1})
    expected = torch.device(kind, 0) if kind == "cuda" else torch.device(kind)
    assert resolve_device(kind) == expected
    assert resolve_device(torch.device(kind)) == expected
    assert resolve_device(f"{kind}:0") == torch.device(kind, 0)


@pytest.mark.parametrize("kind", ACCELERATORS)
def test_unavailable_accelerator_is_refused_with_the_fix(machine, kind):
    message = (
        f"device='{kind}' was requested but no .* is available to torch on this "
        r"machine \(available: 'cpu'\)\. Use device='cpu', or device='auto'"
    )
    with pytest.raises(ValueError, match=message):
        resolve_device(kind)
    with pytest.raises(ValueError, match=message):
        resolve_device(torch.device(kind))


@pytest.mark.parametrize("kind", ACCELERATORS)
def test_unavailable_device_fails_fit_before_any_work(machine, kind, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("a net was built")

    monkeypatch.setattr(_training, "build_net", forbidden)
    est = AutoencoderTransformer(device=kind, **SMALL)
    with pytest.raises(ValueError, match=f"device='{kind}' was requested"):
        est.fit(_data())
    assert not hasattr(est, "n_features_in_")


def test_message_lists_the_available_devices(machine):
    machine(cuda=2, mps=1)
    with pytest.raises(
        ValueError, match=r"available: 'cpu', 'cuda:0', 'cuda:1', 'mps'"
    ):
        resolve_device("cuda:2")
    with pytest.raises(ValueError, match="only 1 MPS device"):
        resolve_device("mps:1")


@pytest.mark.skipif(not HAS_XPU, reason="no torch.xpu")
def test_xpu_index_beyond_the_visible_devices(machine):
    machine(xpu=2)
    assert resolve_device("xpu:1") == torch.device("xpu", 1)
    with pytest.raises(ValueError, match="only 2 XPU device"):
        resolve_device("xpu:2")


@pytest.mark.parametrize(
    ("visible", "expected"),
    [
        ({}, "cpu"),
        ({"mps": 1}, "mps"),
        ({"cuda": 1}, "cuda"),
        ({"cuda": 1, "mps": 1}, "cuda"),
        ({"cuda": 2, "mps": 1, "xpu": 1}, "cuda"),
        pytest.param(
            {"xpu": 1},
            "cpu",
            marks=pytest.mark.skipif(not HAS_XPU, reason="no torch.xpu"),
        ),
    ],
)
def test_auto_prefers_cuda_then_mps_then_cpu(machine, visible, expected):
    machine(**visible)
    assert resolve_device("auto") == torch.device(expected)


@pytest.mark.parametrize("device", ["tpu", "cuda:x", "", "CPU", "cuda0"])
def test_unknown_string_is_a_clear_error(machine, device):
    with pytest.raises(ValueError, match="device must be 'auto', a torch.device or"):
        resolve_device(device)
    with pytest.raises(ValueError, match="device must be"):
        AutoencoderTransformer(device=device, **SMALL).fit(_data())


def test_device_torch_knows_but_cannot_check_is_refused(machine):
    # "meta" parses, but there is no backend to train on
    with pytest.raises(ValueError, match="torch has no 'meta' backend"):
        resolve_device("meta")


def test_device_of_another_type_is_refused():
    with pytest.raises(ValueError, match="device"):
        AutoencoderTransformer(device=0, **SMALL).fit(_data())
    with pytest.raises(ValueError, match="of type int"):
        resolve_device(0)


def test_torch_device_instances(machine):
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    machine(cuda=2)
    assert resolve_device(torch.device("cuda", 1)) == torch.device("cuda", 1)
    with pytest.raises(ValueError, match=r"device='cuda:2' was requested"):
        resolve_device(torch.device("cuda", 2))


def test_fit_on_a_torch_device_keeps_it_through_get_params_and_clone():
    X = _data()
    device = torch.device("cpu")
    est = AutoencoderTransformer(2, device=device, **SMALL).fit(X)
    assert est.get_params()["device"] == device
    assert isinstance(est.get_params()["device"], torch.device)
    assert torch.device(est.net_.device) == device
    copy = clone(est)
    assert isinstance(copy.device, torch.device)
    assert copy.device == device
    by_name = AutoencoderTransformer(2, device="cpu", **SMALL).fit(X)
    np.testing.assert_array_equal(est.transform(X), by_name.transform(X))


def test_save_load_with_a_torch_device(tmp_path):
    X = _data()
    est = AutoencoderTransformer(2, device=torch.device("cpu"), **SMALL).fit(X)
    skae.save(est, tmp_path / "m.skae")
    loaded = skae.load(tmp_path / "m.skae")
    assert loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))
    again = skae.load(tmp_path / "m.skae", device=torch.device("cpu"))
    np.testing.assert_array_equal(again.transform(X), est.transform(X))


@pytest.mark.parametrize("kind", ["mps", "xpu"])
def test_load_of_an_accelerator_model_falls_back_to_cpu(machine, kind, tmp_path):
    X = _data()
    est = AutoencoderTransformer(2, **SMALL).fit(X)
    # stand-in for a model trained on that accelerator: the device it was
    # fitted with is what the file records
    est._fitted_params = {**est._fitted_params, "device": kind}
    skae.save(est, tmp_path / "m.skae")
    with pytest.warns(UserWarning, match=f"saved with device='{kind}'"):
        loaded = skae.load(tmp_path / "m.skae")
    assert loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))
