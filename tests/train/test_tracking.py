"""The tokens/s a run reports: the steps since the last record over their own time."""

from __future__ import annotations

import pytest

from cognate.train import tracking
from cognate.train.tracking import RunTracker, progress_bar


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Records:
    def __init__(self) -> None:
        self.records: list[dict] = []

    def log(self, record: dict) -> None:
        self.records.append(record)


def _step(tracker: RunTracker, clock: Clock, step: int, log_every: int) -> None:
    clock.now += 1.0  # one second and 100 tokens a step
    tracker.trained(step, clock.now, {"tokens": 100, "lm_loss": 1.0}, step % log_every == 0)


def test_tokens_per_second_ignore_a_validation_between_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock, metrics = Clock(), Records()
    monkeypatch.setattr(tracking.time, "perf_counter", clock)
    with progress_bar("test", show=False) as bar:
        tracker = RunTracker(metrics, bar, progress=0.0)  # type: ignore[arg-type]
        for step in range(1, 24):  # records at 5, 10, 15, 20; an epoch ends at 23
            _step(tracker, clock, step, log_every=5)
        clock.now += 30.0  # the validation
        tracker.validated(val_loss=1.0, exact_match=0.5)
        for step in range(24, 26):
            _step(tracker, clock, step, log_every=5)
    rates = [r["tokens_per_s"] for r in metrics.records]
    assert [r["step"] for r in metrics.records] == [5, 10, 15, 20, 25]
    assert rates == pytest.approx([100.0] * 5)
