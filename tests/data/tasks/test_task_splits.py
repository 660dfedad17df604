import random
import re
from collections import Counter, defaultdict

import pytest
from task_prompts import group_of, numbers, template_only

from cognate.config import SPECIALIZATIONS
from cognate.data.seed_prompts import SEED_PROMPTS, seed_prompts
from cognate.data.tasks import (
    FAMILIES,
    HELDOUT_TEMPLATES,
    RESERVED_NUMBER_PAIRS,
    SPLITS,
    TEMPLATE_ONLY_GROUPS,
    TEMPLATES,
    is_reserved,
    sample_example,
    split_of_key,
)
from cognate.data.tasks.family import Draw


def test_split_of_key_never_changes_and_is_roughly_80_10_10():
    """A key's split is part of every trained model's test set: it must not move."""
    known = {
        "arithmetic|add|0|1": "train",
        "arithmetic|add|17|25": "validation",
        "arithmetic|add|12|13": "test",
        "name|vorbel": "test",
    }
    assert {key: split_of_key(key) for key in known} == known
    counts = Counter(split_of_key(f"key-{i}") for i in range(10_000))
    assert 7_700 < counts["train"] < 8_300
    assert 800 < counts["validation"] < 1_200
    assert 800 < counts["test"] < 1_200


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
                if template_only(e.template):
                    continue  # tables to memorise are held out by template only
                assert e.key not in train_keys, (split, family, e)


def test_test_operands_never_in_train(by_split):
    """Computed tasks are held out by operands: test keys never occur in training."""
    kinds = ("arith.add", "arith.sub", "wp.sold", "wp.bought", "wp.speed", "yn.compare", "rt")
    train_keys = {e.key for examples in by_split["train"].values() for e in examples}
    test = [e for examples in by_split["test"].values() for e in examples]
    found = Counter(group_of(e.template) for e in test if group_of(e.template) in kinds)
    assert set(found) == set(kinds) and min(found.values()) > 50, found
    for e in test:
        if group_of(e.template) in kinds:
            assert e.key not in train_keys, e


def test_only_the_tables_to_memorise_repeat_test_content_in_training(by_split):
    """A table has no unseen entry to test on: its groups, and only they, are held out by
    template instead, so a group's generator and its templates must agree on that."""
    keys: dict[str, dict[str, set[str]]] = {"train": defaultdict(set), "test": defaultdict(set)}
    for split, by_group in keys.items():
        for examples in by_split[split].values():
            for e in examples:
                by_group[group_of(e.template)].add(e.key)
    repeated = {group for group, test in keys["test"].items() if test & keys["train"][group]}
    assert repeated == TEMPLATE_ONLY_GROUPS


def test_held_out_templates_only_outside_train(by_split):
    for family in FAMILIES:
        assert set(TEMPLATES[family]) & HELDOUT_TEMPLATES, family
        assert set(TEMPLATES[family]) - HELDOUT_TEMPLATES, family
    train_templates = {e.template for examples in by_split["train"].values() for e in examples}
    assert not train_templates & HELDOUT_TEMPLATES
    for split in ("validation", "test"):
        for family, examples in by_split[split].items():
            used = [e.template for e in examples if not template_only(e.template)]
            share = sum(t in HELDOUT_TEMPLATES for t in used) / len(used)
            assert 0.4 < share < 0.6, (split, family, share)
            # Tables to memorise: validation / test always use held-out templates.
            tables = [e.template for e in examples if template_only(e.template)]
            assert all(t in HELDOUT_TEMPLATES for t in tables), (split, family)
    tables = Counter(
        group_of(e.template)
        for examples in by_split["test"].values()
        for e in examples
        if template_only(e.template)
    )
    assert set(tables) == TEMPLATE_ONLY_GROUPS and min(tables.values()) > 30, tables
    every_template = {t for templates in TEMPLATES.values() for t in templates}
    seen = {e.template for s in SPLITS for examples in by_split[s].values() for e in examples}
    assert seen == every_template


def test_seed_prompts_are_reserved():
    for spec in SPECIALIZATIONS:
        assert seed_prompts(spec) and all(p.spec == spec for p in seed_prompts(spec)), spec
    assert sorted(p.prompt for spec in SPECIALIZATIONS for p in seed_prompts(spec)) == sorted(
        p.prompt for p in SEED_PROMPTS
    )
    with pytest.raises(ValueError, match="unknown specialization"):
        seed_prompts("writing")
    for seed in SEED_PROMPTS:
        found = tuple(numbers(seed.prompt)), tuple(re.findall(r"\w+", seed.prompt))
        assert is_reserved(*found), seed
    # Exclusions are narrow: neighbours of the seed prompts stay trainable.
    assert is_reserved((17, 25)) and is_reserved((5, 1, 3)) and is_reserved((2, 4, 2))
    assert not is_reserved((35, 27)) and not is_reserved((12, 32)) and not is_reserved((2, 4))
    assert is_reserved(words=("Japan", "Germany", "France"))
    assert not is_reserved(words=("France", "Japan")) and not is_reserved(words=("sky", "car"))


def test_seed_prompts_never_in_training(training_examples, by_split):
    seeds = {p.prompt for p in SEED_PROMPTS}
    validation = [e for examples in by_split["validation"].values() for e in examples]
    for e in training_examples + validation:
        assert e.prompt not in seeds
        found = Counter(numbers(re.sub(r"(?m)^\d+ ", "", e.prompt)))  # not line numbers
        for a, b in RESERVED_NUMBER_PAIRS:
            assert not (found[a] >= 1 + (a == b) and found[b] >= 1), e
        assert not ("France" in e.prompt and "Germany" in e.prompt), e
        assert not (re.search(r"\bsky\b", e.prompt) and re.search(r"\bgrass\b", e.prompt)), e


@pytest.mark.parametrize(
    ("family", "weights"),
    [
        ("arithmetic", {"arith.add": 0.4, "arith.sub": 0.3, "arith.mul": 0.3}),
        ("word_problems", {"wp.sold": 0.3, "wp.bought": 0.2, "wp.shared": 0.2, "wp.speed": 0.3}),
        ("yes_no", {"yn.world": 1 / 3, "yn.compare": 1 / 3, "yn.owner": 1 / 3}),
    ],
)
def test_held_out_splits_ask_each_kind_as_often_as_its_weight(family, weights):
    """A kind whose content a split rarely admits (a sum on a test key) is not replaced by one
    every split admits (a product, held out by template only): the test split's arithmetic was
    80% multiplication before kinds were drawn once per example."""
    for split in ("validation", "test"):
        rng = random.Random(f"kinds-{family}-{split}")
        groups = Counter(
            sample_example(family, split, rng).template.rsplit(".", 1)[0] for _ in range(2_000)
        )
        for group, weight in weights.items():
            assert abs(groups[group] / 2_000 - weight) < 0.05, (split, groups)


def test_a_draw_keeps_its_kind_across_calls():
    draw = Draw(random.Random(0), "test", hard=True)
    first = draw.kind(("a", "b", "c"))
    assert all(draw.kind(("a", "b", "c")) == first for _ in range(20))
    assert draw.kind(("x", "y"), weights=(0, 1)) == "y"  # another choice is its own
