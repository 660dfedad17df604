import random

from task_prompts import context_and_question, only_match, sentences

from cognate.data.tasks import (
    HELDOUT_TEMPLATES,
    SPLITS,
    TEMPLATE_GROUPS,
    TEMPLATE_TEXTS,
    sample_example,
)

# The start, then steps as (pattern, sign); each captures one count.
START = (
    r"\w+ has (\d+) \w+\.",
    r"\w+ starts with (\d+) \w+\.",
    r"At first, \w+ has (\d+) \w+\.",
    r"\w+ begins with (\d+) \w+\.",
    r"\w+ owns (\d+) \w+\.",
    r"\w+ keeps (\d+) \w+ in a box\.",
)
STEPS = (
    (r"\w+ gives (?:him|her) (\d+) more \w+\.", 1),
    (r"(?:He|She) buys (\d+) more \w+\.", 1),
    (r"(?:He|She) finds (\d+) more \w+\.", 1),
    (r"(?:He|She) gets (\d+) \w+ from \w+\.", 1),
    (r"\w+ hands (?:him|her) (\d+) \w+\.", 1),
    (r"(?:He|She) receives (\d+) \w+ from \w+\.", 1),
    (r"\w+ gives (\d+) \w+ to (?:him|her)\.", 1),
    (r"(?:He|She) wins (\d+) \w+\.", 1),
    (r"(?:He|She) gives (\d+) \w+ to \w+\.", -1),
    (r"(?:He|She) (?:eats|loses) (\d+) \w+\.", -1),
    (r"(?:He|She) gives \w+ (\d+) \w+\.", -1),
    (r"(?:He|She) sells (\d+) \w+\.", -1),
    (r"\w+ takes (\d+) \w+ from (?:him|her)\.", -1),
    (r"(?:He|She) throws away (\d+) \w+\.", -1),
    (r"(?:He|She) uses up (\d+) \w+\.", -1),
)


def test_running_total_answers(by_split):
    step_patterns = tuple(p for p, _ in STEPS)
    sign_of = dict(STEPS)
    for split in SPLITS:
        for e in by_split[split]["running_totals"]:
            context, _ = context_and_question(e.prompt)
            first, *changes = sentences(context)
            total = int(only_match(START, first)[1])
            assert 1 <= len(changes) <= 3
            for sentence in changes:
                match = only_match(step_patterns, sentence)
                total += sign_of[match.re.pattern] * int(match[1])
                assert total >= 0, e
            assert e.answer == str(total), e


def test_difficulty_sets_the_number_of_steps():
    def steps(difficulty: float) -> list[int]:
        rng = random.Random(7)
        examples = [sample_example("running_totals", "train", rng, difficulty) for _ in range(500)]
        return [context_and_question(e.prompt)[0].count(".") - 1 for e in examples]

    assert set(steps(0.0)) == {1} and set(steps(1.0)) == {1, 2, 3}


def test_running_total_training_wordings_end_in_several_ways():
    """A model answered held-out wordings by their last words when every training wording
    ended on "have now?" or the like (benchmarks/RESULTS.md, "Question endings")."""
    endings = {
        TEMPLATE_TEXTS[t].removesuffix(" A:").rstrip("?.").split()[-1]
        for t in TEMPLATE_GROUPS["rt"]
        if t not in HELDOUT_TEMPLATES
    }
    assert {"has", "{name}"} <= endings and len(endings) >= 5, endings
