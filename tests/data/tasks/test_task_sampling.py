import random
import re

import pytest

from cognate.config import SPECIALIZATIONS
from cognate.data.tasks import (
    FAMILIES,
    SPLITS,
    TEMPLATES,
    make_examples,
    sample_example,
    sample_mixture,
)
from cognate.data.tasks.registry import FAMILIES_BY_NAME
from cognate.data.tasks.sampling import _after


def test_prompt_format(by_split):
    for examples in by_split["test"].values():
        for e in examples:
            assert e.prompt.endswith(" A:") and "Q: " in e.prompt
            assert e.answer and e.answer == e.answer.strip()
            assert e.text == f"{e.prompt} {e.answer}"


def test_every_example_is_its_familys(by_split):
    """The registry routes a family to its own generator, worded with its own templates."""
    for split in SPLITS:
        for family in FAMILIES:
            for e in by_split[split][family]:
                assert e.family == family and e.template in TEMPLATES[family], e
                if not FAMILIES_BY_NAME[family].reads_context:
                    assert e.prompt.startswith("Q: "), e  # no context to read


def test_make_examples_is_deterministic():
    mixture = SPECIALIZATIONS["speed"].mixture
    first = make_examples(mixture, "validation", 50, seed=3)
    assert first == make_examples(mixture, "validation", 50, seed=3)
    assert first[:20] == make_examples(mixture, "validation", 20, seed=3)
    assert first != make_examples(mixture, "validation", 50, seed=4)
    assert {e.family for e in first} == set(mixture)


def test_invalid_arguments():
    rng = random.Random(0)
    with pytest.raises(ValueError, match="unknown task family"):
        sample_example("poetry", "train", rng)
    with pytest.raises(ValueError, match="unknown split"):
        sample_example("arithmetic", "dev", rng)
    with pytest.raises(ValueError, match="difficulty"):
        sample_example("arithmetic", "train", rng, difficulty=1.5)
    with pytest.raises(ValueError, match="invalid task mixture"):
        sample_mixture({"arithmetic": 1.0, "poetry": 1.0}, "train", rng)


def test_seed_prompt_shapes_occur_in_training(training_examples):
    shapes = [
        r"Q: If a store has \d+ apples and sells \d+, how many are left\? A:",
        r"Q: What is \d+ \+ \d+\? A:",
        r"Q: A train travels \d+ miles in \d+ hours\. What is its speed\? A:",
        r"The capital of \w+ is \w+\. The capital of \w+ is \w+\. "
        r"Q: What is the capital of \w+\? A:",
        r"\w+ has \d+ apples\. \w+ gives (him|her) \d+ more apples\. "
        r"Q: How many apples does \w+ have now\? A:",
        r"The color of (the )?\w+ is \w+\. The color of grass is \w+\. "
        r"Q: What color is (the )?\w+\? A:",
        r"The color of the sky is \w+\. (The color of (the )?\w+ is \w+\. )*"
        r"Q: What color is the sky\? A:",
        r"Q: Is \d+ greater than \d+\? A:",
        r"Q: What is \d+ - \d+\? A:",
    ]
    for shape in shapes:
        pattern = re.compile(shape)
        assert any(pattern.fullmatch(e.prompt) for e in training_examples), shape
    # Neighbours of the reserved combinations stay trainable: France with other countries.
    assert any("France" in e.prompt and e.answer == "Paris" for e in training_examples)


def test_training_asks_some_questions_after_another_examples_text():
    """A share of training prompts comes after another example (as in a chat); validation and
    test prompts never do."""
    arithmetic = {"arithmetic": 1.0}
    for split in ("validation", "test"):
        assert all(e.prompt.count("Q: ") == 1 for e in make_examples(arithmetic, split, 500, 1))
    rng = random.Random(0)
    training = [sample_mixture(arithmetic, "train", rng, 1.0, 0.15) for _ in range(2000)]
    distracted = sum(e.prompt.count("Q: ") == 2 for e in training)
    assert 0.1 < distracted / len(training) < 0.2
    assert all(e.prompt.count("Q: ") == 1 for e in make_examples(arithmetic, "train", 500, 1))


def test_a_distracted_example_keeps_its_question_and_answer():
    rng = random.Random(0)
    story = sample_example("stories", "train", rng)
    sum_ = sample_example("arithmetic", "train", rng)
    seen = set()
    for _ in range(50):
        after = _after(story, sum_, rng)
        assert after.prompt.endswith(sum_.prompt)
        assert (after.answer, after.family, after.key) == (sum_.answer, sum_.family, sum_.key)
        before = after.prompt[: -len(sum_.prompt)].strip()
        assert before in (story.text, story.prompt.rpartition("Q: ")[0].strip())
        seen.add(before == story.text)
        # The story's earlier answers (and its own answer, when it is there) stay marked.
        marked = [after.prompt[a:b] for a, b in after.earlier_answers]
        earlier = [story.prompt[a:b] for a, b in story.earlier_answers]
        assert marked == earlier + [story.answer] * (before == story.text)
    assert seen == {True, False}  # both the whole earlier turn and its context alone
