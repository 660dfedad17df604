import functools
import random
import re
from collections import Counter

import pytest

from cognate.data.tasks import RESERVED_NUMBER_PAIRS, SPLITS, Example
from cognate.data.tasks import lexicon as lexicon_module
from cognate.data.tasks.lexicon import CHANGES, lexicon, plural
from cognate.data.tasks.schoolbook_problems import DAYS, FRAMES, KINDS, NAME, word_problem_example

PER_KIND = 150  # examples of each kind in each split
MIXED = 1500  # examples of the default mix of kinds in each split


def generate(split: str, n: int, seed: int, kind: str | None = None) -> list[Example]:
    rng = random.Random(f"{split}-{seed}-{kind}")
    return [word_problem_example(rng, split, (i % 5) / 4, kind) for i in range(n)]


@functools.cache
def examples(split: str) -> list[Example]:
    """Every kind, at every difficulty, and the default mix."""
    by_kind = [e for kind in KINDS for e in generate(split, PER_KIND, seed=1, kind=kind)]
    return by_kind + generate(split, MIXED, seed=2)


def kind_of(example: Example) -> str:
    return example.template.split(".")[1]


def numbers_in(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"(?<![\w-])\$?(\d+)(?![\w-])", text)]


def sentences(prompt: str) -> list[str]:
    text = prompt.removesuffix(" A:").replace("Q: ", "")
    return re.split(r"(?<=[.?]) (?=[A-Z0-9$])", text)


def roles(example: Example) -> tuple[str, str, dict[str, int]]:
    """The key's variant, the signs of its changes and its numbers by role."""
    family, kind, variant, numbers = example.key.split("|")
    assert family == NAME and kind == kind_of(example)
    signs = variant.lstrip("0123456789abcdefghijklmnopqrstuvwxyz_")
    given = {role: int(n) for role, n in (pair.split("=") for pair in numbers.split(","))}
    return variant.removesuffix(signs), signs, given


# --------------------------------------------------------------------------- the answers


def solve(kind: str, variant: str, signs: str, r: dict[str, int]) -> int:
    """The answer of a schema from its numbers, written out here once more."""
    if kind == "change_result":
        return r["a"] + r["b"] if variant == "gain" else r["a"] - r["b"]
    if kind == "change_amount":
        return r["c"] - r["a"] if variant == "gain" else r["a"] - r["c"]
    if kind == "change_start":
        return r["c"] - r["b"] if variant == "gain" else r["c"] + r["b"]
    if kind == "combine_total":
        return r["x"] + r["y"] + r.get("z", 0)
    if kind == "combine_part":
        return r["t"] - r["x"] - r.get("y", 0)
    if kind == "compare_difference":
        return r["x"] - r["y"]
    if kind in ("compare_more", "compare_fewer"):
        return r["y"] + r["d"] if variant == "ask_larger" else r["x"] - r["d"]
    if kind == "groups_total":
        return r["g"] * r["n"]
    if kind == "groups_share":
        assert r["t"] % r["g"] == 0
        return r["t"] // r["g"]
    if kind == "groups_count":
        assert r["t"] % r["n"] == 0
        return r["t"] // r["n"]
    return {
        "changes": lambda: (
            r["a"]
            + sum(
                (1 if sign == "+" else -1) * r[role]
                for sign, role in zip(signs, ("b", "b2"), strict=True)
            )
        ),
        "total_then_loss": lambda: r["x"] + r["y"] - r["z"],
        "groups_then_loss": lambda: r["g"] * r["n"] - r["b"],
        "compare_then_total": lambda: 2 * r["x"] + r["d"],
        "money_left": lambda: r["a"] - r["g"] * r["n"],
    }[variant]()


def test_answers_follow_from_the_numbers_in_the_text():
    for split in SPLITS:
        for example in examples(split):
            variant, signs, given = roles(example)
            answer = solve(kind_of(example), variant, signs, given)
            assert example.answer == str(answer) and answer >= 0, example
            assert all(n > 0 for n in given.values()), example
            # Every number the answer needs is in the text; besides them at most one more,
            # alone in a sentence that states something unrelated.
            stated = Counter(numbers_in(example.prompt))
            needed = Counter(given.values())
            assert not needed - stated, example
            extra = list((stated - needed).elements())
            assert len(extra) <= 1, example
            if extra:
                (unrelated,) = [s for s in sentences(example.prompt) if extra[0] in numbers_in(s)]
                assert numbers_in(unrelated) == extra, example
                assert re.search(r"also has|years old|^There are|^\w+ has", unrelated), example


def verb_pattern(forms: list[str]) -> re.Pattern[str]:
    """A verb phrase of any of `forms`, its fields matching anything within the sentence."""
    fields = r"(?:\\ )?\\\{\w+\\\}"  # " {count}" as `re.escape` writes it
    alternatives = [re.sub(fields, r"\\b[^.?]*?", re.escape(f)) for f in forms]
    return re.compile("|".join(rf"\b{a}" for a in alternatives))


