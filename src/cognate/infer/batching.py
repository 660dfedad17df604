"""Continuous batching: sequences decoded together, one token per step, that join a running
batch and leave it at any step.

All the rows of a `DecodingBatch` stand at one position (their next token's). Prompts join by
a prefill of their own (left-padded to the longest of those joining together); then whichever
of the batch and the newcomers stands at the earlier position is moved on to the later one
(`DecodeState.delay`), as if it had more left padding. Attention and the long-term memory skip
padding and rotary embeddings see only differences of positions, so a row decodes as it would
alone (up to rounding). Each row samples with its own settings and random generator.

    batch = DecodingBatch(model)
    batch.join(prompts, samplings)           # prefill, then every step:
    tokens, steps = batch.pick()             # each row's next token and its recursion steps
    batch.advance(keep=[0, 2])               # rows 0 and 2 go on: one decoding step for both
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from cognate.infer.decoder import decoder_for
from cognate.infer.generate import left_pad
from cognate.infer.sampling import Sampling, pick_next
from cognate.model import CognateModel, DecodeState


@dataclass
class _Row:
    sampling: Sampling
    generator: torch.Generator | None


class DecodingBatch:
    """Rows decoded together with the model's halting threshold (see the module docstring).

    `quantize` chooses the decoder's weights, as `Sampling.quantize` does for `generate`.
    """

    def __init__(self, model: CognateModel, quantize: str | None = None) -> None:
        self.model = model
        self.quantize = quantize
        self.device = next(model.parameters()).device
        self.rows: list[_Row] = []
        # Set while there are rows:
        self.state: DecodeState | None = None
        self.logits = torch.empty(0)  # [B, V] for each row's next token
        self.steps = torch.empty(0, dtype=torch.long)  # [B] recursion steps behind the logits
        self.seen = torch.empty(0, dtype=torch.bool)  # [B, V] for the repetition penalty
        self.picked = torch.empty(0, dtype=torch.long)  # [B] the tokens of the last `pick`

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def position(self) -> int:
        """The position of the rows' next token (0 when the batch is empty)."""
        return 0 if self.state is None else self.state.position

    @torch.inference_mode()
    def join(self, prompts: Sequence[Sequence[int]], samplings: Sequence[Sampling]) -> None:
        """Prefill prompts (token ids) as new last rows."""
        ids, valid = left_pad(prompts, 0)
        ids, valid = ids.to(self.device), valid.to(self.device)
        out = self.model.infer(
            ids, valid=None if bool(valid.all()) else valid, use_cache=True, last_only=True
        )
        seen = torch.zeros(
            len(prompts), self.model.config.vocab_size, dtype=torch.bool, device=self.device
        )
        seen[valid.nonzero(as_tuple=True)[0], ids[valid]] = True  # padding is not seen
        logits, steps = out.logits[:, -1], out.steps[:, -1]
        if self.rows:
            position = max(self.position, out.state.position)
            for state in (self.state, out.state):
                self._move_on(state, position - state.position)
            self.state = DecodeState.concat([self.state, out.state])
            logits = torch.cat([self.logits, logits])
            steps = torch.cat([self.steps, steps])
            seen = torch.cat([self.seen, seen])
        else:
            self.state = out.state
        self.logits, self.steps, self.seen = logits, steps, seen
        self.rows += [_Row(s, _generator(s.seed, self.device)) for s in samplings]

    def _move_on(self, state: DecodeState, shift: int) -> None:
        if shift:
            state.delay(shift, *self.model.rotary(torch.tensor([shift], device=self.device)))

    def pick(self) -> tuple[list[int], list[int]]:
        """Each row's next token and the recursion steps behind it; `advance` feeds them."""
        self.picked = torch.cat(
            [
                pick_next(self.logits[i : i + 1], self.seen[i : i + 1], row.sampling, row.generator)
                for i, row in enumerate(self.rows)
            ]
        )
        return self.picked.tolist(), self.steps.tolist()

    @torch.inference_mode()
    def advance(self, keep: Sequence[int]) -> None:
        """Keep the rows `keep` (indices, in order) and run one decoding step for them all on
        their picked tokens; the batch empties when none is kept."""
        if not keep:
            self.rows, self.state = [], None
            return
        if len(keep) < len(self.rows):
            index = torch.tensor(keep, device=self.device)
            self.rows = [self.rows[i] for i in keep]
            self.state = self.state.select(index)
            self.seen, self.picked = self.seen[index], self.picked[index]
        self.seen[torch.arange(len(self.rows), device=self.device), self.picked] = True
        decoder = decoder_for(self.model, self.quantize)
        self.logits, self.steps = decoder.step(self.picked, self.state)


def _generator(seed: int | None, device: torch.device) -> torch.Generator | None:
    return None if seed is None else torch.Generator(device).manual_seed(seed)
