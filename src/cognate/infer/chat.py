"""`cognate chat`: a question-answering session that remembers what was said.

The models answer `"<context sentences> Q: <question> A:"` with `" <answer>"`. A session
keeps a history of statements and answered questions and puts it before each new question:

    The capital of Zorvia is Belka.            -> a statement: added to the history, no answer
    What is the capital of Zorvia?             -> asks "The capital ... Belka. Q: What ... A:"
    Q: What is 2 + 2? A:                       -> a line ending in "A:" is sent as it is

Commands: /reset (forget the history), /temp T (sampling temperature, 0 = greedy), /quit.
The oldest history entries are dropped when the prompt would not fit the model's context.
"""

from __future__ import annotations

import dataclasses

from cognate.errors import CognateError
from cognate.infer.bundle import Bundle
from cognate.infer.generate import generate
from cognate.infer.sampling import ANSWER_STOP, Sampling

COMMANDS = "/reset, /temp T, /quit"


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
        self.history: list[str] = []
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
        self.history.append(statements)

    def remember(self, question: str, answer: str) -> None:
        """Add a question and its answer to the history."""
        self.history.append(f"{question} {answer}".rstrip())

    def carried(self, question: str) -> list[str]:
        """The history entries a question is asked after."""
        return list(self.history)

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
