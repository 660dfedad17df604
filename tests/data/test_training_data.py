from pathlib import Path

import pytest

from cognate.config import TrainConfig, get_specialization
from cognate.data.datasets import QARecord, TextRecord, encode_record
from cognate.data.training_data import Question, check_records, make_tokenizer, training_data
from cognate.errors import CognateError

REASONING = get_specialization("reasoning")
PAIRS = [QARecord(f"Q: {i} plus one? A:", str(i + 1)) for i in range(30)]
TEXTS = [TextRecord(f"Note {i}: the pairs count up.") for i in range(10)]
FILE = Path("user.jsonl")


def _file_data(bpe, records, seed=3, **config):
    config = TrainConfig(batch_size=4, max_len=64, **config)
    return training_data(bpe, config, REASONING, FILE, records, seed=seed, batch_size=4)


def test_a_data_file_holds_out_a_tenth_and_trains_on_the_rest(bpe):
    data = _file_data(bpe, PAIRS + TEXTS)
    held_out = len(data.val_rows)
    assert held_out >= 4  # 40 records: 4 held out (a text may make more than one row)
    assert len(data.stream.rows) + held_out == sum(
        len(encode_record(bpe, r, 64)) for r in PAIRS + TEXTS
    )
    assert not {tuple(map(tuple, row)) for row in data.val_rows} & {
        tuple(map(tuple, row)) for row in data.stream.rows
    }
    pairs = {(r.prompt, r.answer) for r in PAIRS}
    assert all(q.family == "user" and (q.prompt, q.answer) in pairs for q in data.val_questions)
    assert data.steps_per_epoch == len(data.stream.rows) // 4


def test_the_held_out_records_are_chosen_by_the_seed_and_capped_by_eval_examples(bpe):
    questions = {seed: _file_data(bpe, PAIRS, seed=seed).val_questions for seed in (3, 4)}
    assert _file_data(bpe, PAIRS, seed=3).val_questions == questions[3]
    assert questions[3] != questions[4]
    assert len(_file_data(bpe, PAIRS, eval_examples=2).val_questions) == 2


@pytest.mark.parametrize(
    ("name", "records_are"),
    [
        ("story.txt", "its paragraphs, separated by blank lines"),
        ("user.jsonl", "its lines (JSONL)"),
        ("table.parquet", "its rows"),
    ],
)
def test_a_data_file_of_one_record_is_refused_saying_what_a_record_is(name, records_are):
    with pytest.raises(CognateError) as refused:
        check_records(Path(name), PAIRS[:1])
    message = str(refused.value)
    assert message.startswith(f"{name}: need at least 2 records to train and validate, found 1")
    assert records_are in message


def test_too_few_rows_for_a_batch_name_the_file_and_a_batch_size_that_fits(bpe):
    with pytest.raises(CognateError) as refused:
        _file_data(bpe, PAIRS[:4])  # one record held out: 3 rows for a batch of 4
    assert str(refused.value) == (
        "user.jsonl: 3 training sequences are fewer than one global batch (--batch-size 4); "
        "use --batch-size 3 or less, or more data"
    )


def test_without_a_data_file_validation_asks_the_specializations_families(bpe):
    config = TrainConfig(batch_size=4, eval_examples=20)
    data = training_data(bpe, config, REASONING, None, [], seed=1, batch_size=4)
    assert data.stream.mixture == REASONING.mixture_for_training
    assert len(data.val_questions) == len(data.val_rows) == 20
    assert {q.family for q in data.val_questions} <= set(REASONING.mixture)
    assert all(isinstance(q, Question) and q.prompt.endswith("A:") for q in data.val_questions)


def test_the_bpe_learns_the_words_of_the_users_texts():
    config = TrainConfig(bpe_vocab_size=300, bpe_corpus_examples=100)
    mixture = REASONING.mixture_for_training
    users = [TextRecord("Zorblax quibbled. " * 5)] * 20
    plain = make_tokenizer("bpe", mixture, [], config, seed=0)
    learned = make_tokenizer("bpe", mixture, users, config, seed=0)
    assert len(learned.encode(" Zorblax quibbled.")) < len(plain.encode(" Zorblax quibbled."))
