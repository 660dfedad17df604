import random
import re
from collections import Counter

import pytest

from cognate.config import SPECIALIZATIONS
from cognate.data.seed_prompts import SEED_PROMPTS, seed_prompts
from cognate.data.tasks import (
    FAMILIES,
    HELDOUT_TEMPLATES,
    RESERVED_NUMBER_PAIRS,
    RESERVED_WORD_PAIRS,
    SPLITS,
    TEMPLATES,
    Example,
    is_reserved,
    make_examples,
    name_pool,
    sample_example,
    sample_mixture,
    split_of_key,
)


def numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


def context_and_question(prompt: str) -> tuple[str, str]:
    context, _, question = prompt.rpartition("Q: ")
    return context.strip(), question


@pytest.fixture(scope="module")
def by_split() -> dict[str, dict[str, list[Example]]]:
    """Examples per split and family (full difficulty, plus easy ones in train)."""
    sizes = {"train": 3_000, "validation": 1_500, "test": 1_500}
    result: dict[str, dict[str, list[Example]]] = {}
    for split, n in sizes.items():
        rng = random.Random(f"splits-{split}")
        result[split] = {
            family: [sample_example(family, split, rng, difficulty=rng.random()) for _ in range(n)]
            for family in FAMILIES
        }
    return result


@pytest.fixture(scope="module")
def training_examples() -> list[Example]:
    """20,000 training examples of every specialization mixture, across the curriculum."""
    examples = []
    for spec in SPECIALIZATIONS.values():
        for difficulty in (0.0, 0.5, 1.0):
            examples += make_examples(spec.mixture, "train", 6_667, spec.seed, difficulty)
    return examples


def test_split_of_key_is_stable_and_roughly_80_10_10():
    assert split_of_key("arithmetic|add|17|25") == split_of_key("arithmetic|add|17|25")
    counts = Counter(split_of_key(f"key-{i}") for i in range(10_000))
    assert 7_700 < counts["train"] < 8_300
    assert 800 < counts["validation"] < 1_200
    assert 800 < counts["test"] < 1_200


def test_name_pools_are_large_and_disjoint():
    pools = {split: set(name_pool(split)) for split in SPLITS}
    assert len(pools["train"]) > 40_000
    assert min(len(pools["validation"]), len(pools["test"])) > 5_000
    assert not pools["train"] & pools["validation"]
    assert not pools["train"] & pools["test"]
    assert not pools["validation"] & pools["test"]
    assert all(name[0].isupper() and name[1:].islower() for name in pools["train"])


def test_splits_are_disjoint(by_split):
    train = [e for examples in by_split["train"].values() for e in examples]
    train_prompts = {e.prompt for e in train}
    train_keys = {e.key for e in train}
    train_names = {name.lower() for e in train for name in e.names}
    for split in ("validation", "test"):
        for family, examples in by_split[split].items():
            for e in examples:
                assert e.prompt not in train_prompts, (split, e)
                assert not {n.lower() for n in e.names} & train_names, (split, e)
                if e.template.startswith("yn.world."):
                    continue  # world facts are held out by template only
                assert e.key not in train_keys, (split, family, e)


def test_held_out_templates_only_outside_train(by_split):
    for family in FAMILIES:
        assert set(TEMPLATES[family]) & HELDOUT_TEMPLATES, family
        assert set(TEMPLATES[family]) - HELDOUT_TEMPLATES, family
    train_templates = {e.template for examples in by_split["train"].values() for e in examples}
    assert not train_templates & HELDOUT_TEMPLATES
    for split in ("validation", "test"):
        for family, examples in by_split[split].items():
            used = [e.template for e in examples if not e.template.startswith("yn.world.")]
            share = sum(t in HELDOUT_TEMPLATES for t in used) / len(used)
            assert 0.4 < share < 0.6, (split, family, share)
    every_template = {t for templates in TEMPLATES.values() for t in templates}
    seen = {e.template for s in SPLITS for examples in by_split[s].values() for e in examples}
    assert seen == every_template


