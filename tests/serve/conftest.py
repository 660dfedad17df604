"""A live `cognate serve` for the tests: three tiny random runs (reasoning, memory, speed)
served on 127.0.0.1 at a free port, one server per test module."""

import dataclasses
import json
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import openai
import pytest
import torch

from cognate.checkpoint import load_checkpoint, save_checkpoint
from cognate.config import SPECIALIZATIONS, model_config
from cognate.data.tokenizer import TOKENIZER_FILE
from cognate.model import CognateModel
from cognate.serve.app import Server, bound_socket, web_server
from cognate.serve.runs import find_run_dirs

SPECS = list(SPECIALIZATIONS)


def write_run(run_dir: Path, tiny_checkpoint: Path, spec: str, seed: int, step: int = 20) -> None:
    """A run directory like training leaves: best checkpoint (at `step`), tokenizer, metrics."""
    config = dataclasses.replace(
        load_checkpoint(tiny_checkpoint).model_config,
        act_threshold=SPECIALIZATIONS[spec].act_threshold,
        max_seq_len=model_config("tiny").max_seq_len,  # the held-out prompts fit, as in a run
    )
    torch.manual_seed(seed)
    model = CognateModel(config)
    validation = {"step": step, "exact_match": 0.25, "val_loss": 3.5, "act_steps_mean": 2.0}
    metadata = {
        "model_config": config.to_dict(),
        "tokenizer_file": TOKENIZER_FILE,
        "run": {"spec": spec, "preset": "tiny"},
        "step": step,
        "epoch": 0,
        "best": validation,
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(tiny_checkpoint.with_name(TOKENIZER_FILE), run_dir)  # saved first: its hash
    save_checkpoint(run_dir / "best", model.state_dict(), metadata)
    records = [
        {"kind": "train", "step": step // 2, "lm_loss": 5.0, "halt_steps_mean": 3.0},
        {"kind": "train", "step": step, "lm_loss": 4.0, "halt_steps_mean": 2.5},
        {"kind": "validation", **validation},
    ]
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture(scope="session")
def runs_dir(tiny_checkpoint, tmp_path_factory) -> Path:
    """A directory of three runs, as `make demo` leaves runs/demo (tiny random models)."""
    root = tmp_path_factory.mktemp("demo")
    for seed, spec in enumerate(SPECS):
        write_run(root / spec, tiny_checkpoint, spec, seed)
    return root


@pytest.fixture(scope="session")
def make_run(tiny_checkpoint):
    """Returns write_run(run_dir, spec, seed, step=20) for the tiny checkpoint's shape."""
    return lambda run_dir, spec, seed, step=20: write_run(
        run_dir, tiny_checkpoint, spec, seed, step
    )


@contextmanager
def live_server(paths: list[Path]):
    """Serve the runs on 127.0.0.1 at a free port; yields (base URL, Server)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the one_thread fixture: tiny models gain nothing from more
    server = Server(find_run_dirs(paths))
    server.load()
    sock = bound_socket("127.0.0.1", 0)
    uvicorn_server = web_server(server)
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uvicorn_server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", server
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=30)
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def serving():
    """Returns live_server: `with serving([RUN_DIR]) as (url, server)`."""
    return live_server


@pytest.fixture(scope="module")
def live(runs_dir):
    with live_server([runs_dir]) as (url, server):
        yield url, server


@pytest.fixture(scope="module")
def url(live) -> str:
    return live[0]


@pytest.fixture(scope="module")
def client(url) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=60)
