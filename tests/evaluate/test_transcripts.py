"""The chat suite: transcripts built from the test split, and playing them through sessions."""

import random
import re

import pytest

import cognate
from cognate.config import SPECIALIZATIONS
from cognate.data.tasks import Example
from cognate.evaluate import suites
from cognate.evaluate.transcripts import chat_transcripts, make_transcript
from cognate.infer.chat import FUNCTION_WORDS, ChatSession

pytestmark = pytest.mark.usefixtures("one_thread")


def words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]+", text) if len(w) > 2} - FUNCTION_WORDS


def by_episode(transcript) -> dict[int, list]:
    turns: dict[int, list] = {}
    for turn in transcript:
        turns.setdefault(turn.episode, []).append(turn)
    return turns


@pytest.mark.parametrize("spec", list(SPECIALIZATIONS))
def test_transcripts_are_a_function_of_their_seed(spec):
    assert chat_transcripts(spec, 5, seed=1) == chat_transcripts(spec, 5, seed=1)
    assert chat_transcripts(spec, 5, seed=1) != chat_transcripts(spec, 5, seed=2)


@pytest.mark.parametrize("spec", list(SPECIALIZATIONS))
def test_each_episode_is_its_examples_statements_then_its_question(spec):
    families = set(SPECIALIZATIONS[spec].mixture)
    for transcript in chat_transcripts(spec, 20, seed=3):
        episodes = by_episode(transcript)
        assert sorted(episodes) == list(range(len(episodes)))
        for turns in episodes.values():
            *statements, question = turns  # the question comes last
            assert question.is_question and not any(t.is_question for t in statements)
            assert len(statements) <= 1
            example = question.example
            assert example.family in families
            said = " ".join(t.text for t in [*statements, question])
            assert re.sub(r"\s+", " ", said) == re.sub(r"\s+", " ", example.prompt)


@pytest.mark.parametrize("spec", list(SPECIALIZATIONS))
def test_no_other_episode_can_change_an_answer(spec):
    """What a question asks about (its words that its own statements hold) is never all said
    again by another episode, so each answer stays its example's answer."""
    for transcript in chat_transcripts(spec, 30, seed=4):
        episodes = by_episode(transcript)
        for index, turns in episodes.items():
            *statements, question = turns
            asked_about = words(question.text) & words(" ".join(t.text for t in statements))
            if not asked_about:
                continue  # a question that carries everything it needs
            for other, other_turns in episodes.items():
                said = words(" ".join(t.text for t in other_turns))
                assert other == index or not asked_about <= said, (question.text, other_turns)


@pytest.mark.parametrize("spec", list(SPECIALIZATIONS))
def test_by_sentence_the_same_episodes_are_typed_a_sentence_a_message(spec):
    for whole, typed in zip(
        chat_transcripts(spec, 10, seed=6),
        chat_transcripts(spec, 10, seed=6, by_sentence=True),
        strict=True,
    ):
        wholes, parts = by_episode(whole), by_episode(typed)
        assert sorted(wholes) == sorted(parts)
        for index, turns in parts.items():
            *statements, question = turns
            assert question == wholes[index][-1]
            typed_text = " ".join(t.text for t in statements)
            whole_text = " ".join(t.text for t in wholes[index][:-1])
            assert typed_text.split() == whole_text.split()
            assert all(len(re.findall(r"[.!?](\s|$)", t.text)) == 1 for t in statements)
        # an episode's sentences come one after another
        positions = [[i for i, t in enumerate(typed) if t.episode == e] for e in parts]
        for indices in positions:
            said = indices[:-1]
            assert said == list(range(said[0], said[0] + len(said))) if said else True


def test_an_example_that_restates_another_ones_topic_is_not_taken(monkeypatch):
    """Two episodes about the colour of snow would make one of the answers wrong."""
    from cognate.evaluate import transcripts

    snow = [
        Example("The color of snow is black. Q: What color is snow? A:", "black", "facts", "t"),
        Example("The color of snow is green. Q: Name the color of snow. A:", "green", "facts", "t"),
        Example("Mia has 3 cats. Q: How many cats does Mia have? A:", "3", "running_totals", "t"),
    ]
    drawn = iter(snow)
    monkeypatch.setattr(transcripts, "sample_mixture", lambda *args: next(drawn))
    transcript = make_transcript({"facts": 1.0}, random.Random(0), episodes=2)
    assert {t.example.answer for t in transcript if t.is_question} == {"black", "3"}


@pytest.fixture(scope="module")
def bundle(tiny_checkpoint):
    return cognate.load(tiny_checkpoint)


def test_a_played_transcript_asks_what_a_chat_session_would(bundle):
    transcripts = chat_transcripts("memory", 3, seed=5)
    scores = suites.run_transcripts(bundle, transcripts)
    questions = [t for transcript in transcripts for t in transcript if t.is_question]
    assert len(scores.in_chat) == len(scores.fresh) == len(questions)
    assert [r.prompt for r in scores.fresh] == [t.example.prompt for t in questions]
    # The first transcript, typed turn by turn into a session, sends the same prompts.
    session = ChatSession(bundle, suites.SCORING)
    sent = []
    for turn in transcripts[0]:
        if turn.is_question:
            sent.append(session.prompt_for(turn.text))
            [result] = suites.run_items(
                bundle.model, bundle.tokenizer, [suites.TestItem(sent[-1], turn.example.answer)]
            )
            session.remember(turn.text, result.output.strip())
        else:
            session.tell(turn.text)
    assert [r.prompt for r in scores.in_chat[: len(sent)]] == sent
    for result in scores.in_chat:
        assert result.correct == suites.is_correct(result.output, result.expected)


def test_the_chat_suite_runs_from_the_command_line(run_cli, tiny_checkpoint):
    code, out, _ = run_cli("test", tiny_checkpoint, "--suite", "chat", "--spec", "memory")
    assert code == 0
    last = out.strip().splitlines()[-1]
    assert re.fullmatch(
        r"chat: \d+ questions inside transcripts \d+\.\d% vs the same questions "
        r"fresh \d+\.\d%",
        last,
    ), last
