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

    @property
    def text(self) -> str:
        return f"{self.prompt} {self.answer}"
