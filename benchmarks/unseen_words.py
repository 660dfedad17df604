"""Unseen words: how a run's tokenizer splits words it never trained on, and whether its model
copies them from a story into the answer (issue 32, item 1).

    PYTHONPATH=src .venv/bin/python benchmarks/unseen_words.py --checkpoint runs/x/best

The run's byte-level BPE is trained on its own training corpus, so a test-split word (the
lexicon's names, places and objects that never occur in training) is spelled with pieces
merged for other words. Two tables show what that does:

1. *How words split*: tokens per word (as a story writes it, after a space) for the train and
   test splits of the lexicon's names, places and objects, and for the made-up words training
   stories use for half their places and objects (`stories.INVENTED_SHARE`), with the test
   words that are a single token all the same.
2. *Copying*: greedy exact-match on story questions whose answer is one word (or one place
   of two words) copied from the story: test-split stories (every answer a real word never
   seen in training) and, for comparison, training-split stories (real training words, or
   made-up words), by the number of tokens of the answer and by question kind, and what the
   wrong answers were: another word of the story (a miss of memory), or the answer's start
   gone astray and words not in the story (misses of copying). "What is Mary carrying?" is
   left out: its answer is a list or "nothing".

Writes `benchmarks/results/unseen_words.md` (or `--out`). Seeded: the same items every run.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import torch
from decode_speed import machine  # benchmarks/: this script's folder

from cognate import load
from cognate.checkpoint import checkpoint_stem
from cognate.data.tasks.lexicon import OBJECTS, PLACES, lexicon
from cognate.data.tasks.stories import story_example
from cognate.data.tasks.vocabulary import name_pool
from cognate.data.tokenizer import Tokenizer
from cognate.errors import CognateError
from cognate.evaluate.metrics import normalize_output
from cognate.evaluate.suites import HELDOUT_SEED, PromptResult, TestItem, run_items
from cognate.infer.sampling import SCORING

RESULTS = Path(__file__).resolve().parent / "results" / "unseen_words.md"
BUCKETS = ("1", "2", "3", "4+")  # tokens per word
# Story questions whose answer is copied from the story: a place, a name or an object.
COPY_KINDS = (
    "where_person",
    "where_object",
    "before_person",
    "before_object",
    "giver",
    "receiver",
    "given",
)
SOURCES = ("test: real, unseen", "train: real", "train: made-up")
TEST_ITEMS = 200
TRAIN_ITEMS = 100
SINGLE_TOKEN_SHOWN = 20  # test words that are one token, listed at most


def bucket(tokens: int) -> str:
    return BUCKETS[min(tokens, len(BUCKETS)) - 1]


def run_checkpoint(path: str | Path) -> Path:
    """A checkpoint's stem: `RUN_DIR` means `RUN_DIR/best`; a suffix may be given."""
    path = Path(path)
    return path / "best" if path.is_dir() else checkpoint_stem(path)


# --------------------------------------------------------------------------- how words split


def word_groups() -> dict[str, tuple[str, ...]]:
    """The words to split, by group: the lexicon's names, places and objects of the train
    and test splits, and training's made-up words (lower-case, as stories write them)."""
    groups: dict[str, tuple[str, ...]] = {}
    for split in ("train", "test"):
        words = lexicon(split)
        groups[f"names, {split}"] = tuple(p.name for p in words.people)
        groups[f"places, {split}"] = words.places
        groups[f"objects, {split}"] = words.objects
    groups["made-up, train"] = tuple(name.lower() for name in name_pool("train"))
    return groups


@dataclass(frozen=True)
class SplitRow:
    group: str
    tokens: tuple[int, ...]  # per word of the group, in its order
    single_tokens: tuple[str, ...]  # the words that are one token

    @property
    def mean(self) -> float:
        return statistics.fmean(self.tokens)

    def share(self, bucket_name: str) -> float:
        return sum(bucket(n) == bucket_name for n in self.tokens) / len(self.tokens)


def split_rows(tokenizer: Tokenizer, groups: dict[str, tuple[str, ...]]) -> list[SplitRow]:
    """Tokens per word of each group. A word is encoded alone: the tokenizer puts a space
    before a text, so it is split as it is after a space in a story."""
    rows = []
    for group, words in groups.items():
        tokens = tuple(len(tokenizer.encode(word)) for word in words)
        single = tuple(w for w, n in zip(words, tokens, strict=True) if n == 1)
        rows.append(SplitRow(group, tokens, single))
    return rows


