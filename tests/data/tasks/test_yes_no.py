import re

from task_prompts import context_and_question, has_word, parse_facts

from cognate.data.tasks import SPLITS, Example, make_examples, yes_no


def test_yes_no_answers_and_balance(by_split):
    for split in SPLITS:
        examples = by_split[split]["yes_no"]
        for e in examples:
            assert e.answer in ("Yes", "No")
            if e.template.startswith("yn.compare."):
                m = re.search(
                    r"[Ii]s (?:the number )?(\d+) (greater|bigger|larger|more|less|smaller) "
                    r"than (?:the number )?(\d+)\?",
                    e.prompt,
                )
                a, relation, b = int(m[1]), m[2], int(m[3])
                holds = a < b if relation in ("less", "smaller") else a > b
                assert e.answer == ("Yes" if holds else "No"), e
            elif e.template.startswith("yn.owner."):
                context, asked = context_and_question(e.prompt)
                owned = dict(parse_facts("owner", context))
                [name] = [n for n in owned if has_word(n, asked)]
                assert e.answer == ("Yes" if has_word(owned[name], asked) else "No"), e
        for prefix in ("yn.", "yn.world.", "yn.compare.", "yn.owner."):
            answers = [e.answer for e in examples if e.template.startswith(prefix)]
            share = answers.count("Yes") / len(answers)
            assert 0.4 <= share <= 0.6, (split, prefix, share)


def asked_animal(example: Example) -> str:
    return example.key.rpartition("=")[2]  # the key ends with "q={name}={animal}"


def test_training_asks_more_ownership_questions_and_more_near_misses():
    """Training only: "is the animal in the context?" must not answer a "No". The shares
    differ by ~0.075: 4,000 examples a split keep the sampling noise (~0.01) well inside."""

    def shares(split: str) -> tuple[float, float]:
        examples = make_examples({"yes_no": 1.0}, split, 4_000, 11)
        owner = [e for e in examples if e.template.startswith("yn.owner.")]
        several_nos = [e for e in owner if e.answer == "No" and len(e.names) > 1]
        near = [e for e in several_nos if has_word(asked_animal(e), e.prompt.rpartition("Q: ")[0])]
        return len(owner) / len(examples), len(near) / len(several_nos)

    train_owner, train_near = shares("train")
    assert 0.48 <= train_owner <= 0.58 and 0.72 <= train_near <= 0.88
    for split in ("validation", "test"):
        owner, near = shares(split)
        assert owner < train_owner - 0.05 and 0.38 <= near <= 0.62, (split, owner, near)


def test_the_training_only_weights_leave_the_other_splits_unchanged(monkeypatch):
    mixture = {"yes_no": 1.0}
    evaluation = {split: make_examples(mixture, split, 300, 5) for split in ("validation", "test")}
    training = make_examples(mixture, "train", 300, 5)
    monkeypatch.setattr(yes_no, "OWNERSHIP_BOOST", 0.0)
    monkeypatch.setattr(yes_no, "NEAR_MISS_TRAIN", 0.5)
    for split, examples in evaluation.items():
        assert make_examples(mixture, split, 300, 5) == examples
    assert make_examples(mixture, "train", 300, 5) != training
