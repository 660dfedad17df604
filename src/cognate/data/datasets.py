"""User data files, encoding with next-token labels, and deterministic batch streams.

Labels are already shifted: `labels[i]` is the token the model must predict at position `i`
(the token at `i + 1`), or `IGNORE_INDEX` where no loss is taken. A stream's batch is a pure
function of (seed, step[, difficulty]), so a resumed run needs to store only the step.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from cognate.config import IGNORE_INDEX
from cognate.data.tasks import Example, make_examples, sample_mixture
from cognate.data.tokenizer import Tokenizer
from cognate.errors import CognateError

Row = tuple[list[int], list[int]]  # (input_ids, labels) of one sequence


class DataError(CognateError):
    """A user data file cannot be read; the message names the file, the line and the problem."""


@dataclass(frozen=True)
class QARecord:
    """A prompt/answer pair: the loss is taken on the answer (and the end-of-text token)."""

    prompt: str
    answer: str


@dataclass(frozen=True)
class TextRecord:
    """Free text: the loss is taken on every token."""

    text: str


Record = QARecord | TextRecord


# --------------------------------------------------------------------------- loading


def load_user_data(path: str | Path) -> list[Record]:
    """Read records from a JSONL / JSON, text, Parquet or Arrow file, or a `datasets` directory.

    JSON lines hold `{"prompt": ..., "answer": ...}` or `{"text": ...}`; tables hold `prompt`
    and `answer` columns or a `text` column; text files are split into paragraphs.
    """
    path = Path(path)
    kind = data_kind(path)
    if kind == "datasets":
        records = _load_dataset_dir(path)
    elif not path.is_file():
        raise DataError(f"{path}: no such file or directory")
    elif kind == "json":
        records = _load_json(path)
    elif kind == "parquet":
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as error:
            raise DataError(f"{path}: not a readable Parquet file ({error})") from None
        records = _records_from_table(table, path)
    elif kind == "arrow":
        records = _records_from_table(_read_arrow(path), path)
    else:
        records = _load_text(path)
    if not records:
        raise DataError(f"{path}: empty file (no records)")
    return records


# What one record is in each kind of data file.
RECORDS_OF = {
    "datasets": "the rows of its train split",
    "json": "its lines (JSONL), or the items of its array",
    "parquet": "its rows",
    "arrow": "its rows",
    "text": "its paragraphs, separated by blank lines",
}


def data_kind(path: Path) -> str:
    """Which of RECORDS_OF's kinds of data file `path` is, by its suffix."""
    if path.is_dir():
        return "datasets"
    suffix = path.suffix.lower()
    return {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".arrow": "arrow"}.get(
        suffix, "text"
    )


def records_sha256(records: Sequence[Record]) -> str:
    """A digest of the records' contents, whichever kind of file they were read from."""
    digest = hashlib.sha256()
    for record in records:
        fields = [record.prompt, record.answer] if isinstance(record, QARecord) else [record.text]
        digest.update(json.dumps([type(record).__name__, *fields]).encode() + b"\n")
    return digest.hexdigest()


def _decode(data: bytes, where: str, first_line: int = 1) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = first_line + data.count(b"\n", 0, error.start)
        raise DataError(f"{where}:{line}: not UTF-8 text (byte {error.start + 1})") from None


