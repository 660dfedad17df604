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


def texts(session: ChatSession) -> list[str]:
    return [entry.text for entry in session.history]


def test_a_statement_becomes_context_and_a_question_gets_an_answer(session):
    assert session.send(FACT) is None
    assert session.prompt_for(f"Q: {QUESTION} A:") == f"{FACT} Q: {QUESTION} A:"
    answer = session.send(QUESTION)
    assert isinstance(answer, str)
    assert "\n" not in answer
    assert texts(session) == [FACT, f"Q: {QUESTION} A: {answer}".rstrip()]
    assert [entry.answered for entry in session.history] == [False, True]
    follow_up = session.prompt_for("Q: And now? A:")  # no content word: everything said
    assert follow_up == " ".join([*texts(session), "Q: And now? A:"])


def test_a_line_ending_in_a_colon_a_is_sent_as_it_is(session):
    session.send("Q: What is 2 + 2? A:")
    assert texts(session)[0].startswith("Q: What is 2 + 2? A:")
    session.send("Is it late")  # no question mark, no full stop: still a question
    assert texts(session)[1].startswith("Q: Is it late A:")


@pytest.fixture
def talked(session):
    """A session after two stories, an answered question about each, and a sum."""
    for statement in ("Tom has 4 dogs.", "He buys 2 more."):
        session.tell(statement)
    session.remember("Q: How many dogs does Tom have? A:", "6")
    session.tell("The capital of Zorvia is Belka.")
    session.remember("Q: What is the capital of Zorvia? A:", "Belka")
    session.remember("Q: What is 12 + 30? A:", "42")
    return session


def test_a_question_is_asked_after_the_statements_about_it(talked):
    assert talked.prompt_for("Q: How many dogs does Tom have now? A:") == (
        "Tom has 4 dogs. He buys 2 more. Q: How many dogs does Tom have now? A:"
    )
    assert talked.prompt_for("Q: Which city is the capital of Zorvia? A:") == (
        "The capital of Zorvia is Belka. Q: Which city is the capital of Zorvia? A:"
    )


@pytest.mark.parametrize(
    "question",
    [
        "Q: What is 12 + 30? A:",  # two numbers
        "Q: Tom has 3 cats. How many cats does Tom have? A:",  # statements of its own
        "Q: Is it true that water is wet? A:",  # about nothing said before
    ],
)
def test_a_question_that_brings_its_context_or_is_about_nothing_said_is_asked_alone(
    talked, question
):
    assert talked.prompt_for(question) == question


def test_a_question_without_content_words_refers_back_to_everything(talked):
    prompt = talked.prompt_for("Q: How many now? A:")
    assert prompt == " ".join([*texts(talked), "Q: How many now? A:"])


def test_statements_typed_one_after_another_are_carried_together(session):
    session.send("Tom has 4 dogs.")
    session.send("He buys 2 more.")  # shares no word with the question: carried with its run
    session.send("What is 12 + 30?")
    session.send("Mary has 3 cats.")
    prompt = session.prompt_for("Q: How many dogs does Tom have? A:")
    assert prompt.startswith("Tom has 4 dogs. He buys 2 more. Q: How many dogs")
    assert "12 + 30" not in prompt and "Mary" not in prompt


def test_a_story_typed_sentence_by_sentence_carries_the_hops_of_its_question(session):
    """ "Where is the football?" needs who took it and where that person went: John's move
    shares no word with the question, only with the sentence that does."""
    for sentence in (
        "John went to the bedroom.",
        "John picked up the football.",
        "The capital of Zorvia is Belka.",
        "Mary travelled to the garden.",
        "John journeyed to the kitchen.",
    ):
        session.send(sentence)
    prompt = session.prompt_for("Q: Where is the football? A:")
    assert prompt == (
        "John went to the bedroom. John picked up the football. "
        "John journeyed to the kitchen. Q: Where is the football? A:"
    )


def test_a_numbered_story_sentence_that_begins_with_a_pronoun_continues_the_one_before(session):
    session.send("3 Anabel went to the hall.")
    session.send("4 Then she grabbed the remote.")
    prompt = session.prompt_for("Q: Where is Anabel? A:")
    assert prompt.startswith("3 Anabel went to the hall. 4 Then she grabbed the remote. Q:")


def test_reset_forgets_the_history(session):
    session.send(FACT)
    session.send(QUESTION)
    assert session.send("/reset") == "history cleared"
    assert texts(session) == []


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
