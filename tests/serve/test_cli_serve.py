"""`cognate serve` as a user runs it: the address it prints, and one-line errors."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from cognate.cli import main

SRC = Path(__file__).resolve().parents[2] / "src"


def _ctrl_c_as_usual() -> None:
    """A shell starts background jobs with Ctrl-C ignored, which Python keeps: undo that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_serve_prints_its_address_and_stops_on_ctrl_c(runs_dir):
    command = [sys.executable, "-m", "cognate", "serve", str(runs_dir), "--port", "0"]
    environment = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env=environment, preexec_fn=_ctrl_c_as_usual
    )
    try:
        line = server.stdout.readline()
        assert "serving reasoning, memory, speed" in line
        url = re.search(r"page (http://127\.0\.0\.1:\d+)/", line).group(1)
        assert f"OpenAI API {url}/v1" in line
        with urllib.request.urlopen(f"{url}/v1/models", timeout=60) as response:
            assert [m["id"] for m in json.load(response)["data"]] == [
                "reasoning",
                "memory",
                "speed",
            ]
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=60) == 130  # the status of a Ctrl-C, as for every command


@pytest.fixture
def busy_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["{empty}"], "not a run directory"),
        (["{empty}/missing"], "no such directory"),
        (["{runs}", "--quantize", "int3"], "quantize must be one of"),
        (["{runs}", "--port", "{busy}"], "choose another --port"),
    ],
)
def test_a_mistake_is_one_line(
    arguments, message, runs_dir, tmp_path, busy_port, monkeypatch, capsys
):
    places = {"empty": tmp_path, "runs": runs_dir, "busy": busy_port}
    monkeypatch.setattr(sys, "argv", ["cognate", "serve", *(a.format(**places) for a in arguments)])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
