"""The Example type: one question with its answer, as every task family produces it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    """One question with its answer. `key` and `names` decide its split (see `splits`)."""

    prompt: str  # ends with " A:"
    answer: str  # no leading space
    family: str
    template: str  # id of the surface template, e.g. "arith.add.symbol"
    key: str = ""  # family, operation and operands (or fact content)
    names: tuple[str, ...] = ()  # made-up names used
    # [start, end) character spans of `prompt` holding answers to earlier questions (a story's
    # questions along the way, a chat's history): training learns them too, not only `answer`
    earlier_answers: tuple[tuple[int, int], ...] = ()

    @property
    def text(self) -> str:
        return f"{self.prompt} {self.answer}"
