"""Drawing examples: one of a family, one of a mixture of families, or a fixed list.

`difficulty` in [0, 1] drives a curriculum: an example is "hard" with probability
`HARD_SHARE * difficulty`, so easy examples never disappear. Training never sees a seed prompt.

In training, a share of prompts (`distracted_share`) comes after another example of the mixture
— its context sentences, or its whole question and answer — as a question does in a chat whose
history holds other statements and answers: a model learns to answer from what the question
is about and to pass over the rest.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Mapping
from functools import cache

from cognate.data.seed_prompts import SEED_PROMPTS
from cognate.data.tasks.example import Example
from cognate.data.tasks.family import HARD_SHARE, Draw
from cognate.data.tasks.registry import FAMILIES, FAMILIES_BY_NAME
from cognate.data.tasks.splits import SPLITS, is_reserved

_MAX_TRIES = 10_000


@cache
def _seed_prompt_texts() -> frozenset[str]:
    return frozenset(p.prompt for p in SEED_PROMPTS)


def _check(split: str, difficulty: float) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    if not 0.0 <= difficulty <= 1.0:
        raise ValueError(f"difficulty must be in [0, 1], got {difficulty}")


def sample_example(family: str, split: str, rng: random.Random, difficulty: float = 1.0) -> Example:
    """One example of `family` from `split`; hard with probability `HARD_SHARE * difficulty`."""
    if family not in FAMILIES_BY_NAME:
        raise ValueError(f"unknown task family {family!r}; choose one of: {', '.join(FAMILIES)}")
    _check(split, difficulty)
    generate = FAMILIES_BY_NAME[family].generate
    draw = Draw(rng, split, hard=rng.random() < HARD_SHARE * difficulty)
    for _ in range(_MAX_TRIES):
        example = generate(draw)
        if example is None:
            continue
        if split == "train" and example.prompt in _seed_prompt_texts():
            continue
        return example
    raise RuntimeError(f"no {family} example found for split {split!r} (hard={draw.hard})")


def _family(mixture: Mapping[str, float], rng: random.Random) -> str:
    return rng.choices(list(mixture), weights=list(mixture.values()))[0]


def _holds_reserved_pair(text: str) -> bool:
    """Whether two examples put together make a seed prompt's pair (5 and 3, France and ...)."""
    numbers = tuple(int(n) for n in re.findall(r"\d+", text))
    return is_reserved(numbers, tuple(re.findall(r"[A-Za-z]+", text)))


def _after(earlier: Example, example: Example, rng: random.Random) -> Example:
    """`example` asked after `earlier`'s context sentences, or after its question and answer."""
    context, _, _ = earlier.prompt.rpartition("Q: ")
    answers = [a for a in earlier.earlier_answers if a[1] <= len(context.rstrip())]
    before = context.rstrip()
    if not before or rng.random() >= 0.5:
        before, answers = earlier.text, [*earlier.earlier_answers]
        answers.append((len(before) - len(earlier.answer), len(before)))
    separator = rng.choice((" ", "\n"))
    shift = len(before) + len(separator)
    answers += [(start + shift, end + shift) for start, end in example.earlier_answers]
    return dataclasses.replace(
        example, prompt=f"{before}{separator}{example.prompt}", earlier_answers=tuple(answers)
    )


def sample_mixture(
    mixture: Mapping[str, float],
    split: str,
    rng: random.Random,
    difficulty: float = 1.0,
    distracted_share: float = 0.0,
) -> Example:
    """One example from a family drawn with the mixture's weights (in training, now and then
    after another one: see the module's docstring)."""
    unknown = sorted(set(mixture) - set(FAMILIES))
    if unknown or not mixture or min(mixture.values()) < 0 or sum(mixture.values()) <= 0:
        raise ValueError(
            f"invalid task mixture {dict(mixture)!r}: use positive weights for families "
            f"among {', '.join(FAMILIES)}"
        )
    example = sample_example(_family(mixture, rng), split, rng, difficulty)
    if split == "train" and distracted_share and rng.random() < distracted_share:
        earlier = sample_example(_family(mixture, rng), split, rng, difficulty)
        distracted = _after(earlier, example, rng)
        if not _holds_reserved_pair(distracted.prompt):
            return distracted
    return example


def make_examples(
    mixture: Mapping[str, float], split: str, n: int, seed: int, difficulty: float = 1.0
) -> list[Example]:
    """`n` examples, a pure function of (mixture, split, n, seed, difficulty)."""
    rng = random.Random(f"cognate-examples-{split}-{seed}")
    return [sample_mixture(mixture, split, rng, difficulty) for _ in range(n)]
