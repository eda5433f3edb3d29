import os

# sklearn's check_array_api_input runs its numpy-only variant only when scipy's
# array-API mode is on; without this it is skipped. Must precede scipy's import.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import pytest  # noqa: E402
import torch  # noqa: E402


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU visible to torch")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
