"""What one training run reads: its tokenizer, its training batches and its held-out data.

Without a data file a run draws fresh synthetic examples of its specialization's training
mixture and validates on a fixed set of examples of the validation split. With one, the file's
records are shuffled once (by the run's seed): the first tenth (at most `eval_examples`) is
held out, the rest trained on, epoch after epoch.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from cognate.config import Specialization, TrainConfig
from cognate.data.datasets import (
    RECORDS_OF,
    FileStream,
    QARecord,
    Record,
    Row,
    SyntheticStream,
    data_kind,
    encode_example,
    encode_record,
    eval_set,
    train_corpus,
)
from cognate.data.tokenizer import Tokenizer, load_gpt2, parse_tokenizer_spec, train_bpe
from cognate.errors import CognateError

VALIDATION_SEED = 7  # fixed: every run of a spec validates on the same examples


class Question(NamedTuple):
    """A held-out question, which validation answers greedily."""

    prompt: str
    answer: str
    family: str  # the task family, or "user" for a data file's prompt/answer pairs


@dataclass(frozen=True)
class TrainingData:
    """One rank's share of a run's data."""

    stream: SyntheticStream | FileStream  # the rank's batch of any step
    val_rows: list[Row]  # the validation loss is taken on these
    val_questions: list[Question]  # exact match is measured on these
    steps_per_epoch: int  # optimizer steps (each of `grad_accum` batches)


def make_tokenizer(
    spec: str,
    mixture: Mapping[str, float],
    records: Sequence[Record],
    config: TrainConfig,
    seed: int,
) -> Tokenizer:
    """A new run's tokenizer: GPT-2's (`gpt2:PATH`), or a BPE (`bpe`) of `bpe_vocab_size`
    tokens trained on `bpe_corpus_examples` examples of the training `mixture` (drawn with
    `seed`) and the texts of the user's records."""
    parsed = parse_tokenizer_spec(spec)
    if parsed.kind == "gpt2":
        return load_gpt2(parsed.path)
    texts = train_corpus(mixture, config.bpe_corpus_examples, seed)
    user_texts = [f"{r.prompt} {r.answer}" if isinstance(r, QARecord) else r.text for r in records]
    return train_bpe(texts + user_texts, config.bpe_vocab_size)


def check_records(user_data: Path, records: Sequence[Record]) -> None:
    """Refuse a data file too small to train on and validate on (before any work is done)."""
    if len(records) < 2:
        raise CognateError(
            f"{user_data}: need at least 2 records to train and validate, found {len(records)} "
            f"(its records are {RECORDS_OF[data_kind(user_data)]})"
        )


def training_data(
    tokenizer: Tokenizer,
    config: TrainConfig,
    specialization: Specialization,
    user_data: Path | None,
    records: Sequence[Record],
    *,
    seed: int,
    batch_size: int,
    rank: int = 0,
    world_size: int = 1,
) -> TrainingData:
    """The data of rank `rank` of `world_size`, each taking `batch_size` rows of a step:
    synthetic when `user_data` is None, else the file's `records` (at least 2: check_records)."""
    if user_data is None:
        stream = SyntheticStream(
            specialization.mixture_for_training,
            tokenizer,
            batch_size,
            seed,
            config.max_len,
            rank=rank,
            world_size=world_size,
            distracted_share=specialization.distracted_share,
        )
        examples = eval_set(
            specialization.mixture, "validation", config.eval_examples, VALIDATION_SEED
        )
        return TrainingData(
            stream,
            val_rows=[
                encode_example(tokenizer, e.prompt, e.answer, config.max_len) for e in examples
            ],
            val_questions=[Question(e.prompt, e.answer, e.family) for e in examples],
            steps_per_epoch=max(
                1, config.epoch_examples // (config.batch_size * config.grad_accum)
            ),
        )
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    n_val = min(config.eval_examples, max(1, len(shuffled) // 10))
    held_out, train = shuffled[:n_val], shuffled[n_val:]
    stream = FileStream(
        train,
        tokenizer,
        batch_size,
        seed,
        config.max_len,
        rank=rank,
        world_size=world_size,
        source=user_data,
    )
    return TrainingData(
        stream,
        val_rows=[row for r in held_out for row in encode_record(tokenizer, r, config.max_len)],
        val_questions=[
            Question(r.prompt, r.answer, "user") for r in held_out if isinstance(r, QARecord)
        ],
        steps_per_epoch=max(1, stream.steps_per_epoch // config.grad_accum),
    )
