import dataclasses

import pytest
import torch

from cognate.config import model_config

# The shape of the unit tests' models: small, with a window shorter than the test sequences.
SMALL_SHAPE = dict(
    d_model=32,
    n_layers=2,
    n_heads=2,
    d_ff=64,
    window=8,
    d_mem=12,
    t_max=3,
    micro_steps=2,
    kv_conv_width=4,  # off in the presets; on here so that every model test covers it
    conv_queries=True,
)


@pytest.fixture(autouse=True)
def _fixed_seed():
    torch.manual_seed(0)


@pytest.fixture
def small_config():
    """A model small enough for unit tests, with a window shorter than the test sequences."""
    return dataclasses.replace(model_config("tiny"), vocab_size=61, max_seq_len=64, **SMALL_SHAPE)


@pytest.fixture
def with_random_taps():
    """Returns a function giving a model's key/value convolutions random taps: they start at
    zero (the identity), which would let a test pass whatever the convolution does."""
    from cognate.model.attention import ShortConv

    def randomize(model):
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, ShortConv):
                    module.taps.normal_(0.0, 0.5)
        return model

    return randomize


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A saved `RUN_DIR/best` checkpoint: a small random model (like `small_config`) with its
    own BPE tokenizer, specialization "reasoning". Returns the checkpoint path (no suffix)."""
    from cognate.checkpoint import save_checkpoint
    from cognate.data.datasets import train_corpus
    from cognate.data.tasks import FAMILIES
    from cognate.data.tokenizer import train_bpe
    from cognate.model import CognateModel

    run_dir = tmp_path_factory.mktemp("run")
    tokenizer = train_bpe(train_corpus(dict.fromkeys(FAMILIES, 1.0), 400, seed=0), vocab_size=320)
    config = dataclasses.replace(
        model_config("tiny"), vocab_size=tokenizer.vocab_size, max_seq_len=128, **SMALL_SHAPE
    )
    torch.manual_seed(0)
    model = CognateModel(config)
    metadata = {
        "model_config": config.to_dict(),
        "tokenizer_file": "tokenizer.json",
        "run": {"spec": "reasoning"},
    }
    save_checkpoint(run_dir / "best", model.state_dict(), metadata)
    tokenizer.save(run_dir)
    return run_dir / "best"


@pytest.fixture
def one_thread():
    """Run a test on one thread: tiny models gain nothing from more, and OpenMP worker threads
    spinning on a core that another job holds slow small operations down a hundredfold."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
