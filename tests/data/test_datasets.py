import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from cognate.config import SPECIALIZATIONS
from cognate.data.datasets import (
    IGNORE_INDEX,
    DataError,
    FileStream,
    QARecord,
    SyntheticStream,
    TextRecord,
    collate,
    encode_example,
    encode_text,
    eval_set,
    load_user_data,
    records_sha256,
    train_corpus,
)

QA = [{"prompt": "Q: What is 3 + 4? A:", "answer": "7"}, {"prompt": "Q: Hi? A:", "answer": "Hello"}]
QA_RECORDS = [QARecord(**row) for row in QA]


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def arrow_table(rows):
    return pa.Table.from_pylist(rows)


def write_arrow_stream(path, table):
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return path


# --------------------------------------------------------------------------- loading


def test_jsonl_and_json(tmp_path):
    lines = [json.dumps(row) for row in QA] + ["", json.dumps({"text": "Some text."})]
    records = load_user_data(write_lines(tmp_path / "data.jsonl", lines))
    assert records == [*QA_RECORDS, TextRecord("Some text.")]
    (tmp_path / "array.json").write_text(json.dumps(QA), encoding="utf-8")
    assert load_user_data(tmp_path / "array.json") == QA_RECORDS
    assert load_user_data(write_lines(tmp_path / "lines.json", lines)) == records


def test_plain_text_paragraphs(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("First paragraph\nstill first.\n\n\n  Second one.  \r\n", encoding="utf-8")
    assert load_user_data(path) == [
        TextRecord("First paragraph\nstill first."),
        TextRecord("Second one."),
    ]


def test_parquet_and_arrow_files(tmp_path):
    table = arrow_table(QA)
    pq.write_table(table, tmp_path / "data.parquet")
    assert load_user_data(tmp_path / "data.parquet") == QA_RECORDS
    assert load_user_data(write_arrow_stream(tmp_path / "stream.arrow", table)) == QA_RECORDS
    with (
        pa.OSFile(str(tmp_path / "file.arrow"), "wb") as sink,
        pa.ipc.new_file(sink, table.schema) as writer,
    ):
        writer.write_table(table)
    assert load_user_data(tmp_path / "file.arrow") == QA_RECORDS
    texts = arrow_table([{"text": "a b c", "id": 1}])
    assert load_user_data(write_arrow_stream(tmp_path / "t.arrow", texts)) == [TextRecord("a b c")]


def test_the_digest_of_records_is_of_their_contents_whatever_the_file(tmp_path):
    pq.write_table(arrow_table(QA), tmp_path / "data.parquet")
    jsonl = write_lines(tmp_path / "data.jsonl", [json.dumps(row) for row in QA])
    digest = records_sha256(load_user_data(jsonl))
    assert records_sha256(load_user_data(tmp_path / "data.parquet")) == digest
    assert records_sha256(QA_RECORDS[::-1]) != digest
    assert records_sha256([QA_RECORDS[0], QARecord(QA[1]["prompt"], "Hello!")]) != digest
    assert records_sha256([TextRecord(QA[0]["prompt"] + QA[0]["answer"])]) != digest


def test_datasets_save_to_disk_directories(tmp_path):
    saved = tmp_path / "saved"
    saved.mkdir()
    write_arrow_stream(saved / "data-00000-of-00002.arrow", arrow_table(QA[:1]))
    write_arrow_stream(saved / "data-00001-of-00002.arrow", arrow_table(QA[1:]))
    (saved / "state.json").write_text("{}")
    assert load_user_data(saved) == QA_RECORDS
    splits = tmp_path / "dict"
    (splits / "train").mkdir(parents=True)
    (splits / "test").mkdir()
    (splits / "dataset_dict.json").write_text('{"splits": ["train", "test"]}')
    write_arrow_stream(splits / "train" / "data-00000-of-00001.arrow", arrow_table(QA))
    write_arrow_stream(splits / "test" / "data-00000-of-00001.arrow", arrow_table(QA[:1]))
    assert load_user_data(splits) == QA_RECORDS
    (splits / "train" / "data-00000-of-00001.arrow").rename(splits / "other.arrow")
    (splits / "train").rmdir()
    with pytest.raises(DataError, match="without a 'train' split"):
        load_user_data(splits)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no \*\.arrow files"):
        load_user_data(tmp_path / "empty")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"prompt": "Q: x? A:", "answer": ', "invalid JSON"),
        ('{"prompt": "Q: x? A:"}', "missing key 'answer'"),
        ('{"prompt": "Q: x? A:", "answer": 7}', "'answer' must be a string, got int"),
        ('{"text": ""}', "'text' is empty"),
        ('{"question": "x"}', "missing key: needs 'prompt' and 'answer', or 'text'"),
        ('["a list"]', "expected a JSON object"),
    ],
)
def test_bad_json_lines_name_file_and_line(tmp_path, line, message):
    path = write_lines(tmp_path / "file.jsonl", [json.dumps(QA[0]), "", line])
    with pytest.raises(DataError, match=r"file\.jsonl:3: ") as error:
        load_user_data(path)
    assert message in str(error.value)
    assert isinstance(error.value, ValueError)