def _string(obj: Mapping[str, Any], key: str, where: str) -> str:
    if key not in obj:
        raise DataError(f"{where}: missing key {key!r}")
    value = obj[key]
    if value is None:
        raise DataError(f"{where}: {key!r} is null")
    if not isinstance(value, str):
        raise DataError(f"{where}: {key!r} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise DataError(f"{where}: {key!r} is empty")
    return value


def _record(obj: object, where: str) -> Record:
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    if "prompt" in obj or "answer" in obj:
        return QARecord(_string(obj, "prompt", where), _string(obj, "answer", where))
    if "text" in obj:
        return TextRecord(_string(obj, "text", where))
    keys = ", ".join(map(repr, obj)) or "none"
    raise DataError(f"{where}: missing key: needs 'prompt' and 'answer', or 'text' (has {keys})")


def _load_json(path: Path) -> list[Record]:
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    if path.suffix.lower() == ".json" and data.lstrip().startswith(b"["):
        try:
            items = json.loads(_decode(data, str(path)))
        except json.JSONDecodeError as error:
            raise DataError(f"{path}:{error.lineno}: invalid JSON ({error.msg})") from None
        return [_record(item, f"{path}: item {i}") for i, item in enumerate(items, 1)]
    records = []
    for number, raw in enumerate(data.splitlines(), 1):
        where = f"{path}:{number}"
        line = _decode(raw, str(path), first_line=number)
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{where}: invalid JSON ({error.msg})") from None
        records.append(_record(obj, where))
    return records


def _load_text(path: Path) -> list[Record]:
    text = _decode(path.read_bytes().removeprefix(b"\xef\xbb\xbf"), str(path))
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
    return [TextRecord(p.strip()) for p in paragraphs if p.strip()]


def _read_arrow(path: Path) -> pa.Table:
    """An Arrow IPC stream (what `datasets` writes) or IPC file."""
    for open_ipc in (pa.ipc.open_stream, pa.ipc.open_file):
        try:
            with pa.OSFile(str(path), "rb") as source:
                return open_ipc(source).read_all()
        except pa.ArrowInvalid:
            continue
    raise DataError(f"{path}: not an Arrow IPC stream or file")


def _load_dataset_dir(path: Path) -> list[Record]:
    """A `datasets` `save_to_disk` directory; for a DatasetDict, its `train` split."""
    if (path / "dataset_dict.json").is_file():
        if not (path / "train").is_dir():
            raise DataError(f"{path}: a DatasetDict without a 'train' split")
        path = path / "train"
    files = sorted(path.glob("*.arrow"))
    if not files:
        raise DataError(f"{path}: no *.arrow files (expected a datasets save_to_disk directory)")
    return [record for file in files for record in _records_from_table(_read_arrow(file), file)]


def _records_from_table(table: pa.Table, path: Path) -> list[Record]:
    names = set(table.column_names)
    columns = ["prompt", "answer"] if {"prompt", "answer"} <= names else ["text"]
    if not set(columns) <= names:
        raise DataError(
            f"{path}: needs columns 'prompt' and 'answer', or 'text' "
            f"(has {', '.join(table.column_names) or 'none'})"
        )
    for name in columns:
        kind = table.schema.field(name).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            raise DataError(f"{path}: column {name!r} has type {kind}, expected string")
    rows = table.select(columns).to_pylist()
    return [_record(row, f"{path}: row {i}") for i, row in enumerate(rows, 1)]


# --------------------------------------------------------------------------- encoding


def encode_example(
    tokenizer: Tokenizer,
    prompt: str,
    answer: str,
    max_len: int | None = None,
    earlier_answers: Sequence[tuple[int, int]] = (),
) -> Row:
    """Encode `prompt + " " + answer + <eos>` with labels on the answer part only (and on the
    `earlier_answers`, [start, end) character spans of `prompt`).

    The text is tokenised as one string; a token is part of an answer when it ends after the
    prompt (or inside an earlier answer's span), so the space before an answer (which the
    model must also produce after "A:") is a target too. Too long sequences lose tokens on
    the left, keeping the answer.
    """
    ids, offsets = tokenizer.encode_with_offsets(f"{prompt} {answer}")
    tokens = [*ids, tokenizer.eos_id]
    targets = [
        end > len(prompt) or any(start <= end <= stop for start, stop in earlier_answers)
        for _, end in offsets
    ] + [True]
    input_ids = tokens[:-1]
    labels = [
        t if target else IGNORE_INDEX for t, target in zip(tokens[1:], targets[1:], strict=True)
    ]
    if max_len is not None and len(input_ids) > max_len:
        input_ids, labels = input_ids[-max_len:], labels[-max_len:]
    return input_ids, labels


def encode_text(tokenizer: Tokenizer, text: str, max_len: int | None = None) -> list[Row]:
    """Encode `text + <eos>` with every next token a target, in chunks of at most `max_len`."""
    tokens = [*tokenizer.encode(text), tokenizer.eos_id]
    positions = len(tokens) - 1
    size = max_len or positions
    rows = []
    for start in range(0, positions, size):
        end = min(start + size, positions)
        rows.append((tokens[start:end], tokens[start + 1 : end + 1]))
    return rows


def encode_record(tokenizer: Tokenizer, record: Record, max_len: int | None = None) -> list[Row]:
    """The rows of one record: one for a prompt/answer pair, one or more for a text."""
    if isinstance(record, QARecord):
        return [encode_example(tokenizer, record.prompt, record.answer, max_len)]
    return encode_text(tokenizer, record.text, max_len)


class Batch(NamedTuple):
    input_ids: torch.Tensor  # LongTensor [B, L], right-padded with eos
    labels: torch.Tensor  # LongTensor [B, L], IGNORE_INDEX on padding
    segments: torch.Tensor | None = None  # LongTensor [B, L]: which packed sequence, if packed


def collate(rows: Sequence[Row], pad_id: int) -> Batch:
    """Right-pad rows to the longest one."""
    length = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), length), IGNORE_INDEX, dtype=torch.long)
    for i, (ids, row_labels) in enumerate(rows):
        input_ids[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        labels[i, : len(row_labels)] = torch.tensor(row_labels, dtype=torch.long)
    return Batch(input_ids, labels)


def pack(rows: Sequence[Sequence[Row]], pad_id: int) -> Batch:
    """Concatenate the sequences of each row (segment ids 0, 1, ..), then right-pad.

    Padding is segment -1, so the model keeps it apart from every sequence.
    """
    flat = [
        ([t for ids, _ in row for t in ids], [t for _, labels in row for t in labels])
        for row in rows
    ]
    batch = collate(flat, pad_id)
    segments = torch.empty_like(batch.input_ids)
    for i, row in enumerate(rows):
        ids = [n for n, (sequence, _) in enumerate(row) for _ in sequence]
        segments[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        segments[i, len(ids) :] = -1
    return batch._replace(segments=segments)


# --------------------------------------------------------------------------- streams


def _check_ranks(batch_size: int, rank: int, world_size: int) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, world_size), got rank {rank} of {world_size}")


class SyntheticStream:
    """Fresh synthetic training examples for any step, packed into rows of `max_len` tokens.

    The global batch of a step holds `batch_size * world_size` rows; row `j` is filled with
    examples drawn from its own generator seeded by (seed, step, j) until the next one does
    not fit, and rank `r` takes rows `[r * batch_size, (r + 1) * batch_size)`. With
    `pack=False` each row holds one example.
    """

    def __init__(
        self,
        mixture: Mapping[str, float],
        tokenizer: Tokenizer,
        batch_size: int,
        seed: int,
        max_len: int,
        rank: int = 0,
        world_size: int = 1,
        pack: bool = True,
        distracted_share: float = 0.0,
    ) -> None:
        _check_ranks(batch_size, rank, world_size)
        self.pack = pack
        self.distracted_share = distracted_share
        self.mixture = dict(mixture)
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.seed = seed
        self.max_len = max_len
        self.rank = rank
        self.world_size = world_size

    def _row(self, step: int, row: int, difficulty: float) -> list[tuple[Example, Row]]:
        rng = random.Random(f"{self.seed}-{step}-{row}")
        filled: list[tuple[Example, Row]] = []
        used = 0
        while True:
            example = sample_mixture(self.mixture, "train", rng, difficulty, self.distracted_share)
            prompt, answer, earlier = example.prompt, example.answer, example.earlier_answers
            encoded = encode_example(self.tokenizer, prompt, answer, self.max_len, earlier)
            if filled and used + len(encoded[0]) > self.max_len:
                return filled
            filled.append((example, encoded))
            used += len(encoded[0])
            if not self.pack:
                return filled

    def _rows(self, step: int, difficulty: float) -> list[list[tuple[Example, Row]]]:
        first = self.rank * self.batch_size
        return [self._row(step, j, difficulty) for j in range(first, first + self.batch_size)]

    def examples(self, step: int, difficulty: float = 1.0) -> list[Example]:
        """This rank's examples of a step, row by row."""
        return [example for row in self._rows(step, difficulty) for example, _ in row]

    def batch(self, step: int, difficulty: float = 1.0) -> Batch:
        rows = [[encoded for _, encoded in row] for row in self._rows(step, difficulty)]
        return pack(rows, self.tokenizer.eos_id)


def _fewer_rows_fix(rows: int, world_size: int) -> str:
    fits = rows // world_size * world_size  # the largest global batch the rows fill
    if fits:
        return f"use --batch-size {fits} or less, or more data"
    return "use fewer processes, or more data" if world_size > 1 else "give more data"


class FileStream:
    """Epochs over user records, reshuffled every epoch by a permutation seeded by (seed, epoch).

    Records are encoded once (long texts become several rows); an epoch is
    `len(rows) // (batch_size * world_size)` steps, and the rest of each epoch is dropped.
    """

    def __init__(
        self,
        records: Sequence[Record],
        tokenizer: Tokenizer,
        batch_size: int,
        seed: int,
        max_len: int,
        rank: int = 0,
        world_size: int = 1,
        source: Path | str = "the data",
    ) -> None:
        _check_ranks(batch_size, rank, world_size)
        self.rows = [row for record in records for row in encode_record(tokenizer, record, max_len)]
        self.global_batch = batch_size * world_size
        if len(self.rows) < self.global_batch:
            raise DataError(
                f"{source}: {len(self.rows)} training sequences are fewer than one global batch "
                f"(--batch-size {self.global_batch}"
                + (f", over {world_size} processes" if world_size > 1 else "")
                + f"); {_fewer_rows_fix(len(self.rows), world_size)}"
            )
        self.pad_id = tokenizer.eos_id
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.steps_per_epoch = len(self.rows) // self.global_batch
        self._order: tuple[int, list[int]] | None = None

    def order(self, epoch: int) -> list[int]:
        """The row order of an epoch."""
        if self._order is None or self._order[0] != epoch:
            order = list(range(len(self.rows)))
            random.Random(f"{self.seed}-epoch-{epoch}").shuffle(order)
            self._order = (epoch, order)
        return self._order[1]

    def batch(self, step: int, difficulty: float = 1.0) -> Batch:
        """This rank's batch of a step. `difficulty` is ignored: user data has no curriculum."""
        epoch, index = divmod(step, self.steps_per_epoch)
        start = index * self.global_batch + self.rank * self.batch_size
        rows = [self.rows[i] for i in self.order(epoch)[start : start + self.batch_size]]
        return collate(rows, self.pad_id)


def eval_set(mixture: Mapping[str, float], split: str, n: int, seed: int) -> list[Example]:
    """A fixed evaluation set of `n` full-difficulty examples of `split`."""
    return make_examples(mixture, split, n, seed, difficulty=1.0)


def train_corpus(mixture: Mapping[str, float], n: int, seed: int) -> list[str]:
    """`n` training texts (prompt and answer) to train the BPE tokenizer on."""
    return [e.text for e in make_examples(mixture, "train", n, seed, difficulty=1.0)]
