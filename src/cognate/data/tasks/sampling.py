"""Drawing examples: one of a family, one of a mixture of families, or a fixed list.

`difficulty` in [0, 1] drives a curriculum: an example is "hard" with probability
`HARD_SHARE * difficulty`, so easy examples never disappear. Training never sees a seed prompt.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from functools import cache

from cognate.data.seed_prompts import SEED_PROMPTS
from cognate.data.tasks.example import Example
from cognate.data.tasks.family import HARD_SHARE, Draw
from cognate.data.tasks.registry import FAMILIES, FAMILIES_BY_NAME
from cognate.data.tasks.splits import SPLITS

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


def sample_mixture(
    mixture: Mapping[str, float], split: str, rng: random.Random, difficulty: float = 1.0
) -> Example:
    """One example from a family drawn with the mixture's weights."""
    unknown = sorted(set(mixture) - set(FAMILIES))
    if unknown or not mixture or min(mixture.values()) < 0 or sum(mixture.values()) <= 0:
        raise ValueError(
            f"invalid task mixture {dict(mixture)!r}: use positive weights for families "
            f"among {', '.join(FAMILIES)}"
        )
    family = rng.choices(list(mixture), weights=list(mixture.values()))[0]
    return sample_example(family, split, rng, difficulty)


def make_examples(
    mixture: Mapping[str, float], split: str, n: int, seed: int, difficulty: float = 1.0
) -> list[Example]:
    """`n` examples, a pure function of (mixture, split, n, seed, difficulty)."""
    rng = random.Random(f"cognate-examples-{split}-{seed}")
    return [sample_mixture(mixture, split, rng, difficulty) for _ in range(n)]
