"""Exact-match scoring and output-health figures: defined once, used by training and testing.

Scoring: the generated answer is cut at the first newline, stripped and lower-cased (the
end-of-text token already ended it). A numeric expected answer matches when the first number
in the output equals it ("8 apples" answers 8); a text answer matches when the output starts
with it at a word boundary ("Paris." answers Paris, "Parisian" does not).

Output health looks for the mode collapse the seed saw ("did did did", "::::", "44444444"):
outputs are split into units (words, single digits, single punctuation marks). A lone number
of up to five digits is an answer, whatever its digits ("111").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_UNIT = re.compile(r"[^\W\d_]+|\d|[^\w\s]")
_SHORT_NUMBER = re.compile(r"-?\d{1,5}(?:\.\d+)?")

# An output is degenerate when it repeats itself: a word three times in a row, any unit six
# times in a row, or (with >= 3 units) at most a third of its units distinct.
WORD_RUN_LIMIT = 3
UNIT_RUN_LIMIT = 6
MIN_DISTINCT_SHARE = 0.34
COLLAPSE_ALARM_SHARE = 0.3  # alarm when this share of sampled outputs is degenerate


def normalize_output(text: str) -> str:
    return text.split("\n", 1)[0].strip().lower()


def is_correct(output: str, expected: str) -> bool:
    answer = normalize_output(output)
    target = expected.strip().lower()
    if _NUMBER.fullmatch(target):
        first = _NUMBER.search(answer)
        return first is not None and float(first.group()) == float(target)
    if not answer.startswith(target):
        return False
    rest = answer[len(target) :]
    return not rest or not (rest[0].isalnum() and target[-1:].isalnum())


def units(text: str) -> list[str]:
    return _UNIT.findall(text.lower())


def _longest_run(items: Sequence[str]) -> tuple[int, str]:
    best, best_item, run = 0, "", 0
    for i, item in enumerate(items):
        run = run + 1 if i and items[i - 1] == item else 1
        if run > best:
            best, best_item = run, item
    return best, best_item


def is_degenerate(text: str) -> bool:
    if _SHORT_NUMBER.fullmatch(text.strip()):
        return False
    parts = units(text)
    if not parts:
        return False
    run, item = _longest_run(parts)
    if run >= UNIT_RUN_LIMIT or (run >= WORD_RUN_LIMIT and item.isalpha()):
        return True
    return len(parts) >= 3 and len(set(parts)) / len(parts) <= MIN_DISTINCT_SHARE


def _distinct(parts: list[str], n: int) -> float | None:
    grams = [tuple(parts[i : i + n]) for i in range(len(parts) - n + 1)]
    return len(set(grams)) / len(grams) if grams else None


def _mean(values: list[float | None]) -> float:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else 1.0


@dataclass(frozen=True)
class OutputHealth:
    distinct_1: float  # mean over outputs of distinct units / units
    distinct_2: float  # same for unit bigrams
    longest_run: int  # longest run of one repeated unit in any output
    top_unit_share: float  # share of the most common unit among all units produced
    degenerate_share: float  # share of outputs judged degenerate
    collapse_alarm: bool

    def as_dict(self) -> dict[str, float | int | bool]:
        return dict(self.__dict__)


def output_health(outputs: Sequence[str]) -> OutputHealth:
    per_output = [units(text) for text in outputs]
    pooled = Counter(u for parts in per_output for u in parts)
    total = sum(pooled.values())
    degenerate = sum(is_degenerate(text) for text in outputs)
    share = degenerate / len(outputs) if outputs else 0.0
    return OutputHealth(
        distinct_1=_mean([_distinct(p, 1) for p in per_output]),
        distinct_2=_mean([_distinct(p, 2) for p in per_output]),
        longest_run=max((_longest_run(p)[0] for p in per_output), default=0),
        top_unit_share=pooled.most_common(1)[0][1] / total if total else 0.0,
        degenerate_share=share,
        collapse_alarm=share >= COLLAPSE_ALARM_SHARE,
    )
