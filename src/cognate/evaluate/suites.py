"""Test suites and the one decoding + scoring path shared by validation and `cognate test`.

Suites of prompts (seed, heldout, open) are lists of `TestItem`s; the chat suite is played:
transcripts whose questions are asked inside a `ChatSession` and fresh (`run_transcripts`).
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from cognate.config import get_specialization
from cognate.data.datasets import QARecord, eval_set, load_user_data
from cognate.data.seed_prompts import seed_prompts
from cognate.data.tasks import Example, stories
from cognate.data.tasks import schoolbook_problems as school
from cognate.data.tasks.schoolbook_problems import word_problem_example as school_problem
from cognate.data.tasks.stories import story_example
from cognate.data.tokenizer import Tokenizer
from cognate.errors import CognateError
from cognate.evaluate.metrics import is_correct
from cognate.evaluate.transcripts import Transcript, chat_transcripts
from cognate.infer.bundle import Bundle
from cognate.infer.chat import ChatSession
from cognate.infer.generate import generate
from cognate.infer.sampling import SCORING, Sampling
from cognate.model import CognateModel

SUITES = ("seed", "heldout", "open", "chat", "all")
HELDOUT_SIZE = 200
OPEN_PER_KIND = 20  # open-world questions of each kind
CHAT_TRANSCRIPTS = 30  # transcripts of the chat suite
HELDOUT_SEED = 20_251_017  # the seed report's date: a fixed test set for every run


@dataclass(frozen=True)
class TestItem:
    prompt: str
    expected: str
    family: str = "custom"


@dataclass
class PromptResult:
    prompt: str
    expected: str
    output: str
    correct: bool
    act_steps: list[int]
    family: str

    def as_dict(self) -> dict:
        return asdict(self)


def seed_suite(spec: str) -> list[TestItem]:
    return [TestItem(p.prompt, p.answer, f"seed:{spec}") for p in seed_prompts(spec)]


def examples_to_items(examples: Sequence[Example]) -> list[TestItem]:
    return [TestItem(e.prompt, e.answer, e.family) for e in examples]


def heldout_suite(spec: str, n: int = HELDOUT_SIZE) -> list[TestItem]:
    """Examples from the test split: numbers, names and templates never seen in training."""
    mixture = get_specialization(spec).mixture
    return examples_to_items(eval_set(mixture, "test", n, HELDOUT_SEED))


def open_suite(per_kind: int = OPEN_PER_KIND) -> list[TestItem]:
    """Open-world questions from the test split, whatever the model trained on: every kind of
    story question (family "stories.<kind>") and of word problem ("school.<kind>"), with
    names, places, objects and phrasings never seen in training."""
    rng = random.Random(HELDOUT_SEED)
    makers = {"stories": (stories.KINDS, story_example), "school": (school.KINDS, school_problem)}
    return [
        TestItem(e.prompt, e.answer, f"{group}.{kind}")
        for group, (kinds, make) in makers.items()
        for kind in kinds
        for e in (make(rng, "test", 1.0, kind) for _ in range(per_kind))
    ]


ABLATION_GROUPS = ("one-step", "two-step", "long")
ABLATION_DRAWS = 3  # stories drawn at most for one question, until one fits in a model's room


def _long_story(seed: int, kind: str, tokenizer: Tokenizer, beyond: int) -> Example:
    """A short test-split story whose question's evidence lies more than `beyond` tokens
    back: `story_example` with the fewest filler sentences that takes (the same `seed` gives
    the same story, whatever the filler)."""

    def make(filler: int) -> Example:
        return story_example(random.Random(seed), "test", 0.0, kind, filler)

    story = make(0).prompt
    evidence_end = len(tokenizer.encode(story[: story.rindex("Q: ")].rstrip()))

    def far_enough(filler: int) -> bool:
        return len(tokenizer.encode(make(filler).prompt)) - evidence_end > beyond

    # The distance grows with the filler: search for the fewest sentences, from a guess (a
    # sentence rarely takes more than 16 tokens).
    low, high = 0, max(1, beyond // 16)
    while not far_enough(high):
        low, high = high, 2 * high
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if not far_enough(middle) else (low, middle)
    return make(high)


def ablation_suite(tokenizer: Tokenizer, beyond: int, room: int, per_group: int) -> list[TestItem]:
    """Test-split story questions in `ABLATION_GROUPS` (the item's family), `per_group` each:
    one-step and two-step kinds (`stories.ONE_STEP_KINDS`, `TWO_STEP_KINDS`), and long
    stories of either whose evidence lies more than `beyond` tokens back (a model's
    `attention_reach`: only its long-term memory carries it). Each story must fit in `room`
    tokens (a model would lose the beginning of a longer one): a question takes the first of
    `ABLATION_DRAWS` stories that does, or is left out."""
    rng = random.Random(HELDOUT_SEED)
    seeds = itertools.count(HELDOUT_SEED)  # a long story is drawn from a seed of its own

    def draw(group: str, kind: str) -> Example:
        if group == "long":
            return _long_story(next(seeds), kind, tokenizer, beyond)
        return story_example(rng, "test", 1.0, kind)

    one, two = stories.ONE_STEP_KINDS, stories.TWO_STEP_KINDS
    items = []
    for group, kinds in {"one-step": one, "two-step": two, "long": one + two}.items():
        for i in range(per_group):
            tried = (draw(group, kinds[i % len(kinds)]) for _ in range(ABLATION_DRAWS))
            example = next((e for e in tried if len(tokenizer.encode(e.prompt)) <= room), None)
            if example is not None:
                items.append(TestItem(example.prompt, example.answer, group))
    return items


def suite_items(spec: str, suite: str) -> list[TestItem]:
    """The prompts of a suite (none of the chat suite's: `plays_chat`)."""
    if suite not in SUITES:
        raise CognateError(f"unknown suite {suite!r}; choose one of: {', '.join(SUITES)}")
    items = []
    if suite in ("seed", "all"):
        items += seed_suite(spec)
    if suite in ("heldout", "all"):
        items += heldout_suite(spec)
    if suite in ("open", "all"):
        items += open_suite()
    return items


def plays_chat(suite: str) -> bool:
    return suite in ("chat", "all")


def read_prompts_file(path: str | Path) -> list[TestItem]:
    """A JSONL file of {"prompt", "answer"} lines (errors name the file and line)."""
    items = []
    for number, record in enumerate(load_user_data(path), start=1):
        if not isinstance(record, QARecord):
            raise CognateError(
                f"{path}: record {number} has no prompt/answer pair; a prompts file is JSONL "
                'of {"prompt": ..., "answer": ...}'
            )
        items.append(TestItem(record.prompt, record.answer, "custom"))
    return items


def run_items(
    model: CognateModel,
    tokenizer: Tokenizer,
    items: Sequence[TestItem],
    batch_size: int = 32,
    sampling: Sampling | None = None,
    context: int | None = None,
) -> list[PromptResult]:
    """Generate an answer for every item (greedy unless `sampling` says otherwise), score it.
    `context`: the longest prompt + answer kept (see `generate`)."""
    sampling = sampling or SCORING
    encoded = [tokenizer.encode(item.prompt) for item in items]
    order = sorted(range(len(items)), key=lambda i: len(encoded[i]))  # batch similar lengths
    outputs: dict[int, PromptResult] = {}
    was_training = model.training
    model.eval()
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        generations = generate(
            model,
            [encoded[i] for i in chunk],
            sampling,
            tokenizer.eos_id,
            tokenizer.decode,
            context,
        )
        for i, gen in zip(chunk, generations, strict=True):
            item = items[i]
            outputs[i] = PromptResult(
                item.prompt,
                item.expected,
                gen.text,
                is_correct(gen.text, item.expected),
                gen.act_steps,
                item.family,
            )
    model.train(was_training)
    return [outputs[i] for i in range(len(items))]


def exact_match(results: Sequence[PromptResult]) -> float:
    return sum(r.correct for r in results) / len(results) if results else 0.0


def exact_match_by_family(results: Sequence[PromptResult]) -> dict[str, float]:
    groups: dict[str, list[PromptResult]] = defaultdict(list)
    for result in results:
        groups[result.family].append(result)
    return {family: exact_match(group) for family, group in sorted(groups.items())}


@dataclass
class ChatScores:
    """Every question of a set of transcripts, answered inside its chat and fresh."""

    in_chat: list[PromptResult]  # prompt: what the session sent
    fresh: list[PromptResult]  # prompt: the example's own prompt


def run_transcripts(
    bundle: Bundle,
    transcripts: Sequence[Transcript],
    batch_size: int = 32,
    session_type: type[ChatSession] = ChatSession,
) -> ChatScores:
    """Play every transcript through its own greedy session (the transcripts' n-th turns are
    answered together), then ask each question fresh."""
    sessions = [session_type(bundle, SCORING) for _ in transcripts]
    in_chat: dict[tuple[int, int], PromptResult] = {}
    for position in range(max(map(len, transcripts), default=0)):
        asked: list[tuple[int, TestItem]] = []
        for index, (transcript, session) in enumerate(zip(transcripts, sessions, strict=True)):
            if position >= len(transcript):
                continue
            turn = transcript[position]
            if turn.example is None:
                session.tell(turn.text)
            else:
                prompt = session.prompt_for(turn.text)
                asked.append((index, TestItem(prompt, turn.example.answer, turn.example.family)))
        if not asked:
            continue
        results = run_items(bundle.model, bundle.tokenizer, [item for _, item in asked], batch_size)
        for (index, _), result in zip(asked, results, strict=True):
            sessions[index].remember(transcripts[index][position].text, result.output.strip())
            in_chat[index, position] = result
    questions = [turn.example for t in transcripts for turn in t if turn.example is not None]
    fresh = run_items(
        bundle.model,
        bundle.tokenizer,
        [TestItem(e.prompt, e.answer, e.family) for e in questions],
        batch_size,
    )
    return ChatScores([in_chat[key] for key in sorted(in_chat)], fresh)


def chat_scores(bundle: Bundle, spec: str, transcripts: int = CHAT_TRANSCRIPTS) -> ChatScores:
    """The chat suite of a specialization: the same transcripts for every model of `spec`."""
    return run_transcripts(bundle, chat_transcripts(spec, transcripts, HELDOUT_SEED))