def test_prompt_format(by_split):
    for examples in by_split["test"].values():
        for e in examples:
            assert e.prompt.endswith(" A:") and "Q: " in e.prompt
            assert e.answer and e.answer == e.answer.strip()
            assert e.text == f"{e.prompt} {e.answer}"


def test_seed_prompts_are_reserved():
    assert len(SEED_PROMPTS) == 9
    assert [len(seed_prompts(s)) for s in ("reasoning", "memory", "speed")] == [3, 3, 3]
    with pytest.raises(ValueError, match="unknown specialization"):
        seed_prompts("writing")
    pairs = {tuple(sorted(p)) for p in RESERVED_NUMBER_PAIRS}
    for seed in SEED_PROMPTS:
        found = numbers(seed.prompt)
        if found:
            assert tuple(sorted(found)) in pairs, seed
    assert ("France", "Germany") in RESERVED_WORD_PAIRS
    assert ("sky", "grass") in RESERVED_WORD_PAIRS
    # Exclusions are narrow: neighbours of the seed prompts stay trainable.
    assert is_reserved((17, 25)) and is_reserved((5, 1, 3)) and is_reserved((2, 4, 2))
    assert not is_reserved((35, 27)) and not is_reserved((12, 32)) and not is_reserved((2, 4))
    assert is_reserved(words=("Japan", "Germany", "France"))
    assert not is_reserved(words=("France", "Japan")) and not is_reserved(words=("sky", "car"))


def test_seed_prompts_never_in_training(training_examples):
    seeds = {p.prompt for p in SEED_PROMPTS}
    for e in training_examples:
        assert e.prompt not in seeds
        found = Counter(numbers(e.prompt))
        for a, b in RESERVED_NUMBER_PAIRS:
            assert not (found[a] >= 1 + (a == b) and found[b] >= 1), e
        assert not ("France" in e.prompt and "Germany" in e.prompt), e
        assert not (re.search(r"\bsky\b", e.prompt) and re.search(r"\bgrass\b", e.prompt)), e


