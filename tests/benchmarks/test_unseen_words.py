"""benchmarks/unseen_words.py: its tables count what they say, on the tests' tiny checkpoint."""

import random
import re
import sys
from pathlib import Path

import pytest

import cognate
from cognate.evaluate.metrics import is_correct
from cognate.evaluate.suites import PromptResult
from cognate.infer.sampling import SCORING

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import unseen_words  # noqa: E402


@pytest.fixture(scope="module")
def tokenizer(tiny_checkpoint):
    return cognate.load(tiny_checkpoint).tokenizer


@pytest.fixture(scope="module")
def questions(tokenizer):
    return unseen_words.copy_questions(tokenizer, test_items=14, train_items=21, difficulty=0.0)


def _cells(table: str) -> dict[str, list[str]]:
    """A Markdown table's body rows by their first cell (bold removed)."""
    rows = [line.strip("|").split("|") for line in table.splitlines()[2:]]
    return {cells[0].strip().strip("*"): [c.strip() for c in cells[1:]] for cells in rows}


def test_words_are_counted_in_the_tokens_the_tokenizer_gives_them(tokenizer):
    groups = {name: words[:40] for name, words in unseen_words.word_groups().items()}
    rows = unseen_words.split_rows(tokenizer, groups)
    assert [row.group for row in rows] == list(groups)
    for row in rows:
        counts = [len(tokenizer.encode(word)) for word in groups[row.group]]
        assert list(row.tokens) == counts
        assert list(row.single_tokens) == [
            w for w, n in zip(groups[row.group], counts, strict=True) if n == 1
        ]
        assert sum(row.share(b) for b in unseen_words.BUCKETS) == pytest.approx(1.0)
        assert row.share("4+") == sum(n >= 4 for n in counts) / len(counts)
    table = _cells(unseen_words.split_table(rows))
    assert table["names, test"][0] == "40"
    assert float(table["names, test"][1]) == pytest.approx(rows[3].mean, abs=0.005)


def test_copy_questions_ask_for_a_word_of_the_story_and_count_its_tokens(tokenizer, questions):
    assert len(questions) == 35
    kinds = [q.item.family for q in questions]
    assert kinds[:14] == [*unseen_words.COPY_KINDS] * 2
    assert {q.source for q in questions[:14]} == {unseen_words.SOURCES[0]}
    for question in questions:
        answer = question.item.expected
        assert answer in question.item.prompt
        assert question.answer_tokens == len(tokenizer.encode(answer))
    real = unseen_words.real_words()
    for question in questions[14:]:
        expected = unseen_words.SOURCES[1 if question.item.expected in real else 2]
        assert question.source == expected
    assert {q.source for q in questions[14:]} == set(unseen_words.SOURCES[1:])


def test_the_copy_tables_sum_to_the_questions_asked(questions):
    rng = random.Random(0)
    results = [
        PromptResult(q.item.prompt, q.item.expected, "", rng.random() < 0.5, [], q.item.family)
        for q in questions
    ]
    for by, rows in (("tokens", unseen_words.BUCKETS), ("kind", unseen_words.COPY_KINDS)):
        counts = unseen_words.tally(questions, results, by)
        for source in unseen_words.SOURCES:
            asked = [(q, r) for q, r in zip(questions, results, strict=True) if q.source == source]
            total = counts.get(("all", source), [0, 0])
            assert total == [sum(r.correct for _, r in asked), len(asked)]
            assert sum(counts.get((row, source), [0, 0])[1] for row in rows) == len(asked)
        table = _cells(unseen_words.copy_table(counts, rows, by))
        right, asked = counts[("all", unseen_words.SOURCES[0])]
        assert table["all"][0] == f"{right / asked:.0%} ({right}/{asked})"


def test_the_script_writes_its_report(tiny_checkpoint, tokenizer, tmp_path, monkeypatch):
    out = tmp_path / "unseen.md"
    run_dir = tiny_checkpoint.parent
    argv = ["unseen_words.py", "--checkpoint", str(run_dir), "--items", "7", "--train-items", "0"]
    monkeypatch.setattr(sys, "argv", [*argv, "--difficulty", "0", "--out", str(out)])
    with pytest.warns(UserWarning, match="truncated from the left"):  # a 128-token context
        unseen_words.main()
    text = out.read_text()
    assert f"Checkpoint `{run_dir / 'best'}`" in text
    asked = unseen_words.copy_questions(tokenizer, 7, 0, difficulty=0.0)
    room = cognate.load(tiny_checkpoint).config.max_seq_len - SCORING.max_new_tokens
    too_long = sum(len(tokenizer.encode(q.item.prompt)) > room for q in asked)
    assert f"{too_long} of 7 prompts were longer" in text
    by_tokens = text.split("By the tokens of the answer word:\n\n")[1].split("\n\n")[0]
    assert _cells(by_tokens)["all"][0].endswith("/7)")


def test_a_wrong_answer_is_told_apart_by_where_its_words_come_from(tokenizer, questions):
    outcomes = []
    for question in questions:
        answer = question.item.expected
        first = unseen_words.first_piece(answer, tokenizer)
        assert first and answer.lower().startswith(first)
        story_word = next(
            w
            for w in re.findall(r"[A-Za-z]+", question.item.prompt)
            if w.lower() not in answer.lower()
        )
        for output, expected in (
            (f" {answer}\n", "right"),
            (f" {story_word}.", "another word of the story"),
            (f" {answer[: max(2, len(first))]}qzx", "the answer's start, then astray"),
            (f" {answer[0]}qzx", "words not in the story"),
            (" xqzxq" if first.lower().startswith("z") else " zqxzq", "words not in the story"),
            ("\n", "nothing"),
        ):
            item = question.item
            result = PromptResult(
                item.prompt, answer, output, is_correct(output, answer), [], item.family
            )
            assert unseen_words.outcome(question, result, tokenizer) == expected, output
            outcomes.append(expected)
    table = _cells(unseen_words.outcome_table(outcomes, [q for q in questions for _ in range(6)]))
    asked = sum(q.source == unseen_words.SOURCES[0] for q in questions)
    assert table["right"][0] == f"17% ({asked})"


def test_a_missing_checkpoint_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["unseen_words.py", "--checkpoint", str(tmp_path / "nope")])
    with pytest.raises(SystemExit, match=r"^error: .*nope: no checkpoint here"):
        unseen_words.main()
