"""Stopping a run when asked: SIGINT (Ctrl-C) and SIGTERM (`kill`, `docker stop`, a job
scheduler) end training before its next step, once `last` is saved, with the exit status a
shell gives that signal (128 + its number: 130, 143).

Signals after the first are ignored while the run stops: under torchrun a rank gets Ctrl-C from
the terminal and again from torchrun, which passes it on. (Ctrl-\\ quits at once, unsaved.) The
ranks need not get it before the same step: all stop before the first step any was asked to.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import torch

from cognate.train.distributed import Distributed

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # ranks asked by both report SIGINT


class Interrupted(Exception):
    """Training stopped for a signal, after saving `last`; a command exits with `exit_code`."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


class StopRequests:
    """The first stop signal this process received while `listening`, if any."""

    def __init__(self) -> None:
        self.signal: int | None = None

    @contextlib.contextmanager
    def listening(self) -> Iterator[StopRequests]:
        """Catch STOP_SIGNALS in the block (Python delivers signals to the main thread only:
        elsewhere they keep their handlers)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {signum: signal.signal(signum, self._received) for signum in STOP_SIGNALS}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _received(self, signum: int, frame: FrameType | None) -> None:
        if self.signal is None:
            self.signal = signum

    def agreed(self, dist: Distributed) -> int | None:
        """The signal every rank stops for now, or None while no rank received one."""
        received = torch.tensor([float(self.signal == signum) for signum in STOP_SIGNALS])
        counts = dist.sum(received).tolist()
        return next((s for s, n in zip(STOP_SIGNALS, counts, strict=True) if n > 0), None)
