"""What a task family module provides (a `Family`) and what its generator gets (a `Draw`).

A family module defines its templates and a generator `Draw -> Example | None`: the generator
draws content with `draw.rng`, returns None when `draw.admits` refuses it (content of another
split), and words the example with `draw.question` and `draw.sentence` / `draw.context`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cognate.data.tasks.example import Example
from cognate.data.tasks.splits import HELDOUT_SHARE, is_reserved, split_of_key
from cognate.data.tasks.templates import Pool, Questions, Template
from cognate.data.tasks.vocabulary import name_pool

HARD_SHARE = 0.8  # probability of a hard example at difficulty 1
SAME_PHRASING_SHARE = 0.5  # share of contexts written in one phrasing throughout


@dataclass(frozen=True)
class Draw:
    """What a generator needs: the random source, the split wanted and the variant."""

    rng: random.Random
    split: str
    hard: bool
    kinds: dict[tuple[str, ...], str] = field(default_factory=dict, compare=False, repr=False)

    def kind(self, options: Sequence[str], weights: Sequence[float] | None = None) -> str:
        """The kind of this draw's example (an operation, a kind of problem), drawn once: when
        the generator returns None and is called again, the kind stays. Redrawn instead, a kind
        whose content a split rarely admits (a sum, split by its numbers) gave way to one every
        split admits (a product, held out by template only): the test split's arithmetic was
        80% multiplication where training's was 34%."""
        options = tuple(options)
        if options not in self.kinds:
            self.kinds[options] = self.rng.choices(options, weights)[0]
        return self.kinds[options]

    def admits(
        self,
        key: str,
        numbers: tuple[int, ...] = (),
        words: tuple[str, ...] = (),
        split_free: bool = False,
    ) -> bool:
        """Whether an example with this content belongs to the split wanted.

        `split_free` marks content that is not split by key: made-up names drawn from the
        split's own pool, or tables to memorise (held out by template only).
        """
        if is_reserved(numbers, words):
            return self.split == "test"
        return split_free or split_of_key(key) == self.split

    def question(self, questions: Questions) -> Template:
        """A question template for this split: training templates only in train, else a mix
        (held-out templates only for tables to memorise)."""
        share = 1.0 if questions.template_only else HELDOUT_SHARE
        heldout = self.split != "train" and self.rng.random() < share
        return (questions.heldout if heldout else questions.trained).draw(self.rng)

    def sentence(self, sentences: Pool, **fields: str) -> str:
        """A context sentence in one of its phrasings."""
        return sentences.draw(self.rng).text.format(**fields)

    def context(self, sentences: Pool, facts: list[dict[str, str]]) -> list[str]:
        """Context sentences, one per fact: half the time all in one phrasing."""
        if self.rng.random() < SAME_PHRASING_SHARE:
            template = sentences.draw(self.rng)
            return [template.text.format(**fields) for fields in facts]
        return [self.sentence(sentences, **fields) for fields in facts]

    def new_name(self, taken: set[str]) -> str:
        """A made-up name of this split not in `taken` (which it is added to)."""
        pool = name_pool(self.split)
        while True:
            name = self.rng.choice(pool)
            if name not in taken:
                taken.add(name)
                return name


@dataclass(frozen=True)
class Family:
    """A task family: its generator, its question groups and the context sentences its prompts
    may contain (listed in `registry.FAMILIES_BY_NAME`)."""

    name: str
    generate: Callable[[Draw], Example | None]
    questions: tuple[Questions, ...]
    sentences: tuple[Pool, ...] = ()
    reads_context: bool = False  # prompts may hold sentences before the question
