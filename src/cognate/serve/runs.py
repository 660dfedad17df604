"""The runs `cognate serve` shows: found in the directories given, their `best` checkpoints
loaded, their cards (what the page and /v1/models say about them) and their metrics, read as
they grow while a run trains."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cognate.config import SPECIALIZATIONS
from cognate.errors import CognateError
from cognate.evaluate.suites import (
    HELDOUT_SIZE,
    PromptResult,
    TestItem,
    exact_match,
    heldout_suite,
    run_items,
    seed_suite,
)
from cognate.infer.bundle import Bundle, load
from cognate.rundir import METRICS_FILE

CHECKPOINT = "best"  # the checkpoint served: the highest validation exact-match
TEST_BATCH = 32  # prompts answered together, as `run_items` batches them by default
TRAINING_QUIET_SECONDS = 120  # a run whose metrics grew more recently than this is training
# The fields of metrics.jsonl the page draws (the records hold many more)
CURVE_FIELDS = ("kind", "step", "lm_loss", "val_loss", "exact_match", "halt_steps_mean")
CURVE_FIELDS += ("act_steps_mean",)


def _is_run(path: Path) -> bool:
    return (path / f"{CHECKPOINT}.json").exists() or (path / METRICS_FILE).exists()


def _spec_order(path: Path) -> tuple[int, str]:
    names = list(SPECIALIZATIONS)
    return (names.index(path.name) if path.name in names else len(names), path.name)


def find_run_dirs(paths: list[Path]) -> list[Path]:
    """Each path is a run directory (it holds best.json or metrics.jsonl) or a directory of
    runs such as runs/demo (its runs come in the specializations' order)."""
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            raise CognateError(f"{path}: no such directory; give run directories or runs/demo")
        if _is_run(path):
            found.append(path)
            continue
        runs = sorted((p for p in path.iterdir() if p.is_dir() and _is_run(p)), key=_spec_order)
        if not runs:
            raise CognateError(
                f"{path}: not a run directory (no {CHECKPOINT}.json or {METRICS_FILE}) and no "
                "run directories in it; train one with `cognate train --out DIR` or `make demo`"
            )
        found += runs
    by_name: dict[str, Path] = {}
    for run_dir in found:
        if run_dir.name in by_name:
            raise CognateError(
                f"two runs are named {run_dir.name} ({by_name[run_dir.name]} and {run_dir}); "
                "the API names a model by its run directory: rename one"
            )
        by_name[run_dir.name] = run_dir
    return found


@dataclass
class MetricsChunk:
    """New records of a metrics file, and the cursor to read the next ones from."""

    records: list[dict[str, Any]]
    cursor: str
    restarted: bool  # the file was rewritten (a resumed run): records start again from the top


def read_new_metrics(run_dir: Path, cursor: str = "") -> MetricsChunk:
    """The complete records of RUN_DIR/metrics.jsonl after `cursor` ("" = from the start),
    with the fields the curves need. A line still being written waits for the next call."""
    path = run_dir / METRICS_FILE
    if not path.exists():
        return MetricsChunk([], "", restarted=bool(cursor))
    inode, _, offset_text = cursor.partition(":")
    stat = path.stat()
    offset = int(offset_text) if offset_text.isdigit() else 0
    restarted = bool(cursor) and (inode != str(stat.st_ino) or offset > stat.st_size)
    if restarted or not cursor:
        offset = 0
    with path.open("rb") as file:
        file.seek(offset)
        data = file.read()
    complete = data[: data.rfind(b"\n") + 1]
    records = []
    for line in complete.splitlines():
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue  # one bad line must not hide the others
        if isinstance(record, dict):
            records.append({k: record[k] for k in CURVE_FIELDS if k in record})
    return MetricsChunk(records, f"{stat.st_ino}:{offset + len(complete)}", restarted)


class ServedRun:
    """One run: its best checkpoint (once it has one) and what its card shows."""

    def __init__(self, run_dir: Path, quantize: str | None = None) -> None:
        self.run_dir = run_dir
        self.name = run_dir.name
        self.quantize = quantize
        self.bundle: Bundle | None = None
        self.loaded_version: int | None = None
        self.seed_results: list[PromptResult] | None = None  # None: not computed yet
        self.heldout_exact_match: float | None = None

    @property
    def checkpoint(self) -> Path:
        return self.run_dir / CHECKPOINT

    def checkpoint_version(self) -> int | None:
        """Changes when training saves a new best checkpoint (its metadata is written last)."""
        meta = self.checkpoint.with_suffix(".json")
        return meta.stat().st_mtime_ns if meta.exists() else None

    def load(self) -> Bundle:
        """Load the best checkpoint as it is now (its tests are to be run again)."""
        version = self.checkpoint_version()
        self.bundle = load(self.checkpoint, quantize=self.quantize)
        self.loaded_version = version
        self.seed_results, self.heldout_exact_match = None, None
        return self.bundle

    @property
    def spec(self) -> str | None:
        if self.bundle is None:
            return None
        spec = self.bundle.metadata.get("run", {}).get("spec")
        return spec if spec in SPECIALIZATIONS else None

    def evaluation_jobs(self) -> list[Callable[[], None]]:
        """Jobs that answer the seed prompts, then score the held-out test split one batch
        per job, so that requests are decoded in between. A run does not store them, so the
        server computes them for each checkpoint it loads; the batches are those of
        `cognate test` (`run_items`'s: by prompt length), and so are the answers."""
        bundle, spec = self.bundle, self.spec
        if bundle is None or spec is None:
            return []
        model, tokenizer = bundle.model, bundle.tokenizer
        items = sorted(heldout_suite(spec), key=lambda item: len(tokenizer.encode(item.prompt)))
        results: list[PromptResult] = []

        def answer_seed_prompts() -> None:
            if self.bundle is bundle:
                self.seed_results = run_items(model, tokenizer, seed_suite(spec))

        def score(batch: list[TestItem]) -> None:
            if self.bundle is not bundle:  # a newer checkpoint has been loaded
                return
            results.extend(run_items(model, tokenizer, batch, batch_size=len(batch)))
            if len(results) == len(items):
                self.heldout_exact_match = exact_match(results)

        batches = [items[i : i + TEST_BATCH] for i in range(0, len(items), TEST_BATCH)]
        return [answer_seed_prompts, *(functools.partial(score, batch) for batch in batches)]

    def training_status(self) -> str:
        """One of: finished (a final checkpoint), training (metrics growing), stopped."""
        if (self.run_dir / "final.json").exists():
            return "finished"
        metrics = self.run_dir / METRICS_FILE
        if metrics.exists() and time.time() - metrics.stat().st_mtime < TRAINING_QUIET_SECONDS:
            return "training"
        return "stopped"

    def card(self) -> dict[str, Any]:
        """What the page's model card and /v1/models show."""
        card: dict[str, Any] = {
            "name": self.name,
            "run_dir": str(self.run_dir),
            "training": self.training_status(),
            "served": self.bundle is not None,
        }
        if self.bundle is None:
            return card
        meta, config = self.bundle.metadata, self.bundle.config
        validation = meta.get("best") or meta.get("metrics") or {}
        card.update(
            specialization=meta.get("run", {}).get("spec"),
            preset=meta.get("run", {}).get("preset"),
            checkpoint=str(self.checkpoint),
            step=meta.get("step"),
            epoch=meta.get("epoch"),
            train_seconds=meta.get("train_seconds"),
            parameters=self.bundle.model.parameter_counts(),
            context=config.max_seq_len,
            t_max=config.t_max,
            act_threshold=config.act_threshold,
            quantize=self.quantize,
            validation_exact_match=validation.get("exact_match"),
            validation_loss=validation.get("val_loss"),
            heldout_exact_match=self.heldout_exact_match,
            heldout_size=HELDOUT_SIZE,
            seed_prompts=None
            if self.seed_results is None
            else [r.as_dict() for r in self.seed_results],
        )
        return card
