"""`cognate chat`: a question-answering session that remembers what was said.

The models answer `"<context sentences> Q: <question> A:"` with `" <answer>"`. A session
keeps a history of statements and answered questions and puts what a new question is about
before it:

    Tom has 4 dogs.                     -> a statement: added to the history, no answer
    He buys 2 more.                     -> begins with a pronoun: the same topic as the last
    The capital of Zorvia is Belka.     -> a topic of its own
    How many dogs does Tom have now?    -> asks "Tom has 4 dogs. He buys 2 more. Q: How ... A:"
    What is 12 + 30?                    -> asks "Q: What is 12 + 30? A:" (two numbers: alone)
    Q: What is 2 + 2? A:                -> a line ending in "A:" is sent as it is

What a question carries (`ChatSession.carried`):

- a question that brings its own context, two or more numbers or statements of its own ("What
  is 12 + 30?", "Ann has 5 pens. She loses 2. How many are left?"), is asked alone;
- any other question is asked after the topics of statements that share a content word with
  it (a name, a thing; not "what", "have", "afterwards", ...), and the topics that name someone
  those name ("Where is the football?" takes "John picked up the football." and then John's
  moves), in the order they were said; when none does, it is asked alone;
- a question without content words ("How many now?") refers back: it gets the whole history,
  earlier questions and answers too.

Why: the models learn from one example's sentences before its question; other examples'
sentences and answers before it are text they never learned to pass over (a memory model
answered "What is 12 + 30?" with "Yes" after two earlier questions). Measured on multi-turn
transcripts of test-split questions (`cognate test --suite chat`; benchmarks/chat_history.py;
benchmarks/RESULTS.md, "chat"), against the same questions asked fresh: carrying the whole
history lost 34 points (memory) and 28 (speed), statements only 31 and 10; this rule loses 7
and none. Carrying earlier answers that share a word cost memory 3 more points, and topics made
of all consecutive statements (not only those that begin with a pronoun) 19. The two-numbers
rule keeps "What is 12 + 30?", which has no content word, from being read as a follow-up.
With statements typed one sentence a message (`chat_history.py --by-sentence`, 600 questions),
the hop through names gave memory 67.8% against 66.3% without it (fresh 70.5%), with whole
messages 65.0% against 66.2%: alike within the noise, and it answers the two-step story
questions a story typed line by line asks. Carrying every topic linked by any chain of shared
words fell to 55% (240 questions).

Commands: /reset (forget the history), /temp T (sampling temperature, 0 = greedy), /quit.
The oldest carried entries are dropped when the prompt would not fit the model's context.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from cognate.errors import CognateError
from cognate.infer.bundle import Bundle
from cognate.infer.generate import generate
from cognate.infer.sampling import ANSWER_STOP, Sampling

COMMANDS = "/reset, /temp T, /quit"

# Words that say nothing about what a sentence is about: they never tie a question to history.
_FUNCTION_WORDS = """
    a an the is are was were be been of in on at to for from with by and or but not no yes what
    which who whom whose where when why how many much more does do did has have had now it its
    this that there then he she they him her them his their please name tell me you know count
    can could will would right after afterwards later next finally meanwhile following soon
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())


# A sentence that continues the one before; stories number their sentences ("11 Then she ...").
_PRONOUN_START = re.compile(r"(\d+ )?(he|she|they|it|his|her|their|its|then)\b", re.IGNORECASE)


def content_words(text: str) -> set[str]:
    """The words of three or more letters that say what `text` is about, lower-cased."""
    return {w for w in re.findall(r"[a-z]{3,}", text.lower()) if w not in FUNCTION_WORDS}


def _names(run: list[Entry]) -> set[str]:
    """The capitalised content words of a topic (people, places), lower-cased."""
    return {
        word.lower()
        for entry in run
        for word in re.findall(r"\b[A-Z][a-z]{2,}", entry.text)
        if word.lower() not in FUNCTION_WORDS
    }


def brings_its_context(question: str) -> bool:
    """Whether a question holds two or more numbers or statements of its own."""
    asked = question.removeprefix("Q: ").removesuffix("A:").strip()
    return len(re.findall(r"\d+", asked)) >= 2 or re.search(r"[.!] +\S", asked) is not None


