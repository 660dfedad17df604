"""Suites, prompts files and the shared decoding + scoring path."""

import re
from collections import Counter

import pytest

import cognate
from cognate.config import model_config
from cognate.data.seed_prompts import seed_prompts
from cognate.data.tasks import schoolbook_problems, stories
from cognate.data.tasks.lexicon import SPLIT_BUCKETS
from cognate.errors import CognateError
from cognate.evaluate import ablation, suites
from cognate.evaluate.metrics import is_correct
from cognate.evaluate.suites import exact_match, read_prompts_file, run_items, suite_items
from cognate.infer.sampling import SCORING

pytestmark = pytest.mark.usefixtures("one_thread")


def test_run_items_scores_every_item_in_order(tiny_checkpoint):
    bundle = cognate.load(tiny_checkpoint)
    items = [
        suites.TestItem("Q: What is 2 + 2? A:", "4"),
        suites.TestItem("The sky is blue. Q: What color is the sky? A:", "blue"),
        suites.TestItem("Q: Is 7 greater than 3? A:", "Yes"),
    ]
    bundle.model.train()
    results = run_items(bundle.model, bundle.tokenizer, items, batch_size=2)
    assert bundle.model.training  # the caller's mode is restored
    assert [r.prompt for r in results] == [item.prompt for item in items]
    for result in results:
        assert "\n" not in result.output
        assert result.correct == is_correct(result.output, result.expected)
        assert len(result.act_steps) >= 1
    assert exact_match(results) == sum(r.correct for r in results) / 3


def test_all_is_the_specializations_seed_prompts_then_its_held_out_split_then_the_open_world():
    seed = suite_items("memory", "seed")
    assert [(i.prompt, i.expected) for i in seed] == [
        (p.prompt, p.answer) for p in seed_prompts("memory")
    ]
    heldout = suite_items("memory", "heldout")
    assert len(heldout) == suites.HELDOUT_SIZE
    assert not {i.prompt for i in seed} & {i.prompt for i in heldout}
    open_world = suite_items("memory", "open")
    assert open_world == suite_items("speed", "open")  # the same questions for every model
    assert suite_items("memory", "all") == seed + heldout + open_world
    with pytest.raises(CognateError, match="unknown suite 'everything'; choose one of: seed"):
        suite_items("reasoning", "everything")


MEMORY = model_config("tiny", "memory")  # attention reaches farther than max_seq_len


@pytest.mark.parametrize(
    ("beyond", "room"),
    [
        (90, 400),
        (MEMORY.attention_reach, ablation.context(MEMORY) - SCORING.max_new_tokens),
    ],
    ids=["short reach", "memory's reach, the ablation's room"],
)
def test_the_ablation_suite_puts_the_long_stories_evidence_beyond_the_given_distance(
    tiny_checkpoint, beyond, room
):
    """Every long story names its people last more than `beyond` tokens before its end (the
    sentences after them are about other people) and fits in `room` tokens: the ablation
    finds long stories for a model whose attention reaches farther than the CLI accepts."""
    tokenizer = cognate.load(tiny_checkpoint).tokenizer
    items = suites.ablation_suite(tokenizer, beyond, room, per_group=8)
    assert Counter(i.family for i in items) == {"one-step": 8, "two-step": 8, "long": 8}
    people = {p.name for p in stories.story_people("test")}
    named = 0
    for item in (i for i in items if i.family == "long"):
        ids, offsets = tokenizer.encode_with_offsets(item.prompt)
        assert len(ids) <= room
        question = item.prompt.rindex("Q: ")
        asked = set(re.findall(r"[A-Z][a-z]+", item.prompt[question:])) & people
        for name in asked:
            last = item.prompt.rindex(name, 0, question)
            assert sum(start >= last for start, _ in offsets) - 1 > beyond
        named += bool(asked)
    assert named >= 3


def test_a_prompts_file_is_read(tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text(
        '{"prompt": "Q: What is 1 + 1? A:", "answer": "2"}\n\n{"prompt": "x", "answer": "y"}\n'
    )
    assert [item.expected for item in read_prompts_file(path)] == ["2", "y"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b'{"prompt": "a", "answer": "b"}\n{"prompt": "c", "answer": \n',
            r"prompts.jsonl:2: invalid JSON",
        ),
        (
            b'{"prompt": "a", "answer": "b"}\n{"prompt": "\xff\xfe"}\n',
            r"prompts.jsonl:2: not UTF-8",
        ),
        (b'{"prompt": "a"}\n', r"prompts.jsonl:1: missing key 'answer'"),
        (b'{"text": "free text"}\n', r"prompts.jsonl: record 1 has no prompt/answer pair"),
        (b"", r"prompts.jsonl: empty file"),
    ],
)
def test_a_bad_prompts_file_names_the_file_and_line(tmp_path, content, message):
    path = tmp_path / "prompts.jsonl"
    path.write_bytes(content)
    with pytest.raises(CognateError, match=message):
        read_prompts_file(path)


# The names stories may use (without words that open a sentence or a question, as "Can").
NAMES = {p.name for split in SPLIT_BUCKETS for p in stories.story_people(split)}


def test_the_open_world_suite_asks_every_kind_equally_from_the_test_split():
    items = suites.open_suite(per_kind=3)
    kinds = Counter(item.family for item in items)
    assert set(kinds) == {f"stories.{k}" for k in stories.KINDS} | {
        f"school.{k}" for k in schoolbook_problems.KINDS
    }
    assert set(kinds.values()) == {3}
    test_names = {p.name for p in stories.story_people("test")}
    for item in items:
        assert item.prompt.endswith(" A:") and item.expected
        if item.family.startswith("stories."):  # the test split's people only
            named = {word for word in re.findall(r"[A-Z][a-z]+", item.prompt) if word in NAMES}
            assert named <= test_names, named - test_names
