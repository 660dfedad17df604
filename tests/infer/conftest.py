import pytest
import torch

import cognate.infer.kernels as kernels


@pytest.fixture
def split_products(monkeypatch, one_thread):
    """Every fp32 matrix of a product (or decoder) built inside is split over 2 threads (see
    `Dense`); the one_thread fixture restores the thread count afterwards."""
    monkeypatch.setattr(kernels, "SPLIT_NUMEL", 0)
    torch.set_num_threads(2)


@pytest.fixture
def packed_products(monkeypatch):
    """Every fp32 matrix of a product (or decoder) built inside takes oneDNN's packed product
    for several rows (see `Dense`)."""
    monkeypatch.setattr(kernels, "PACK_NUMEL", 0)
