import dataclasses

import pytest
import torch

from cognate.config import model_config


@pytest.fixture(autouse=True)
def _fixed_seed():
    torch.manual_seed(0)


@pytest.fixture
def small_config():
    """A model small enough for unit tests, with a window shorter than the test sequences."""
    return dataclasses.replace(
        model_config("tiny"),
        vocab_size=61,
        d_model=32,
        n_layers=2,
        n_heads=2,
        d_ff=64,
        window=8,
        d_mem=12,
        t_max=3,
        micro_steps=2,
        max_seq_len=64,
    )
