"""The seed report's nine test prompts: evaluated, never trained on."""

from __future__ import annotations

from dataclasses import dataclass

from cognate.config import get_specialization


@dataclass(frozen=True)
class SeedPrompt:
    spec: str
    prompt: str
    answer: str


SEED_PROMPTS: tuple[SeedPrompt, ...] = (
    SeedPrompt("reasoning", "Q: If a store has 15 apples and sells 7, how many are left? A:", "8"),
    SeedPrompt("reasoning", "Q: What is 25 + 17? A:", "42"),
    SeedPrompt(
        "reasoning",
        "Q: A train travels 60 miles in 2 hours. What is its speed? A:",
        "30 miles per hour",
    ),
    SeedPrompt(
        "memory",
        "The capital of France is Paris. The capital of Germany is Berlin. "
        "Q: What is the capital of France? A:",
        "Paris",
    ),
    SeedPrompt(
        "memory",
        "John has 5 apples. Mary gives him 3 more apples. "
        "Q: How many apples does John have now? A:",
        "8",
    ),
    SeedPrompt(
        "memory",
        "The color of the sky is blue. The color of grass is green. Q: What color is the sky? A:",
        "blue",
    ),
    SeedPrompt("speed", "Q: What is 2 + 2? A:", "4"),
    SeedPrompt("speed", "Q: Is 7 greater than 3? A:", "Yes"),
    SeedPrompt("speed", "Q: What is 10 - 5? A:", "5"),
)


def seed_prompts(spec: str | None = None) -> list[SeedPrompt]:
    """The seed prompts of one specialization, or all of them when `spec` is None."""
    if spec is None:
        return list(SEED_PROMPTS)
    get_specialization(spec)  # an unknown name is a one-line error
    return [p for p in SEED_PROMPTS if p.spec == spec]
