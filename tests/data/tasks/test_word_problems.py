import random
import re

from task_prompts import has_word, numbers

from cognate.data.tasks import SPLITS, sample_example


def test_word_problem_answers(by_split):
    for split in SPLITS:
        for e in by_split[split]["word_problems"]:
            small, big = sorted(numbers(e.prompt))  # some wordings give the operands reversed
            kind = e.template.split(".")[1]
            if kind == "speed":
                unit = re.search(r"\d+ (miles|kilometers)\b", e.prompt)[1]
                assert has_word("hour" if small == 1 else "hours", e.prompt), e
                assert big % small == 0 and e.answer == f"{big // small} {unit} per hour", e
                assert small <= 5 and 2 <= big // small <= 60 and big <= 300, e
            elif kind == "shared":
                assert big % small == 0 and e.answer == str(big // small), e
                assert 2 <= small <= 12 and big // small <= 12, e
            else:
                assert e.answer == str(big - small if kind == "sold" else big + small), e


def test_difficulty_sets_hours_and_speeds():
    def speeds(difficulty: float) -> list[tuple[int, int]]:
        """(hours, speed) of speed problems."""
        rng = random.Random(7)
        examples = [sample_example("word_problems", "train", rng, difficulty) for _ in range(800)]
        pairs = [sorted(numbers(e.prompt)) for e in examples if e.template.startswith("wp.speed")]
        return [(hours, distance // hours) for hours, distance in pairs]

    easy_speeds, hard_speeds = speeds(0.0), speeds(1.0)
    assert {h for h, _ in easy_speeds} == {1, 2} and max(v for _, v in easy_speeds) <= 9
    assert {h for h, _ in hard_speeds} == {1, 2, 3, 4, 5}
    assert max(v for _, v in hard_speeds) > 40 and max(h * v for h, v in hard_speeds) <= 300
