"""Multi-turn chat transcripts from the test split, and their scores inside a chat and fresh.

A transcript is what a person might type into `cognate chat`: the statements of a few test
examples ("episodes") and their questions, the episodes interleaved, so that a question may come
right after its own statements or after other episodes' statements and answered questions:

    The capital of Portugal is Lisbon. Austria has Vienna as its capital.   (episode 0)
    Eva has 10 marbles. She gives 5 marbles to Mark.                        (episode 1)
    Q: What is the capital city of Austria? A:                     -> Vienna (episode 0)
    Q: Do you know how many marbles Eva has? A:                    -> 5      (episode 1)

Every question's answer is its example's answer: no episode's text holds all of another
episode's topic words (the content words its question shares with its own statements), so no
other episode can change an answer; they may share some words, as talk about different things
does ("Eva has 3 coins" and "How many apples does Lily have?"). Each question is scored twice,
asked inside its transcript through a `ChatSession` (its history holding the earlier turns and
the model's own earlier answers) and as a fresh prompt (its example's prompt alone): the
difference is what the conversation costs (`cognate.evaluate.suites.run_transcripts`;
`cognate test --suite chat`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cognate.config import get_specialization
from cognate.data.tasks import Example, sample_mixture
from cognate.infer.chat import content_words

EPISODES = 4  # examples per transcript
_MAX_TRIES = 1_000


@dataclass(frozen=True)
class Turn:
    """One message of a transcript: statements (`example` None) or a question of `example`."""

    text: str  # statements, or the question as "Q: ... A:"
    episode: int  # the index of the example the turn comes from, within its transcript
    example: Example | None = None

    @property
    def is_question(self) -> bool:
        return self.example is not None


Transcript = list[Turn]


def split_prompt(prompt: str) -> tuple[str, str]:
    """An example's prompt as (its statements, maybe empty; its question "Q: ... A:")."""
    statements, _, question = prompt.rpartition("Q: ")
    return statements.strip(), f"Q: {question}"


def topic_words(example: Example) -> set[str]:
    """The content words of an example's question that its own statements hold too."""
    statements, question = split_prompt(example.prompt)
    return content_words(question) & content_words(statements)


def _clashes(example: Example, others: Sequence[Example]) -> bool:
    """Whether another example's text holds all of this one's topic words, or the reverse."""
    topic, words = topic_words(example), content_words(example.prompt)
    return any(
        (topic and topic <= content_words(other.prompt))
        or (topic_words(other) and topic_words(other) <= words)
        for other in others
    )


def _episodes(mixture: Mapping[str, float], rng: random.Random, n: int) -> list[Example]:
    chosen: list[Example] = []
    for _ in range(_MAX_TRIES):
        example = sample_mixture(mixture, "test", rng)
        if not _clashes(example, chosen):
            chosen.append(example)
        if len(chosen) == n:
            return chosen
    raise RuntimeError(f"no {n} examples of {dict(mixture)} without a shared topic word")


def sentences(statements: str) -> list[str]:
    """Statements as the sentences a person would type one message at a time."""
    return [s for s in re.split(r"(?<=[.!?])\s+", statements.strip()) if s]


def make_transcript(
    mixture: Mapping[str, float],
    rng: random.Random,
    episodes: int = EPISODES,
    by_sentence: bool = False,
) -> Transcript:
    """One transcript: each episode's statements before its question, the episodes' turns
    merged in a random order. The statements are one message, or with `by_sentence` one message
    a sentence, sent one after another (another episode's turn never comes between them)."""
    pending: list[list[list[Turn]]] = []  # per episode: groups of turns sent together
    for index, example in enumerate(_episodes(mixture, rng, episodes)):
        statements, question = split_prompt(example.prompt)
        parts = sentences(statements) if by_sentence else [statements] if statements else []
        said = [Turn(part, index) for part in parts]
        asked = [Turn(question, index, example)]
        pending.append([said, asked] if said else [asked])
    transcript: Transcript = []
    while pending:
        groups = rng.choice(pending)
        transcript.extend(groups.pop(0))
        if not groups:
            pending.remove(groups)
    return transcript


def chat_transcripts(
    spec: str, n: int, seed: int, episodes: int = EPISODES, by_sentence: bool = False
) -> list[Transcript]:
    """`n` transcripts of the specialization's test families: a pure function of the
    arguments, the same for every model of `spec`."""
    rng = random.Random(f"cognate-transcripts-{spec}-{seed}")
    mixture = get_specialization(spec).mixture
    return [make_transcript(mixture, rng, episodes, by_sentence) for _ in range(n)]
