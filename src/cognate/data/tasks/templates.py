"""The template type and the pools templates are drawn from.

A family's questions come in groups (e.g. `arith.add`), each with several training phrasings,
so that a model learns to read the operands and the operation rather than one wording, and one
or two held-out phrasings used only in validation / test, built only from words the family's
training phrasings teach. Context sentences (facts, ownership, running totals) vary too, with
training phrasings only. The first template of a group is the seed prompt's shape (where there
is one) and carries a high weight.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    """One phrasing of a question or of a context sentence."""

    id: str  # "<group>.<name>", e.g. "arith.add.symbol"
    text: str  # a `str.format` pattern
    weight: float = 1.0
    heldout: bool = False  # used only in validation / test
    items: str = ""  # word problems: the item pool the wording suits (`vocabulary.ITEM_POOLS`)


class Pool:
    """Templates drawn by weight."""

    def __init__(self, *templates: Template) -> None:
        self.templates = templates
        self._cum_weights = tuple(itertools.accumulate(t.weight for t in self.templates))

    def draw(self, rng: random.Random) -> Template:
        return rng.choices(self.templates, cum_weights=self._cum_weights)[0]


class Questions:
    """The question templates of one group, drawn from its training or its held-out pool.

    `template_only` marks a table to memorise, held out by template only: validation / test
    use held-out templates exclusively (see `splits`).
    """

    def __init__(self, group: str, *templates: Template, template_only: bool = False) -> None:
        self.group = group
        self.templates = templates
        self.template_only = template_only
        self.trained = Pool(*(t for t in templates if not t.heldout))
        self.heldout = Pool(*(t for t in templates if t.heldout))
