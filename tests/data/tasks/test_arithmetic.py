import random

from task_prompts import numbers

from cognate.data.tasks import SPLITS, sample_example


def test_arithmetic_answers(by_split):
    for split in SPLITS:
        for e in by_split[split]["arithmetic"]:
            a, b = numbers(e.prompt)
            op = e.template.split(".")[1]
            if "from" in e.prompt:  # "subtract 3 from 10", "take 3 away from 10"
                a, b = b, a
            expected = {"add": a + b, "sub": a - b, "mul": a * b}[op]
            assert e.answer == str(expected) and expected >= 0, e
            if op == "mul":
                assert min(a, b) >= 1 and max(a, b) <= 12, e


def test_difficulty_sets_the_size_of_the_operands():
    def operands(difficulty: float) -> list[list[int]]:
        rng = random.Random(7)
        examples = [sample_example("arithmetic", "train", rng, difficulty) for _ in range(1_000)]
        return [numbers(e.prompt) for e in examples if not e.template.startswith("arith.mul.")]

    assert all(max(pair) < 10 for pair in operands(0.0))
    hard = operands(1.0)
    two_digit = [max(pair) >= 10 for pair in hard]
    assert 0.6 < sum(two_digit) / len(two_digit) < 0.9  # ~20% stay easy
    three_digit = [max(pair) >= 100 for pair in hard]
    assert 0.08 < sum(three_digit) / len(three_digit) < 0.25  # ~0.8 x 0.2 of them
    assert max(max(pair) for pair in hard) <= 999


def test_small_differences_of_large_numbers_are_common():
    """Differences below ten (10 - 5, 47 - 43) are drawn on purpose, not left to a uniform b."""
    rng = random.Random(7)
    differences = []
    for family, group in (("arithmetic", "arith.sub."), ("word_problems", "wp.sold.")):
        for _ in range(3_000):
            e = sample_example(family, "train", rng, 1.0)
            if e.template.startswith(group) and max(numbers(e.prompt)) >= 20:
                differences.append(int(e.answer))
    share = sum(d < 10 for d in differences) / len(differences)
    assert len(differences) > 300 and share > 0.35  # a uniform subtrahend gives about 0.2