def test_other_bad_files(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(DataError, match="empty file"):
        load_user_data(tmp_path / "empty.jsonl")
    (tmp_path / "latin1.txt").write_bytes(b"fine\ncaf\xe9\n")
    with pytest.raises(DataError, match=r"latin1\.txt:2: not UTF-8"):
        load_user_data(tmp_path / "latin1.txt")
    (tmp_path / "latin1.jsonl").write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9"}\n')
    with pytest.raises(DataError, match=r"latin1\.jsonl:2: not UTF-8"):
        load_user_data(tmp_path / "latin1.jsonl")
    with pytest.raises(DataError, match="no such file"):
        load_user_data(tmp_path / "absent.jsonl")
    pq.write_table(arrow_table([{"question": "x"}]), tmp_path / "cols.parquet")
    with pytest.raises(DataError, match="needs columns 'prompt' and 'answer', or 'text'"):
        load_user_data(tmp_path / "cols.parquet")
    pq.write_table(arrow_table([{"text": 3}]), tmp_path / "ints.parquet")
    with pytest.raises(DataError, match="column 'text' has type int64"):
        load_user_data(tmp_path / "ints.parquet")
    pq.write_table(
        arrow_table([*QA, {"prompt": "Q: y? A:", "answer": None}]), tmp_path / "n.parquet"
    )
    with pytest.raises(DataError, match=r"n\.parquet: row 3: 'answer' is null"):
        load_user_data(tmp_path / "n.parquet")
    (tmp_path / "junk.arrow").write_bytes(b"not arrow at all")
    with pytest.raises(DataError, match="not an Arrow IPC"):
        load_user_data(tmp_path / "junk.arrow")


# --------------------------------------------------------------------------- encoding


def test_labels_mask_the_prompt_and_include_eos(bpe):
    prompt, answer = (
        "The capital of Vorbelka is Tismun. Q: What is the capital of Vorbelka? A:",
        "Tismun",
    )
    input_ids, labels = encode_example(bpe, prompt, answer)
    full = [*bpe.encode(f"{prompt} {answer}"), bpe.eos_id]
    assert input_ids == full[:-1] and len(labels) == len(input_ids)
    first = next(i for i, label in enumerate(labels) if label != IGNORE_INDEX)
    assert bpe.decode(input_ids[: first + 1]) == " " + prompt  # the last prompt position
    targets = labels[first:]
    assert IGNORE_INDEX not in targets and targets[-1] == bpe.eos_id
    assert bpe.decode(targets) == f" {answer}<|endoftext|>"
    assert targets == full[first + 1 :]


def test_numeric_answer_labels(bpe):
    _, labels = encode_example(bpe, "Q: What is 25 + 17? A:", "42")
    targets = [label for label in labels if label != IGNORE_INDEX]
    assert [bpe.decode([t]) for t in targets] == [" ", "4", "2", "<|endoftext|>"]


def test_earlier_answers_in_the_prompt_are_targets_too(bpe):
    prompt = (
        "Tom went to the yard. Q: Where is Tom? A: yard Tom ran to the barn. Q: Where is Tom? A:"
    )
    start = prompt.index("yard Tom")
    ids, plain = encode_example(bpe, prompt, "barn")
    same_ids, labels = encode_example(bpe, prompt, "barn", earlier_answers=[(start, start + 4)])
    assert same_ids == ids
    assert bpe.decode([t for t in plain if t != IGNORE_INDEX]) == " barn<|endoftext|>"
    assert bpe.decode([t for t in labels if t != IGNORE_INDEX]) == " yard barn<|endoftext|>"
    # The earlier answer's labels sit where the prompt has it, and nowhere else changes.
    changed = [i for i, (a, b) in enumerate(zip(plain, labels, strict=True)) if a != b]
    assert bpe.decode([ids[i + 1] for i in changed]) == " yard"


def test_truncation_keeps_the_answer(bpe):
    prompt = " ".join(["The color of the ball is red."] * 20) + " Q: What color is the ball? A:"
    full_ids, full_labels = encode_example(bpe, prompt, "red")
    input_ids, labels = encode_example(bpe, prompt, "red", max_len=16)
    assert len(input_ids) == 16
    assert (input_ids, labels) == (full_ids[-16:], full_labels[-16:])
    assert bpe.decode([t for t in labels if t != IGNORE_INDEX]) == " red<|endoftext|>"


def test_text_labels_every_next_token_in_chunks(bpe):
    text = "Some free text about apples and coins. " * 8
    tokens = [*bpe.encode(text), bpe.eos_id]
    [(whole_ids, whole_labels)] = encode_text(bpe, text)
    assert whole_ids == tokens[:-1] and whole_labels == tokens[1:]
    chunks = encode_text(bpe, text, max_len=10)
    assert all(len(ids) == len(labels) <= 10 for ids, labels in chunks)
    assert [t for ids, _ in chunks for t in ids] == tokens[:-1]
    assert [t for _, labels in chunks for t in labels] == tokens[1:]


def test_collate_right_pads(bpe):
    batch = collate([([5, 6, 7], [6, 7, 0]), ([9], [-100])], pad_id=bpe.eos_id)
    assert batch.input_ids.dtype == batch.labels.dtype == torch.long
    assert batch.input_ids.tolist() == [[5, 6, 7], [9, bpe.eos_id, bpe.eos_id]]
    assert batch.labels.tolist() == [[6, 7, 0], [-100, -100, -100]]


# --------------------------------------------------------------------------- streams


def test_synthetic_stream_is_a_function_of_the_step(bpe):
    mixture = SPECIALIZATIONS["memory"].mixture
    stream = SyntheticStream(mixture, bpe, batch_size=6, seed=1337, max_len=128)
    again = SyntheticStream(mixture, bpe, batch_size=6, seed=1337, max_len=128)
    batch = stream.batch(5, difficulty=0.3)
    assert batch.input_ids.shape[0] == 6 and batch.labels.shape == batch.input_ids.shape
    assert torch.equal(batch.input_ids, again.batch(5, difficulty=0.3).input_ids)
    assert torch.equal(batch.labels, stream.batch(5, difficulty=0.3).labels)
    assert stream.examples(5, 0.3) != stream.examples(6, 0.3)
    assert stream.examples(5, 0.3) != SyntheticStream(mixture, bpe, 6, 1, 128).examples(5, 0.3)
    assert all(e.family in mixture for e in stream.examples(7))


def test_packed_rows_hold_whole_examples_with_segment_ids(bpe):
    mixture = SPECIALIZATIONS["reasoning"].mixture
    stream = SyntheticStream(mixture, bpe, batch_size=4, seed=3, max_len=96)
    batch = stream.batch(0)
    examples = stream.examples(0)
    assert len(examples) > 4 and batch.input_ids.shape[1] <= 96
    real = batch.segments >= 0
    assert (batch.labels[~real] == IGNORE_INDEX).all()
    counts = [len(set(row[keep].tolist())) for row, keep in zip(batch.segments, real, strict=True)]
    assert sum(counts) == len(examples)
    for row, keep in zip(batch.segments, real, strict=True):
        assert row[keep].tolist() == sorted(row[keep].tolist())
    single = SyntheticStream(mixture, bpe, batch_size=4, seed=3, max_len=96, pack=False)
    assert len(single.examples(0)) == 4


def test_rank_slices_make_up_the_global_batch(bpe):
    mixture = SPECIALIZATIONS["reasoning"].mixture
    whole = SyntheticStream(mixture, bpe, batch_size=8, seed=42, max_len=128)
    ranks = [
        SyntheticStream(mixture, bpe, batch_size=4, seed=42, max_len=128, rank=r, world_size=2)
        for r in range(2)
    ]
    assert ranks[0].examples(3) + ranks[1].examples(3) == whole.examples(3)
    global_batch = whole.batch(3)
    for r, stream in enumerate(ranks):
        part = stream.batch(3)
        length = part.input_ids.shape[1]
        rows = slice(4 * r, 4 * r + 4)
        assert torch.equal(global_batch.input_ids[rows, :length], part.input_ids)
        assert torch.equal(global_batch.labels[rows, :length], part.labels)
        assert (global_batch.labels[rows, length:] == IGNORE_INDEX).all()
    with pytest.raises(ValueError, match="rank"):
        SyntheticStream(mixture, bpe, batch_size=4, seed=42, max_len=128, rank=2, world_size=2)


def test_file_stream_epochs(bpe):
    records = [QARecord(f"Q: What is {i} + 1? A:", str(i + 1)) for i in range(10)]
    stream = FileStream(records, bpe, batch_size=2, seed=0, max_len=64, world_size=2, rank=0)
    other = FileStream(records, bpe, batch_size=2, seed=0, max_len=64, world_size=2, rank=1)
    assert stream.steps_per_epoch == 2

    def first_tokens(batch):
        return [tuple(row) for row in batch.input_ids[:, :12].tolist()]

    epoch = [first_tokens(s.batch(step)) for step in range(2) for s in (stream, other)]
    seen = [row for rows in epoch for row in rows]
    assert len(seen) == len(set(seen)) == 8  # distinct rows; the other 2 are dropped this epoch
    assert torch.equal(stream.batch(1).input_ids, stream.batch(1).input_ids)
    later = [first_tokens(stream.batch(step)) for step in range(2, 4)]
    assert later != epoch[0::2]  # a new permutation in epoch 1
    too_few = r"the data: 3 training sequences .* \(--batch-size 4, over 2 processes\); use --ba"
    with pytest.raises(DataError, match=too_few):
        FileStream(records[:3], bpe, batch_size=2, seed=0, max_len=64, world_size=2)


def test_file_stream_chunks_long_texts(bpe):
    stream = FileStream([TextRecord("word " * 100), *QA_RECORDS], bpe, 2, seed=0, max_len=16)
    assert len(stream.rows) > 3 and all(len(ids) <= 16 for ids, _ in stream.rows)


def test_eval_set_and_train_corpus():
    mixture = SPECIALIZATIONS["speed"].mixture
    validation = eval_set(mixture, "validation", 30, seed=0)
    assert validation == eval_set(mixture, "validation", 30, seed=0)
    assert validation != eval_set(mixture, "test", 30, seed=0)
    corpus = train_corpus(mixture, 30, seed=0)
    assert len(corpus) == 30 and all(" A: " in text for text in corpus)