def change_pattern(gain: bool) -> re.Pattern[str]:
    """A verb that adds (or takes away), as a statement or as a question's verb."""
    moves = ["put {x} in", "add {x} to"] if gain else ["take {x} out of", "remove {x} from"]
    bases = [c.base for c in CHANGES if c.gain == gain] + moves
    forms = [f for c in CHANGES if c.gain == gain for f in (c.past, c.present)]
    forms += [f"{do} {{he}} {base}" for do in ("did", "does") for base in bases]
    forms += ["put {x} in", "puts {x} in", "added {x} to", "adds {x} to"] if gain else []
    forms += [] if gain else ["took {x} out of", "takes {x} out of", "removed {x} from"]
    return verb_pattern(forms + ([] if gain else ["removes {x} from"]))


GAINING, LOSING = change_pattern(True), change_pattern(False)


def test_changes_go_the_way_the_key_says():
    """The clause of each change says a verb that adds (or takes away), and the question
    does not say "left" after a gain nor "in all" after a loss."""
    for example in [e for split in SPLITS for e in examples(split)]:
        kind = kind_of(example)
        variant, signs, given = roles(example)
        if not kind.startswith("change") and variant != "changes":
            continue
        gains = [sign == "+" for sign in signs] or [variant == "gain"]
        *context, question = sentences(example.prompt)
        if example.template in (
            "school.change_amount.needs_more",
            "school.change_amount.wants_to_buy",
        ):
            assert gains == [True] and "more" in question, example
            continue
        amounts = [given[r] for r in ("b", "b2") if r in given]
        for gain, amount in zip(gains, amounts or [None], strict=True):
            if amount is None:  # the change is asked for
                told = [question]
            else:
                clauses = [c for s in [*context, question] for c in re.split(r", | and ", s)]
                told = [c for c in clauses if re.search(rf"(?<!\d){amount}(?!\d)", c)]
            says, contradicts = (GAINING, LOSING) if gain else (LOSING, GAINING)
            assert any(says.search(s) and not contradicts.search(s) for s in told), example
        if kind == "change_result":
            assert ("left" not in question) if gains[0] else ("in all" not in question), example


# --------------------------------------------------------------------------- splits


def split_words(split: str) -> tuple[set[str], set[str]]:
    """The words (one-word entries) and phrases only `split` may use: names, things, colors,
    containers, materials."""
    lex = lexicon(split)
    entries = {p.name for p in lex.people} | set(lex.colors) | set(lex.materials)
    entries |= {w for n in lex.countables for w in (n.singular, n.plural)}
    entries |= {w for words in lex.containers.values() for c in words for w in (c, plural(c))}
    entries -= set(DAYS)  # "Sunday" is a name too
    return {e for e in entries if " " not in e}, {e for e in entries if " " in e}


def split_verbs(split: str) -> re.Pattern[str]:
    """The verbs only `split` may use: its share of the rarer verbs of change, its activities."""
    lex = lexicon(split)
    forms = [f for c in lex.changes if not c.everyday for f in (c.past, c.present, c.base)]
    pattern = verb_pattern(forms).pattern
    for activity in lex.activities:
        unit = rf"\b{activity.unit}s?\b"
        verbs = verb_pattern([activity.past, activity.present, activity.base]).pattern
        pattern += rf"|(?:{verbs})[^.?]*?{unit}"
    return re.compile(pattern)


@pytest.mark.parametrize("split", SPLITS)
def test_each_split_uses_only_its_own_words(split):
    for other in SPLITS:
        if other == split:
            continue
        words, phrases = split_words(other)
        verbs = split_verbs(other)
        for example in examples(split):
            text = example.prompt
            assert not words & set(re.findall(r"[\w-]+", text)), (other, example)
            assert not [p for p in phrases if re.search(rf"\b{re.escape(p)}\b", text)], example
            assert not verbs.search(text), (other, example)


def test_the_rarer_verbs_are_split_and_say_which_way_they_go():
    """Each held-out split has verbs of change of its own, and in a change a rarer verb comes
    with "more" (a gain) or "of" (a loss) when it states an amount."""
    assert all(lexicon(s).changes != lexicon("train").changes for s in ("validation", "test"))
    for split in SPLITS:
        rare = verb_pattern(
            [f for c in lexicon(split).changes if not c.everyday for f in (c.past, c.present)]
        )
        for example in examples(split):
            if not kind_of(example).startswith(("change", "two_step")):
                continue
            for sentence in sentences(example.prompt):
                if rare.search(sentence) and re.search(r"\d", sentence):
                    assert re.search(r"\bmore\b|\bof\b", sentence), example


def test_keys_of_other_splits_are_never_generated():
    """Numbers are split by key (the equal groups, a table to memorise, are split by words
    and phrasings only)."""
    keys = {
        split: {e.key for e in examples(split) if not kind_of(e).startswith("groups")}
        for split in SPLITS
    }
    assert not keys["train"] & keys["test"]
    assert not keys["train"] & keys["validation"]
    assert not keys["validation"] & keys["test"]


