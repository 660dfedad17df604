"""`cognate.load(CKPT)`: a checkpoint's model, tokenizer and config, ready to generate."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from cognate.checkpoint import load_checkpoint, model_from_checkpoint
from cognate.config import ModelConfig
from cognate.data.tokenizer import Tokenizer, TokenizerError
from cognate.errors import CognateError
from cognate.infer.generate import Generation, generate, stream_text
from cognate.infer.sampling import QUANTIZE_MODES, Sampling
from cognate.model import CognateModel


@dataclass
class Bundle:
    """What a checkpoint holds, loaded: `model(ids)` gives logits [B, L, V].

    `quantize` is the default of `Sampling.quantize` for this bundle's generations.
    """

    model: CognateModel
    tokenizer: Tokenizer
    config: ModelConfig
    metadata: dict[str, Any]
    path: Path
    quantize: str | None = None

    def sampling(self, **options: Any) -> Sampling:
        """Sampling settings from keyword options (see `Sampling`), with this bundle's quantize."""
        return Sampling(**{"quantize": self.quantize, **options})

    def generate_full(self, prompts: list[str], **sampling: Any) -> list[Generation]:
        """Generations with token ids, finish reasons and ACT steps per token."""
        settings = self.sampling(**sampling)
        ids = [self.tokenizer.encode(p) for p in prompts]
        return generate(self.model, ids, settings, self.tokenizer.eos_id, self.tokenizer.decode)

    def generate(self, prompt: str | list[str], **sampling: Any) -> str | list[str]:
        """Continue one prompt (returns a str) or several (a list). Options: see `Sampling`."""
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        texts = [g.text for g in self.generate_full(prompts, **sampling)]
        return texts[0] if isinstance(prompt, str) else texts

    def stream(self, prompt: str, **sampling: Any) -> Iterator[str]:
        """Yield the continuation of one prompt piece by piece; the pieces join to `generate`'s."""
        settings = self.sampling(**sampling)
        tok = self.tokenizer
        return stream_text(self.model, tok.encode(prompt), settings, tok.eos_id, tok.decode)


def load(checkpoint: str | Path, device: str = "cpu", quantize: str | None = None) -> Bundle:
    """Load `RUN_DIR/NAME` (no suffix): verified weights, its tokenizer, its config.

    quantize="int8" (or "int4") makes the bundle's generations decode with int8 (int4)
    copies of the weights (`Sampling`).
    """
    if quantize not in QUANTIZE_MODES:
        raise CognateError(f"quantize must be one of {QUANTIZE_MODES}, not {quantize!r}")
    ckpt = load_checkpoint(checkpoint)
    model = model_from_checkpoint(ckpt).to(torch.device(device)).eval()
    tokenizer_file = ckpt.tokenizer_path
    try:
        tokenizer = Tokenizer.load(tokenizer_file)
    except TokenizerError as error:
        raise TokenizerError(f"{ckpt.stem}: its tokenizer cannot be read: {error}") from None
    if tokenizer.vocab_size != ckpt.model_config.vocab_size:
        raise TokenizerError(
            f"{tokenizer_file}: {tokenizer.vocab_size} tokens, but the checkpoint's model has "
            f"{ckpt.model_config.vocab_size}"
        )
    return Bundle(model, tokenizer, ckpt.model_config, ckpt.metadata, ckpt.stem, quantize)