def test_seed_prompt_shapes_occur_in_training(training_examples):
    shapes = [
        r"Q: If a store has \d+ apples and sells \d+, how many are left\? A:",
        r"Q: What is \d+ \+ \d+\? A:",
        r"Q: A train travels \d+ miles in \d+ hours\. What is its speed\? A:",
        r"The capital of France is Paris\. The capital of \w+ is \w+\. "
        r"Q: What is the capital of France\? A:",
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


def test_arithmetic_and_word_problem_answers(by_split):
    for split in SPLITS:
        for e in by_split[split]["arithmetic"]:
            a, b = numbers(e.prompt)
            op = e.template.split(".")[1]
            expected = {"add": a + b, "sub": a - b, "mul": a * b}[op]
            assert e.answer == str(expected) and expected >= 0, e
        for e in by_split[split]["word_problems"]:
            a, b = numbers(e.prompt)
            kind = e.template.split(".")[1]
            if kind == "speed":
                unit = re.search(r"\d+ (miles|kilometers) in", e.prompt)[1]
                assert a % b == 0 and e.answer == f"{a // b} {unit} per hour", e
            elif kind == "shared":
                assert a % b == 0 and e.answer == str(a // b), e
            else:
                assert e.answer == str(a - b if kind == "sold" else a + b), e


def test_running_total_answers(by_split):
    steps = {
        r"^\w+ gives (?:him|her) (\d+) more": 1,
        r"^(?:He|She) buys (\d+) more": 1,
        r"^(?:He|She) gives (\d+) \w+ to": -1,
        r"^(?:He|She) (?:eats|loses) (\d+)": -1,
    }
    for split in SPLITS:
        for e in by_split[split]["running_totals"]:
            context, _ = context_and_question(e.prompt)
            first, *changes = context.split(". ")
            total = int(re.search(r" has (\d+) ", first)[1])
            assert 1 <= len(changes) <= 3
            for sentence in changes:
                matches = [(re.match(p, sentence), sign) for p, sign in steps.items()]
                match, sign = next((m, s) for m, s in matches if m)
                total += sign * int(match[1])
                assert total >= 0, e
            assert e.answer == str(total), e


def test_fact_answers_are_copied_from_context(by_split):
    sentence = {
        "capital": r"The capital of (.+?) is (\w+)\.",
        "color": r"The color of (.+?) is (\w+)\.",
        "owner": r"(\w+) owns an? (\w+)\.",
    }
    question = {
        "capital": r"(?:What is|Name|Which city is) the capital of (.+?)[?.] A:",
        "color": r"(?:What color is|What is the color of|Which color is) (.+?)\? A:",
    }
    for split in SPLITS:
        for e in by_split[split]["facts"]:
            context, asked = context_and_question(e.prompt)
            assert re.search(rf"\b{e.answer}\b", context), e
            kind = e.template.split(".")[1].split("_")[0]
            facts = re.findall(sentence[kind], context)
            assert 1 <= len(facts) <= 5
            assert len({k for k, _ in facts}) == len({v for _, v in facts}) == len(facts)
            if kind in question:
                asked_key = re.fullmatch(question[kind], asked)[1]
                assert dict(facts)[asked_key] == e.answer, e
            elif e.template.startswith("facts.owner_who."):
                owner_of = {animal: person for person, animal in facts}
                assert owner_of[re.search(r"the (\w+)\? A:", asked)[1]] == e.answer, e
            else:
                person = next(p for p, _ in facts if re.search(rf"\b{p}\b", asked))
                assert dict(facts)[person] == e.answer, e


def test_yes_no_answers_and_balance(by_split):
    for split in SPLITS:
        examples = by_split[split]["yes_no"]
        for e in examples:
            assert e.answer in ("Yes", "No")
            if e.template.startswith("yn.compare."):
                a, b = numbers(e.prompt)
                greater = e.template.split(".")[2] in ("greater", "bigger", "number_greater")
                assert e.answer == ("Yes" if (a > b if greater else a < b) else "No"), e
            elif e.template.startswith("yn.owner."):
                context, asked = context_and_question(e.prompt)
                owned = dict(re.findall(r"(\w+) owns an? (\w+)\.", context))
                name = next(n for n in owned if n in asked)
                animal = re.search(r" (\w+)\? A:$| the (\w+) owned", asked)
                asked_animal = animal[1] or animal[2]
                assert e.answer == ("Yes" if owned[name] == asked_animal else "No"), e
        for prefix in ("yn.", "yn.world.", "yn.compare.", "yn.owner."):
            answers = [e.answer for e in examples if e.template.startswith(prefix)]
            share = answers.count("Yes") / len(answers)
            assert 0.4 <= share <= 0.6, (split, prefix, share)


def test_difficulty_curriculum():
    def operands(difficulty: float) -> list[list[int]]:
        rng = random.Random(7)
        examples = [sample_example("arithmetic", "train", rng, difficulty) for _ in range(1_000)]
        return [
            numbers(e.prompt) for e in examples if "*" not in e.prompt and "times" not in e.prompt
        ]

    def fact_counts(difficulty: float) -> list[int]:
        rng = random.Random(7)
        examples = [sample_example("facts", "train", rng, difficulty) for _ in range(1_000)]
        return [context_and_question(e.prompt)[0].count(".") for e in examples]

    def steps(difficulty: float) -> list[int]:
        rng = random.Random(7)
        examples = [sample_example("running_totals", "train", rng, difficulty) for _ in range(500)]
        return [context_and_question(e.prompt)[0].count(".") - 1 for e in examples]

    assert all(max(pair) < 10 for pair in operands(0.0))
    two_digit = [max(pair) >= 10 for pair in operands(1.0)]
    assert 0.6 < sum(two_digit) / len(two_digit) < 0.9  # ~20% stay easy
    easy_counts, hard_counts = fact_counts(0.0), fact_counts(1.0)
    assert max(easy_counts) <= 2 and easy_counts.count(1) > len(easy_counts) / 2
    assert max(hard_counts) == 5 and sum(hard_counts) / len(hard_counts) > 2.5
    assert set(steps(0.0)) == {1} and set(steps(1.0)) == {1, 2, 3}


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
