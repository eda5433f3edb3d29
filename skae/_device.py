"""The ``device`` parameter: which torch device a model trains and runs on.

:func:`resolve_device` turns ``"auto"``, any device string torch accepts
(``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``, ``"xpu"``, ...) or a
``torch.device`` into a ``torch.device`` that exists on this machine, and
raises a ValueError naming the device, what is available and the fix before
any work is done otherwise.
"""

import torch

#: Accelerators whose availability skae checks itself, in the order
#: ``device="auto"`` tries them (the CPU comes last) where marked so:
#: type -> (name in messages, tried by "auto", is_available, device_count).
#: Looked up at call time, so that tests can patch torch's functions.
_ACCELERATORS = {
    "cuda": (
        "CUDA GPU",
        True,
        lambda: torch.cuda.is_available(),
        lambda: torch.cuda.device_count(),
    ),
    "mps": (
        "Apple MPS device",
        True,
        lambda: torch.backends.mps.is_available(),
        lambda: 1,  # MPS has one device, whatever the host reports
    ),
    "xpu": (
        "Intel XPU",
        False,
        lambda: hasattr(torch, "xpu") and torch.xpu.is_available(),
        lambda: torch.xpu.device_count(),
    ),
}

_AUTO = "device='auto' (a CUDA GPU, else an Apple MPS device, else the CPU)"


def resolve_device(device):
    """Map the ``device`` parameter to a ``torch.device``, or explain why not.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"``, a device string torch accepts, or a ``torch.device``.

    Returns
    -------
    device : torch.device
        A device that torch can use on this machine.

    Raises
    ------
    ValueError
        If ``device`` is not a device torch knows, or is one that this
        machine does not have.
    """
    if isinstance(device, str) and device == "auto":
        for kind, (_, by_auto, is_available, _) in _ACCELERATORS.items():
            if by_auto and is_available():
                return torch.device(kind)
        return torch.device("cpu")
    if isinstance(device, torch.device):
        resolved, label = device, str(device)
    elif isinstance(device, str):
        label = device
        try:
            resolved = torch.device(device)
        except RuntimeError:
            raise ValueError(
                "device must be 'auto', a torch.device or a device string torch "
                "accepts ('cpu', 'cuda', 'cuda:N', 'mps', 'xpu', ...); got "
                f"{device!r}."
            ) from None
    else:
        raise ValueError(
            "device must be 'auto', a device string or a torch.device; got "
            f"{device!r} of type {type(device).__name__}."
        )
    if resolved.type == "cpu":
        return resolved

    name, is_available, count = _backend(resolved.type)
    if name is None:
        raise ValueError(
            f"device={label!r} was requested but torch has no {resolved.type!r} "
            "backend that skae can check on this machine (available: "
            f"{_available()}). Use one of those, or {_AUTO}."
        )
    if not is_available():
        raise ValueError(
            f"device={label!r} was requested but no {name} is available to torch "
            f"on this machine (available: {_available()}). Use device='cpu', or "
            f"{_AUTO} to take an accelerator only when one is present."
        )
    if resolved.index is not None and resolved.index >= (n := count()):
        raise ValueError(
            f"device={label!r} was requested but only {n} {resolved.type.upper()} "
            f"device(s) are visible (available: {_available()})."
        )
    if resolved.type == "cuda" and resolved.index is None:
        return torch.device("cuda", 0)  # as skae always did: not "the current"
    return resolved


def _backend(kind):
    """(name, is_available, device_count) for a device type; (None, None,
    None) when torch has no backend to ask."""
    if kind in _ACCELERATORS:
        name, _, is_available, count = _ACCELERATORS[kind]
        return name, is_available, count
    # out-of-tree backends (torch_npu's torch.npu, ...) follow torch.cuda
    module = getattr(torch, kind, None)
    if not callable(getattr(module, "is_available", None)):
        return None, None, None
    count = getattr(module, "device_count", lambda: 1)
    return f"{kind!r} device", module.is_available, count


def _available():
    """The devices torch can use here, as a readable list."""
    names = ["cpu"]
    for kind, (_, _, is_available, count) in _ACCELERATORS.items():
        if is_available():
            n = count()
            names += [kind] if n <= 1 else [f"{kind}:{i}" for i in range(n)]
    return ", ".join(repr(n) for n in names)
