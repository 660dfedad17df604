"""The files of a run directory besides checkpoints: tokenizer and metrics."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

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


__all__ = ["METRICS_FILE", "TOKENIZER_FILE", "read_metrics"]
