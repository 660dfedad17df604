"""The CUDA-marked tests need a GPU. `make test` deselects them (pyproject.toml's addopts:
-m "not cuda"); `pytest -m cuda` runs them, as benchmarks/gpu_check.sh does. Asked for on a
machine without a GPU (or with one GPU, for `multi_gpu`), they fail: never a silent skip."""

import pytest
import torch


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("cuda") and not torch.cuda.is_available():
        pytest.fail("a CUDA-marked test needs a CUDA GPU; this machine has none", pytrace=False)
    if item.get_closest_marker("multi_gpu") and torch.cuda.device_count() < 2:
        found = torch.cuda.device_count()
        pytest.fail(f"a multi_gpu test needs 2 CUDA GPUs; this machine has {found}", pytrace=False)
