"""What a chat's history should carry: the chat suite's questions under several history rules.

    .venv/bin/python benchmarks/chat_history.py RUN_DIR [RUN_DIR ...] [--transcripts N]

Each run's `best` checkpoint answers the chat suite's transcripts (`cognate test --suite
chat`) with the history rule of `ChatSession` and with each alternative below, then the
same questions fresh. Prints a Markdown table and writes it to benchmarks/results/chat_history.md
(with `--by-sentence`, where statements are typed one sentence a message, to
chat_history_by_sentence.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cognate.evaluate import transcripts as chat_suite
from cognate.evaluate.suites import CHAT_TRANSCRIPTS, HELDOUT_SEED, exact_match, run_transcripts
from cognate.infer import chat
from cognate.infer.bundle import load

RESULTS = Path(__file__).parent / "results" / "chat_history.md"


class Everything(chat.ChatSession):
    """Every statement and every answered question (the rule before issue 32)."""

    def carried(self, question: str) -> list[str]:
        return [entry.text for entry in self.history]


class StatementsOnly(chat.ChatSession):
    """Every statement; answered questions are forgotten."""

    def carried(self, question: str) -> list[str]:
        return [entry.text for entry in self.history if not entry.answered]


class Nothing(chat.ChatSession):
    """Every question asked alone (the floor for questions that need statements)."""

    def carried(self, question: str) -> list[str]:
        return []


class AboutItOnly(chat.ChatSession):
    """ChatSession's rule without its first part: questions with numbers get history too."""

    def carried(self, question: str) -> list[str]:
        return self.about(question)


class EntryByEntry(chat.ChatSession):
    """ChatSession's rule with each statement judged on its own, not by runs."""

    def _runs(self) -> list[list[chat.Entry]]:
        return [[entry] for entry in self.history]


class RunsOfStatements(chat.ChatSession):
    """ChatSession's rule with all consecutive statements judged together."""

    def _runs(self) -> list[list[chat.Entry]]:
        runs: list[list[chat.Entry]] = []
        for entry in self.history:
            if runs and not entry.answered and not runs[-1][-1].answered:
                runs[-1].append(entry)
            else:
                runs.append([entry])
        return runs


class OneHop(chat.ChatSession):
    """ChatSession's rule taking only the topics that share a word with the question itself
    (the rule before stories were typed sentence by sentence)."""

    def about(self, question: str) -> list[str]:
        words = chat.content_words(question)
        if not words:
            return [entry.text for entry in self.history]
        return [
            entry.text
            for run in self._runs()
            if not run[0].answered and any(words & chat.content_words(e.text) for e in run)
            for entry in run
        ]


class WithEarlierAnswers(chat.ChatSession):
    """ChatSession's rule, also carrying earlier answers that share a content word."""

    def about(self, question: str) -> list[str]:
        words, carried = chat.content_words(question), set(super().about(question))
        return [
            entry.text
            for entry in self.history
            if entry.text in carried or (entry.answered and words & chat.content_words(entry.text))
        ]


RULES = {
    "ChatSession": chat.ChatSession,
    "everything": Everything,
    "statements only": StatementsOnly,
    "nothing": Nothing,
    "no two-numbers rule": AboutItOnly,
    "entry by entry": EntryByEntry,
    "consecutive statements one topic": RunsOfStatements,
    "with earlier answers": WithEarlierAnswers,
    "one hop": OneHop,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", type=Path)
    parser.add_argument("--transcripts", type=int, default=CHAT_TRANSCRIPTS)
    parser.add_argument(
        "--by-sentence", action="store_true", help="statements typed one sentence a message"
    )
    parser.add_argument("--rules", nargs="+", choices=RULES, default=list(RULES))
    args = parser.parse_args()
    rules = {name: RULES[name] for name in args.rules}
    lines = [
        f"| run | questions | fresh | {' | '.join(rules)} |",
        "|---|---|---|" + "---|" * len(rules),
    ]
    for run_dir in args.run_dirs:
        bundle = load(run_dir / "best")
        spec = bundle.metadata["run"]["spec"]
        transcripts = chat_suite.chat_transcripts(
            spec, args.transcripts, HELDOUT_SEED, by_sentence=args.by_sentence
        )
        cells = []
        fresh = []
        for session_type in rules.values():
            scores = run_transcripts(bundle, transcripts, session_type=session_type)
            fresh = scores.fresh
            cells.append(f"{100 * exact_match(scores.in_chat):.1f}%")
        lines.append(
            f"| {run_dir.name} ({spec}) | {len(fresh)} | {100 * exact_match(fresh):.1f}% "
            f"| {' | '.join(cells)} |"
        )
        print(lines[-1], flush=True)
    typed = "one sentence a message" if args.by_sentence else "statements as one message"
    table = f"Statements typed {typed}.\n\n" + "\n".join(lines) + "\n"
    print(table)
    results = RESULTS.with_stem(RESULTS.stem + "_by_sentence") if args.by_sentence else RESULTS
    results.write_text(table)


if __name__ == "__main__":
    main()