def split_table(rows: Sequence[SplitRow]) -> str:
    lines = [
        "| words | count | tokens per word | 1 token | 2 | 3 | 4+ |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        shares = " | ".join(f"{row.share(b):.0%}" for b in BUCKETS)
        lines.append(f"| {row.group} | {len(row.tokens):,} | {row.mean:.2f} | {shares} |")
    return "\n".join(lines)


def single_token_lines(rows: Sequence[SplitRow]) -> str:
    """The test-split words that are one token (BPE merged them from other words)."""
    lines = []
    for row in rows:
        if row.group.endswith(", test"):
            shown = ", ".join(row.single_tokens[:SINGLE_TOKEN_SHOWN]) or "none"
            more = len(row.single_tokens) - SINGLE_TOKEN_SHOWN
            lines.append(f"- {row.group}: {shown}{f' (and {more} more)' if more > 0 else ''}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- copying


@dataclass(frozen=True)
class CopyQuestion:
    item: TestItem  # family: the question kind
    source: str  # one of SOURCES
    answer_tokens: int  # of the answer word, as the tokenizer splits it


def real_words() -> frozenset[str]:
    """The lexicon's places, objects and names: every other answer is a made-up word."""
    names = (p.name for split in ("train", "validation", "test") for p in lexicon(split).people)
    return frozenset((*PLACES, *OBJECTS, *names))


def copy_questions(
    tokenizer: Tokenizer,
    test_items: int = TEST_ITEMS,
    train_items: int = TRAIN_ITEMS,
    seed: int = HELDOUT_SEED,
    difficulty: float = 1.0,
) -> list[CopyQuestion]:
    """Test-split stories, then training-split ones, their kinds in turn from COPY_KINDS."""
    rng = random.Random(seed)
    real = real_words()
    questions = []
    for split, count in (("test", test_items), ("train", train_items)):
        for i in range(count):
            kind = COPY_KINDS[i % len(COPY_KINDS)]
            example = story_example(rng, split, difficulty, kind)
            if split == "test":
                source = SOURCES[0]
            else:
                source = SOURCES[1] if example.answer in real else SOURCES[2]
            item = TestItem(example.prompt, example.answer, kind)
            questions.append(CopyQuestion(item, source, len(tokenizer.encode(example.answer))))
    return questions


Tally = dict[tuple[str, str], list[int]]  # (row, source) -> [correct, total]


def tally(questions: Sequence[CopyQuestion], results: Sequence[PromptResult], by: str) -> Tally:
    """Right answers and questions per (row, source); rows: the answer's tokens (`by`
    "tokens") or the question kind ("kind"), and "all"."""
    counts: Tally = defaultdict(lambda: [0, 0])
    for question, result in zip(questions, results, strict=True):
        row = bucket(question.answer_tokens) if by == "tokens" else question.item.family
        for key in ((row, question.source), ("all", question.source)):
            counts[key][0] += result.correct
            counts[key][1] += 1
    return dict(counts)


def copy_table(counts: Tally, rows: Iterable[str], first: str) -> str:
    lines = [f"| {first} | {' | '.join(SOURCES)} |", "|---|" + "---:|" * len(SOURCES)]
    for row in (*rows, "all"):
        cells = []
        for source in SOURCES:
            right, total = counts.get((row, source), (0, 0))
            cells.append(f"{right / total:.0%} ({right}/{total})" if total else "")
        name = f"**{row}**" if row == "all" else row
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


OUTCOMES = (
    "right",
    "another word of the story",  # copied, but the wrong word: memory, not spelling
    "the answer's start, then astray",  # began to copy the word and lost it
    "words not in the story",  # a word remembered from training, or made up
    "nothing",
)


def outcome(question: CopyQuestion, result: PromptResult, tokenizer: Tokenizer) -> str:
    """What the model answered, of OUTCOMES. An answer's start is its first token and at least
    two letters ("bedo" for "bedroom"; "cloak" for "chalet" shares only the "c")."""
    if result.correct:
        return OUTCOMES[0]
    said = normalize_output(result.output).strip(" .,;:!?")
    if not said:
        return OUTCOMES[4]
    if re.search(rf"\b{re.escape(said)}\b", question.item.prompt.lower()):
        return OUTCOMES[1]
    expected = question.item.expected
    start = expected[: max(2, len(first_piece(expected, tokenizer)))].lower()
    return OUTCOMES[2] if said.startswith(start) else OUTCOMES[3]


def first_piece(word: str, tokenizer: Tokenizer) -> str:
    """The text of a word's first token, lower-case (its first two if the first is the space)."""
    ids = tokenizer.encode(word)
    return next(
        t for n in range(1, len(ids) + 1) if (t := tokenizer.decode(ids[:n]).strip().lower())
    )


def outcome_table(outcomes: Sequence[str], questions: Sequence[CopyQuestion]) -> str:
    asked = Counter(q.source for q in questions)
    counts = Counter(zip(outcomes, (q.source for q in questions), strict=True))
    lines = [f"| answer | {' | '.join(SOURCES)} |", "|---|" + "---:|" * len(SOURCES)]
    for name in OUTCOMES:
        cells = [
            f"{counts[name, source] / asked[source]:.0%} ({counts[name, source]})"
            if asked[source]
            else ""
            for source in SOURCES
        ]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- report


def report(checkpoint: Path, args: argparse.Namespace) -> str:
    bundle = load(checkpoint)
    tokenizer = bundle.tokenizer
    rows = split_rows(tokenizer, word_groups())
    questions = copy_questions(tokenizer, args.items, args.train_items, args.seed, args.difficulty)
    results = run_items(bundle.model, tokenizer, [q.item for q in questions])
    room = bundle.config.max_seq_len - SCORING.max_new_tokens
    truncated = sum(len(tokenizer.encode(q.item.prompt)) > room for q in questions)
    return "\n\n".join(
        [
            "# Unseen words: how they split, and whether the model copies them",
            f"`benchmarks/unseen_words.py --checkpoint {args.checkpoint}`, "
            f"{datetime.now():%Y-%m-%d %H:%M}: {machine(torch.get_num_threads())}. "
            f"Checkpoint `{checkpoint}` "
            f"(tokenizer: {tokenizer.vocab_size} tokens, trained on the run's corpus).",
            "## How words split\n\nTokens per word, each word written after a space as in a "
            "story. Test-split words never occur in training; made-up words are training "
            "stories' places and objects half the time.",
            split_table(rows),
            "Test-split words that are one token all the same:\n\n" + single_token_lines(rows),
            "## Copying the answer word\n\n"
            f"Greedy exact-match, story difficulty {args.difficulty:g}, seed {args.seed}: "
            f"{args.items} test-split and {args.train_items} training-split stories, their "
            f"question kinds in turn ({', '.join(COPY_KINDS)}); {truncated} of "
            f"{len(questions)} prompts were longer than the model's {room} prompt tokens and "
            "lost their start. Cells: right (right/asked).",
            "By the tokens of the answer word:\n\n"
            + copy_table(tally(questions, results, "tokens"), BUCKETS, "answer tokens"),
            "By question kind:\n\n"
            + copy_table(tally(questions, results, "kind"), COPY_KINDS, "kind"),
            "What the model answered (share of the questions asked, and their number):\n\n"
            + outcome_table(
                [outcome(q, r, tokenizer) for q, r in zip(questions, results, strict=True)],
                questions,
            ),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--checkpoint", required=True, help="a run directory (its best) or a checkpoint path"
    )
    parser.add_argument("--items", type=int, default=TEST_ITEMS, help="test-split stories")
    parser.add_argument("--train-items", type=int, default=TRAIN_ITEMS, help="training stories")
    parser.add_argument("--difficulty", type=float, default=1.0, help="story difficulty in [0, 1]")
    parser.add_argument("--seed", type=int, default=HELDOUT_SEED)
    parser.add_argument("--out", type=Path, default=RESULTS, help="the Markdown file to write")
    args = parser.parse_args()
    try:
        text = report(run_checkpoint(args.checkpoint), args) + "\n"
    except CognateError as error:  # a wrong checkpoint path, an unreadable tokenizer
        sys.exit(f"error: {error}")
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
