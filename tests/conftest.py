import dataclasses
import io
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch

from cognate.config import TrainConfig, model_config
from cognate.train.options import TrainOptions

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
    from cognate.data.tokenizer import TOKENIZER_FILE, train_bpe
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
        "tokenizer_file": TOKENIZER_FILE,
        "run": {"spec": "reasoning"},
    }
    tokenizer.save(run_dir)  # first: the checkpoint records its sha256
    save_checkpoint(run_dir / "best", model.state_dict(), metadata)
    return run_dir / "best"


@pytest.fixture
def one_thread():
    """Run a test on one thread: tiny models gain nothing from more, and OpenMP worker threads
    spinning on a core that another job holds slow small operations down a hundredfold."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# The tests' tiny training runs: 6 steps of `reasoning` on the CPU in fp32, a 2-layer 32-wide
# model with its own 300-token BPE, 8 rows a step, validated on 4 examples at the end only.
TINY_RUN_MODEL = dict(d_model=32, n_layers=2, n_heads=2, d_ff=64, d_mem=8, window=64)
TINY_RUN_CONFIG = dict(
    batch_size=8,
    precision="fp32",
    warmup_steps=5,
    eval_every=1000,
    eval_examples=4,
    health_samples=2,
    bpe_vocab_size=300,
    bpe_corpus_examples=300,
)
TINY_RUN_OPTIONS = dict(spec="reasoning", steps=6, device="cpu", show_progress=False)


def tiny_run_options(out: Path, **changes: Any) -> TrainOptions:
    """The options of a tiny training run into `out`. `changes` set TrainOptions or TrainConfig
    fields by name; `model_overrides` change the tiny model's shape."""
    config_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    config = {**TINY_RUN_CONFIG, **{k: v for k, v in changes.items() if k in config_fields}}
    options = {**TINY_RUN_OPTIONS, **{k: v for k, v in changes.items() if k not in config_fields}}
    options["model_overrides"] = {**TINY_RUN_MODEL, **options.get("model_overrides", {})}
    return TrainOptions(out=out, config=TrainConfig(**config), **options)


@pytest.fixture(scope="session")
def tiny_run():
    """`tiny_run_options`: `tiny_run(out, **changes)` gives the options of a tiny training run
    (for `cognate.train.trainer.train` or `Trainer`)."""
    return tiny_run_options


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """Run `cognate ARGS...` in this process: (exit code, stdout, stderr)."""
    from cognate.cli import main

    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main replaces it

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["cognate", *map(str, args)])
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        with pytest.raises(SystemExit) as stop:
            main()
        out, err = capsys.readouterr()
        return stop.value.code or 0, out, err

    return run


def _assert_one_error_line(err: str, *parts: str) -> None:
    assert err.startswith("error: ")
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    for part in parts:
        assert part in err


@pytest.fixture
def assert_one_error_line():
    """`assert_one_error_line(err, *parts)`: `err` (a command's stderr) is one `error: ...`
    line, no traceback, holding each of `parts`."""
    return _assert_one_error_line


def with_tiny_shapes(options: TrainOptions) -> TrainOptions:
    """`options` as `cognate train` made them, made a tiny run on the CPU: the tiny runs'
    model and training config, where the command line gave no other value."""
    defaults = TrainConfig()
    given = {
        f.name: getattr(options.config, f.name)
        for f in dataclasses.fields(TrainConfig)
        if getattr(options.config, f.name) != getattr(defaults, f.name)
    }
    tiny = tiny_run_options(options.out, **given)
    return dataclasses.replace(
        options,
        config=tiny.config,
        model_overrides={**tiny.model_overrides, **options.model_overrides},
        device="cpu",
        show_progress=False,
    )


@pytest.fixture(scope="session")
def tiny_shapes():
    """`with_tiny_shapes`: `tiny_shapes(options)` makes the options of `cognate train` tiny."""
    return with_tiny_shapes