def test_seed_prompt_pairs_only_in_test():
    def has_reserved_pair(example: Example) -> bool:
        numbers = Counter(numbers_in(example.prompt))
        return any(not Counter((a, b)) - numbers for a, b in RESERVED_NUMBER_PAIRS)

    for split in ("train", "validation"):
        assert not [e for e in examples(split) if has_reserved_pair(e)]
    rng = random.Random(0)
    test_examples = [word_problem_example(rng, "test", 0.0) for _ in range(3000)]
    assert any(has_reserved_pair(e) for e in test_examples)


HELDOUT = {f"school.{kind}.{f.id}" for kind, frames in FRAMES.items() for f in frames if f.heldout}


def test_held_out_phrasings_only_outside_train():
    """Half the validation / test problems are held-out phrasings; the equal groups (the
    multiplication table, the same numbers in every split) are all held-out phrasings."""
    assert not [e for e in examples("train") if e.template in HELDOUT]
    for split in ("validation", "test"):
        groups = [e for e in examples(split) if kind_of(e).startswith("groups")]
        assert groups and all(e.template in HELDOUT for e in groups)
        used = Counter(e.template in HELDOUT for e in examples(split) if e not in groups)
        assert 0.4 < used[True] / sum(used.values()) < 0.6, used


def test_every_schema_has_training_and_held_out_phrasings_used():
    for kind, frames in FRAMES.items():
        assert sum(not f.heldout for f in frames) >= 4 and any(f.heldout for f in frames), kind
    templates = {e.template for split in SPLITS for e in examples(split)}
    assert templates == {f"school.{kind}.{f.id}" for kind, frames in FRAMES.items() for f in frames}


def test_held_out_phrasings_use_words_training_teaches():
    def words(text: str) -> set[str]:
        return set(re.findall(r"[a-z]+", re.sub(r"\{\w+\}", " ", text.lower())))

    taught = {
        w for frames in FRAMES.values() for f in frames if not f.heldout for w in words(f.text)
    }
    taught |= {w for c in CHANGES if c.everyday for w in words(c.present)}
    for kind, frames in FRAMES.items():
        for frame in frames:
            if frame.heldout:
                assert words(frame.text) <= taught, (kind, frame.id, words(frame.text) - taught)


# --------------------------------------------------------------------------- the examples


def test_prompt_format():
    for split in SPLITS:
        for example in examples(split):
            assert example.family == NAME
            assert example.prompt.endswith("? A:") and example.prompt.count("Q: ") == 1
            assert re.fullmatch(r"\d+", example.answer), example
            assert "{" not in example.prompt and "  " not in example.prompt, example
            assert re.match(r"[A-Z0-9$]", example.prompt), example


def test_every_kind_appears_in_the_default_mix():
    mix = generate("train", MIXED, seed=3)
    assert set(Counter(kind_of(e) for e in mix)) == set(KINDS)


def test_money_units_distractors_and_layouts_all_occur():
    texts = [e.prompt for e in examples("train")]

    def share(pattern: str) -> float:
        return sum(bool(re.search(pattern, t)) for t in texts) / len(texts)

    assert share(r"\$\d") > 0.03 and share(r"\d+ dollars?\b") > 0.03
    assert share(r"\d+ (cups|liters|pounds|meters|miles|minutes|pages|laps)\b") > 0.05
    assert share(r"also has|years old") > 0.03
    assert 0.2 < share(r"^Q: ") < 0.7  # all of it after "Q:", or context first
    assert share(r"^Q: How many") > 0.02  # the question first


def test_difficulty_scales_the_numbers():
    def largest(example: Example) -> int:
        return max([*numbers_in(example.prompt), int(example.answer)])

    rng = random.Random(0)
    easy = [word_problem_example(rng, "train", 0.0) for _ in range(1000)]
    hard = [word_problem_example(rng, "train", 1.0) for _ in range(1000)]
    assert max(largest(e) for e in easy) <= 20
    assert sum(largest(e) > 20 for e in hard) > 500
    assert 20 < sum(largest(e) > 100 for e in hard) < 300


def test_is_deterministic():
    for kind in (None, *KINDS):
        first = generate("test", 30, seed=7, kind=kind)
        assert first == generate("test", 30, seed=7, kind=kind)


def test_invalid_arguments():
    rng = random.Random(0)
    with pytest.raises(ValueError, match="split"):
        word_problem_example(rng, "dev", 0.5)
    with pytest.raises(ValueError, match="difficulty"):
        word_problem_example(rng, "train", 1.5)
    with pytest.raises(ValueError, match="kind"):
        word_problem_example(rng, "train", 0.5, "percent")


def test_lexicon_pools_keep_one_split_per_word():
    """A word inside a longer entry would give that entry the word's split as well."""
    entries = {w for words in lexicon_module.COUNTABLES.values() for w in words}
    entries |= set(lexicon_module.MATERIALS) | set(lexicon_module.COLORS)
    entries |= {c for words in lexicon_module.CONTAINERS.values() for c in words}
    for entry in entries:
        assert not [w for w in entry.split() if w in entries and w != entry], entry
