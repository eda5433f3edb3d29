"""The ``device`` parameter, resolved to a ``torch.device``."""

import re

import torch


def resolve_device(device):
    """Map the ``device`` parameter to a ``torch.device``, or explain why not."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"cuda(?::(\d+))?", device)
    if match is None:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}."
        )
    if not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but no CUDA GPU is available to torch "
            "on this machine. Use device='cpu', or device='auto' to take a GPU only "
            "when one is present."
        )
    index = int(match.group(1) or 0)
    if index >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} was requested but only {torch.cuda.device_count()} "
            "CUDA device(s) are visible."
        )
    return torch.device("cuda", index)
