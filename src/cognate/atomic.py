"""Files written whole or not at all: each is written to a temporary `NAME.tmp-PID` beside it,
then renamed over NAME. A write that fails removes its temporary; a writer killed in between
leaves it behind, and the next process to own the directory removes those whose writer is dead.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from pathlib import Path

_TEMPORARY = re.compile(r"\.tmp-(\d+)$")
# How the Rust libraries (safetensors, tokenizers) end the message of an I/O error.
_RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)$")


def temp_path(path: Path) -> Path:
    """Where this process writes `path` before renaming it into place."""
    return path.with_name(f"{path.name}.tmp-{os.getpid()}")


def rust_os_error(error: Exception, path: Path) -> OSError | None:
    """The OSError behind a Rust library's exception ("... No space left on device (os error
    28)"), or None when it is not an I/O error."""
    found = _RUST_OS_ERROR.search(str(error))
    if found is None:
        return None
    code = int(found.group(1))
    return OSError(code, os.strerror(code), str(path))


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Write `path` whole or not at all: `write(temporary)` fills a temporary beside it, which
    is renamed over `path`. A failure leaves no temporary (an I/O error raises an OSError)."""
    temporary = temp_path(path)
    try:
        try:
            write(temporary)
        except Exception as error:
            os_error = rust_os_error(error, path)
            if os_error is None:
                raise
            raise os_error from error
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):  # a read-only disk refuses this too
            temporary.unlink(missing_ok=True)
        raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def remove_stale_temps(directory: Path) -> list[Path]:
    """Delete the temporaries in `directory` whose writer is no longer running; return them."""
    stale = []
    for path in directory.iterdir():
        match = _TEMPORARY.search(path.name)
        if match and path.is_file() and not _alive(int(match.group(1))):
            path.unlink(missing_ok=True)
            stale.append(path)
    return stale
