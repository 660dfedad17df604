import random

import pytest

from cognate.config import SPECIALIZATIONS
from cognate.data.tasks import FAMILIES, Example, make_examples, sample_example


@pytest.fixture(scope="session")
def by_split() -> dict[str, dict[str, list[Example]]]:
    """Examples per split and family, each at a random difficulty."""
    sizes = {"train": 2_000, "validation": 1_000, "test": 1_000}
    result: dict[str, dict[str, list[Example]]] = {}
    for split, n in sizes.items():
        rng = random.Random(f"splits-{split}")
        result[split] = {
            family: [sample_example(family, split, rng, difficulty=rng.random()) for _ in range(n)]
            for family in FAMILIES
        }
    return result


@pytest.fixture(scope="session")
def training_examples() -> list[Example]:
    """24,000 training examples of every specialization mixture, across the curriculum.

    As many as that, so that the rarest seed shape (a colour fact before grass, ~1 in 3,000
    facts examples) occurs with near certainty whatever the generators draw.
    """
    examples = []
    for spec in SPECIALIZATIONS.values():
        for difficulty in (0.0, 0.5, 1.0):
            examples += make_examples(
                spec.mixture_for_training, "train", 8_000, spec.seed, difficulty
            )
    return examples
