"""Chat messages become the history and question `cognate chat` would have."""

import pytest

import cognate
from cognate.infer.chat import ChatSession
from cognate.serve.openai_api import Message, chat_question


@pytest.fixture(scope="module")
def bundle(tiny_checkpoint):
    return cognate.load(tiny_checkpoint)


def asked(bundle, *messages: tuple[str, str]) -> tuple[list[str], str | None]:
    session = ChatSession(bundle)
    question = chat_question(session, [Message(role=r, content=c) for r, c in messages])
    return [entry.text for entry in session.history], question


def test_statements_become_context_and_the_last_question_is_asked(bundle):
    assert asked(
        bundle,
        ("system", "The capital of Zorvia is Belka."),
        ("user", "Mary has 3 cats.\nWhat is the capital of Zorvia?"),
    ) == (
        ["The capital of Zorvia is Belka.", "Mary has 3 cats."],
        "Q: What is the capital of Zorvia? A:",
    )


def test_an_answered_question_joins_the_history_with_its_answer(bundle):
    assert asked(
        bundle,
        ("user", "What is 2 + 2?"),
        ("assistant", " 4 "),
        ("user", "Q: What is 3 + 3? A:"),
    ) == (["Q: What is 2 + 2? A: 4"], "Q: What is 3 + 3? A:")


def test_a_question_without_an_answer_stays_as_it_was_typed(bundle):
    assert asked(bundle, ("user", "What is X?\nWhat is Y?")) == (["What is X?"], "Q: What is Y? A:")


def test_a_last_line_that_is_a_statement_asks_nothing(bundle):
    assert asked(
        bundle, ("user", "What is X?"), ("assistant", "Y"), ("user", "The sky is blue.")
    ) == (
        ["Q: What is X? A: Y", "The sky is blue."],
        None,
    )
