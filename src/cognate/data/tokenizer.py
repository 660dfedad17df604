"""Tokenizers: a byte-level BPE trained on the task corpus, or a local GPT-2 BPE.

Both are byte level, so every string encodes (nothing is ever unknown) and
`decode(encode(s)) == s` (the trained BPE puts a space before a text that does not start with
one, so that a word is the same tokens at the start of a text as anywhere else: there,
`decode(encode(s)) == " " + s`). Both end texts with `<|endoftext|>`, which also pads batches.
Nothing is ever downloaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import tokenizers
from tokenizers import decoders, models, pre_tokenizers, trainers

from cognate.atomic import write_atomically
from cognate.errors import CognateError

EOS = "<|endoftext|>"
TOKENIZER_FILE = "tokenizer.json"
KINDS = ("bpe", "gpt2")


class TokenizerError(CognateError):
    """A tokenizer file is missing or unusable, or a tokenizer spec is malformed."""


class Tokenizer:
    """A thin wrapper around `tokenizers.Tokenizer` with the few operations Cognate needs."""

    def __init__(self, inner: tokenizers.Tokenizer, kind: str) -> None:
        if kind not in KINDS:
            raise TokenizerError(f"unknown tokenizer kind {kind!r}; choose one of: bpe, gpt2")
        eos_id = inner.token_to_id(EOS)
        if eos_id is None:
            raise TokenizerError(f"the tokenizer has no {EOS} token")
        self._inner = inner
        self.kind = kind
        self.eos_id: int = eos_id

    @property
    def vocab_size(self) -> int:
        return self._inner.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        return self._inner.encode(text, add_special_tokens=False).ids

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids and, for each token, its (start, end) character span in `text`."""
        encoding = self._inner.encode(text, add_special_tokens=False)
        return encoding.ids, encoding.offsets

    def decode(self, ids: Sequence[int]) -> str:
        return self._inner.decode(list(ids), skip_special_tokens=False)

    def save(self, path: str | Path) -> Path:
        """Write `tokenizer.json` (into `path` if it is a directory) atomically; return its path."""
        path = Path(path)
        target = path if path.suffix == ".json" else path / TOKENIZER_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, lambda temporary: self._inner.save(str(temporary)))
        return target

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        """Load a `tokenizer.json` written by `save` (a file, or a directory holding one)."""
        path = Path(path)
        file = path / TOKENIZER_FILE if path.is_dir() else path
        if not file.is_file():
            raise TokenizerError(f"{path}: no tokenizer found (missing {TOKENIZER_FILE})")
        text = file.read_text(encoding="utf-8")
        try:
            inner = tokenizers.Tokenizer.from_str(text)
            pre_tokenizer = json.loads(text).get("pre_tokenizer") or {}
        except Exception as error:  # the tokenizers library raises plain Exception
            raise TokenizerError(f"{file}: not a valid tokenizer.json ({error})") from None
        if inner.token_to_id(EOS) is None:
            raise TokenizerError(f"{file}: has no {EOS} token")
        # Only the trained BPE splits digits (a Sequence with a Digits pre-tokenizer).
        return cls(inner, "bpe" if pre_tokenizer.get("type") == "Sequence" else "gpt2")

    def __repr__(self) -> str:
        return f"Tokenizer(kind={self.kind!r}, vocab_size={self.vocab_size}, eos_id={self.eos_id})"


def train_bpe(texts: Iterable[str], vocab_size: int) -> Tokenizer:
    """Train a byte-level BPE on `texts`: digits one per token, `<|endoftext|>` special.

    A text gets a leading space, so that "Vorbelka owns a cat." and "... Q: Who owns the cat?
    A: Vorbelka" spell the name with the same tokens (a model copying it from the context
    would otherwise have to learn two spellings of every name).

    The result is deterministic for the same corpus; it may hold fewer than `vocab_size`
    tokens when the corpus has too few distinct merges.
    """
    minimum = len(pre_tokenizers.ByteLevel.alphabet()) + 1
    if vocab_size < minimum:
        raise TokenizerError(f"vocab_size must be at least {minimum} (256 bytes + {EOS})")
    inner = tokenizers.Tokenizer(models.BPE())
    inner.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # the prefix space must come first: Digits would make each digit a text of its own
            pre_tokenizers.ByteLevel(add_prefix_space=True),
            pre_tokenizers.Digits(individual_digits=True),
        ]
    )
    inner.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    inner.train_from_iterator(texts, trainer)
    return Tokenizer(inner, "bpe")


def load_gpt2(path: str | Path) -> Tokenizer:
    """Load a local GPT-2 BPE: a `tokenizer.json` file, or a directory holding either
    `tokenizer.json` or `vocab.json` + `merges.txt`. Nothing is downloaded."""
    path = Path(path)
    if path.is_file() or (path / TOKENIZER_FILE).is_file():
        return Tokenizer.load(path)
    if not path.is_dir():
        raise TokenizerError(f"{path}: no such file or directory (expected a GPT-2 tokenizer)")
    vocab, merges = path / "vocab.json", path / "merges.txt"
    missing = [file.name for file in (vocab, merges) if not file.is_file()]
    if missing:
        raise TokenizerError(
            f"{path}: no GPT-2 tokenizer found: needs {TOKENIZER_FILE}, or vocab.json and "
            f"merges.txt (missing: {', '.join(missing)})"
        )
    try:
        model = models.BPE.from_file(str(vocab), str(merges))
    except Exception as error:  # the tokenizers library raises plain Exception
        raise TokenizerError(f"{path}: cannot read vocab.json / merges.txt ({error})") from None
    inner = tokenizers.Tokenizer(model)
    if inner.token_to_id(EOS) is None:
        raise TokenizerError(f"{vocab}: has no {EOS} token")
    inner.add_special_tokens([EOS])  # keeps its vocab.json id; matched whole in raw text
    inner.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    inner.decoder = decoders.ByteLevel()
    return Tokenizer(inner, "gpt2")


class TokenizerSpec(NamedTuple):
    kind: str  # "bpe" or "gpt2"
    path: Path | None  # the local GPT-2 files, for kind "gpt2"


def parse_tokenizer_spec(spec: str) -> TokenizerSpec:
    """Parse the CLI value `bpe` or `gpt2:PATH`."""
    if spec == "bpe":
        return TokenizerSpec("bpe", None)
    kind, _, location = spec.partition(":")
    if kind == "gpt2" and location:
        return TokenizerSpec("gpt2", Path(location).expanduser())
    raise TokenizerError(
        f"invalid tokenizer {spec!r}: use 'bpe' or 'gpt2:PATH' (PATH: a local tokenizer.json, "
        "or a directory with vocab.json and merges.txt)"
    )