@dataclass(frozen=True)
class Entry:
    """One history entry: statements as typed, or a question (prompt form) with its answer."""

    text: str
    answered: bool = False


def as_question(line: str) -> str | None:
    """The prompt form of an input line: None for a statement (it becomes context), the line
    itself when it ends in "A:", else "Q: LINE A:"."""
    if "?" not in line and line.endswith("."):
        return None
    return line if line.endswith("A:") else f"Q: {line} A:"


class ChatSession:
    """The state of one chat: history and sampling settings. `send` handles one input line."""

    def __init__(self, bundle: Bundle, sampling: Sampling | None = None) -> None:
        self.bundle = bundle
        self.sampling = dataclasses.replace(sampling or bundle.sampling(), stop=ANSWER_STOP)
        self.history: list[Entry] = []
        self.finished = False

    def send(self, line: str) -> str | None:
        """Answer a question, remember a statement (returns None) or run a command.

        Commands return a short confirmation; /quit sets `finished`. A bad command raises
        CognateError and leaves the session as it was.
        """
        line = line.strip()
        if not line:
            return None
        if line.startswith("/"):
            return self._command(line)
        question = as_question(line)
        if question is None:
            self.tell(line)
            return None
        answer = self._answer(question)
        self.remember(question, answer)
        return answer

    def tell(self, statements: str) -> None:
        """Add statements to the history."""
        self.history.append(Entry(statements))

    def remember(self, question: str, answer: str) -> None:
        """Add a question and its answer to the history."""
        self.history.append(Entry(f"{question} {answer}".rstrip(), answered=True))

    def carried(self, question: str) -> list[str]:
        """The history a question is asked after (see the module's docstring)."""
        return [] if brings_its_context(question) else self.about(question)

    def about(self, question: str) -> list[str]:
        """The topics of statements that share a content word with the question, and the
        topics that name someone those do; the whole history, earlier answers too, when the
        question has no content words."""
        words = content_words(question)
        if not words:
            return [entry.text for entry in self.history]
        topics = [run for run in self._runs() if not run[0].answered]
        asked = [any(words & content_words(entry.text) for entry in run) for run in topics]
        named = {name for run, a in zip(topics, asked, strict=True) if a for name in _names(run)}
        return [
            entry.text
            for run, a in zip(topics, asked, strict=True)
            if a or named & _names(run)
            for entry in run
        ]

    def _runs(self) -> list[list[Entry]]:
        """The history as topics: a statement that begins with a pronoun ("He buys 2 more.")
        continues the statement before it; anything else starts a topic of its own."""
        runs: list[list[Entry]] = []
        for entry in self.history:
            before = runs[-1][-1] if runs else None
            if (
                before is not None
                and not (entry.answered or before.answered)
                and _PRONOUN_START.match(entry.text)
            ):
                runs[-1].append(entry)
            else:
                runs.append([entry])
        return runs

    def prompt_for(self, question: str) -> str:
        """The carried history and the question as one prompt, dropping the oldest entries that
        do not fit the model's context (what is left of a too long question is cut by
        `generate`)."""
        room = self.bundle.config.max_seq_len - self.sampling.max_new_tokens
        history = self.carried(question)
        prompt = " ".join([*history, question])
        while history and len(self.bundle.tokenizer.encode(prompt)) > room:
            history.pop(0)
            prompt = " ".join([*history, question])
        return prompt

    def _answer(self, question: str) -> str:
        tokenizer = self.bundle.tokenizer
        ids = tokenizer.encode(self.prompt_for(question))
        [result] = generate(
            self.bundle.model, [ids], self.sampling, tokenizer.eos_id, tokenizer.decode
        )
        return result.text.strip()

    def _command(self, line: str) -> str | None:
        name, *args = line.split()
        if name == "/quit" and not args:
            self.finished = True
            return None
        if name == "/reset" and not args:
            self.history.clear()
            return "history cleared"
        if name == "/temp" and len(args) == 1:
            try:
                temperature = float(args[0])
            except ValueError:
                raise CognateError(f"/temp needs a number, got {args[0]!r}") from None
            self.sampling = dataclasses.replace(
                self.sampling, temperature=temperature, greedy=False
            )
            return f"temperature {temperature:g}" + (" (greedy)" if temperature == 0 else "")
        raise CognateError(f"unknown command {line!r}; commands: {COMMANDS}")
