"""The files of a run directory besides checkpoints: tokenizer, metrics and lock.

One process at a time trains into a run directory: it holds an exclusive lock on `train.lock`
(the system drops the lock when the process ends, however it ends) and writes its pid and host
there, for whoever finds the directory busy. The file stays after the run: it marks the
directory as a Cognate run.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import warnings
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cognate.atomic import remove_stale_temps
from cognate.data.tokenizer import TOKENIZER_FILE
from cognate.errors import CognateError

METRICS_FILE = "metrics.jsonl"


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of RUN_DIR/metrics.jsonl ({"kind": "train" | "validation" | ..., ...}).

    A last line without its newline that is not JSON is what a crash while writing leaves: it
    is dropped with a warning. Any other line that is not a record is an error naming the file
    and the line.
    """
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        return []
    data = path.read_bytes()
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CognateError(f"{path}:{line}: not UTF-8 text (byte {error.start + 1})") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            if number == len(lines):  # the last line, and no newline after it
                warnings.warn(f"{path}:{number}: dropped, cut short by a crash", stacklevel=2)
                break
            raise CognateError(f"{path}:{number}: invalid JSON ({error.msg})") from None
        if not (
            isinstance(record, dict)
            and isinstance(record.get("kind"), str)
            and isinstance(record.get("step"), int)
        ):
            raise CognateError(
                f'{path}:{number}: not a metrics record (a JSON object with "kind" and "step")'
            )
        records.append(record)
    return records


LOCK_FILE = "train.lock"
# What a file system without locks (some network ones) answers to flock.
NO_LOCKS = (errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP)
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)


class RunDirError(CognateError):
    """A run directory that cannot be used: another process trains into it, it holds files
    that are not a Cognate run, or its disk cannot take a write."""


@contextlib.contextmanager
def writing(what: str, where: Path) -> Iterator[None]:
    """Turn the error of a disk that cannot take a write into one line: what, where, the fix."""
    try:
        yield
    except OSError as exc:
        if exc.errno in DISK_FULL:
            fix = "free space on that disk and continue with --resume, or choose another --out"
        elif exc.errno in NOT_WRITABLE:
            fix = "choose an --out where you can write"
        else:
            raise
        raise RunDirError(f"{where}: cannot write {what} ({exc.strerror}); {fix}") from None


@contextlib.contextmanager
def owning(run_dir: Path) -> Iterator[None]:
    """Hold `run_dir` (created if need be) for this process while in the block, after removing
    the temporary files its dead writers left. A RunDirError if another process holds it."""
    lock_path = run_dir / LOCK_FILE
    with writing("the run directory", run_dir):
        run_dir.mkdir(parents=True, exist_ok=True)
        lock = lock_path.open("a+")
    with lock:  # closing it drops the lock
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunDirError(
                f"{run_dir}: {_owner(lock_path)} trains into it; wait for it to end, or choose "
                "another --out"
            ) from None
        except OSError as exc:
            if exc.errno not in NO_LOCKS:
                raise
            warnings.warn(
                f"{run_dir}: cannot lock it ({exc.strerror}); make sure no other process "
                "trains into it",
                stacklevel=3,
            )
        with writing("the run directory", run_dir):
            lock.truncate(0)
            lock.write(json.dumps(_this_process()) + "\n")
            lock.flush()
            remove_stale_temps(run_dir)
        yield


def _this_process() -> dict[str, Any]:
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return {"pid": os.getpid(), "host": socket.gethostname(), "since": started}


def _owner(lock_path: Path) -> str:
    """ "pid N" (with its host when it is another machine), as the lock file names it."""
    try:
        owner = json.loads(lock_path.read_text())
        pid, host = int(owner["pid"]), str(owner["host"])
    except (OSError, ValueError, KeyError, TypeError):  # being written as we read
        return "another process"
    return f"pid {pid}" if host == socket.gethostname() else f"pid {pid} on {host}"


__all__ = [
    "LOCK_FILE",
    "METRICS_FILE",
    "TOKENIZER_FILE",
    "RunDirError",
    "owning",
    "read_metrics",
    "writing",
]
