import random
from collections import Counter

from task_prompts import FACT_SENTENCES, context_and_question, has_word, parse_facts

from cognate.data.tasks import SPLITS, sample_example


def test_fact_answers_are_copied_from_context(by_split):
    phrasings: Counter[str] = Counter()
    for split in SPLITS:
        for e in by_split[split]["facts"]:
            context, asked = context_and_question(e.prompt)
            assert has_word(e.answer, context), e
            kind = e.template.split(".")[1].split("_")[0]
            facts = parse_facts(kind, context, phrasings)
            assert 1 <= len(facts) <= 5
            assert len({k for k, _ in facts}) == len({v for _, v in facts}) == len(facts)
            # The question names exactly one fact, by its key or (who owns ...) by its value.
            core = {k: k.removeprefix("the ") for k, _ in facts}
            uncapitalized = asked[0].lower() + asked[1:]  # "Q: The sky is what color? A:"
            keys = [k for k in core if has_word(core[k], asked) or has_word(core[k], uncapitalized)]
            values = [v for _, v in facts if has_word(v, asked)]
            named = [(k, v) for k, v in facts if k in keys or v in values]
            assert len(named) == 1, e
            (k, v), owner_who = named[0], e.template.startswith("facts.owner_who.")
            assert (v in values) if owner_who else (k in keys), e
            assert e.answer == (k if owner_who else v), e
    every = {p for patterns in FACT_SENTENCES.values() for p in patterns}
    assert set(phrasings) == every
    # The seed prompts' wording stays the most frequent one.
    for patterns in FACT_SENTENCES.values():
        assert max(patterns, key=phrasings.__getitem__) == patterns[0]


def test_difficulty_sets_the_number_of_facts():
    def fact_counts(difficulty: float) -> list[int]:
        rng = random.Random(7)
        examples = [sample_example("facts", "train", rng, difficulty) for _ in range(1_000)]
        return [context_and_question(e.prompt)[0].count(".") for e in examples]

    easy_counts, hard_counts = fact_counts(0.0), fact_counts(1.0)
    assert max(easy_counts) <= 2 and easy_counts.count(1) > len(easy_counts) / 2
    assert max(hard_counts) == 5 and sum(hard_counts) / len(hard_counts) > 2.5
