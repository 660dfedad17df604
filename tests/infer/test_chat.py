"""The chat session: history, statements, questions and commands, without the CLI."""

import pytest

import cognate
from cognate.errors import CognateError
from cognate.infer.chat import ChatSession
from cognate.infer.sampling import Sampling

pytestmark = pytest.mark.usefixtures("one_thread")

FACT = "The capital of Zorvia is Belka."
QUESTION = "What is the capital of Zorvia?"


@pytest.fixture
def session(tiny_checkpoint):
    return ChatSession(cognate.load(tiny_checkpoint), Sampling(greedy=True, max_new_tokens=3))


def test_a_statement_becomes_context_and_a_question_gets_an_answer(session):
    assert session.send(FACT) is None
    assert session.prompt_for(f"Q: {QUESTION} A:") == f"{FACT} Q: {QUESTION} A:"
    answer = session.send(QUESTION)
    assert isinstance(answer, str)
    assert "\n" not in answer
    assert session.history == [FACT, f"Q: {QUESTION} A: {answer}".rstrip()]
    next_prompt = session.prompt_for("Q: And? A:")
    assert next_prompt.startswith(f"{FACT} Q: {QUESTION} A:")
    assert next_prompt.endswith("Q: And? A:")


def test_a_line_ending_in_a_colon_a_is_sent_as_it_is(session):
    session.send("Q: What is 2 + 2? A:")
    assert session.history[0].startswith("Q: What is 2 + 2? A:")
    session.send("Is it late")  # no question mark, no full stop: still a question
    assert session.history[1].startswith("Q: Is it late A:")


def test_reset_forgets_the_history(session):
    session.send(FACT)
    session.send(QUESTION)
    assert session.send("/reset") == "history cleared"
    assert session.history == []


def test_temp_sets_the_temperature_and_bad_commands_change_nothing(session):
    assert session.send("/temp 0.5") == "temperature 0.5"
    assert session.sampling.temperature == 0.5
    assert not session.sampling.is_greedy
    for bad in ("/temp -1", "/temp warm", "/temp", "/shout"):
        with pytest.raises(CognateError):
            session.send(bad)
    assert session.sampling.temperature == 0.5


def test_quit_finishes_the_session(session):
    assert session.send("   ") is None
    assert not session.finished
    assert session.send("/quit") is None
    assert session.finished


def test_the_oldest_history_is_dropped_to_fit_the_context(session):
    facts = [f"The ball of Mira{i} is red." for i in range(12)]
    for fact in facts:
        session.send(fact)
    prompt = session.prompt_for("Q: What colour is the ball of Mira11? A:")
    room = session.bundle.config.max_seq_len - session.sampling.max_new_tokens
    assert len(session.bundle.tokenizer.encode(prompt)) <= room
    assert facts[0] not in prompt
    assert facts[-1] in prompt
