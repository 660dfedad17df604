"""How each next token is picked: the `Sampling` settings, their presets, and the operations on
a step's logits [B, V] (argmax, the k largest, top-k / top-p, repetition penalty)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor

from cognate.errors import CognateError

QUANTIZE_MODES = (None, "int8", "int4")  # the weights decoding reads (`cognate.infer.kernels`)
ALL_STEPS = 2.0  # an act threshold no halting probability reaches: every token takes T_max steps
BLOCKWISE_ARGMAX_FROM = 16_384  # vocabulary size from which `first_argmax` goes by blocks


@dataclass(frozen=True)
class Sampling:
    """How to pick each next token. temperature 0 or greedy=True means argmax."""

    max_new_tokens: int = 50
    temperature: float = 0.7
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float = 1.0
    greedy: bool = False
    seed: int | None = None
    stop: tuple[str, ...] = ()
    act_threshold: float | None = None  # None: the model's own threshold
    # "int8" / "int4": decoding steps read quantized copies of the weights (faster,
    # approximate; see cognate.infer.kernels)
    quantize: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.stop, str):  # one stop string, not its characters
            object.__setattr__(self, "stop", (self.stop,))
        problems = {
            "max_new_tokens must be >= 1": self.max_new_tokens >= 1,
            "temperature must be >= 0": self.temperature >= 0,
            "top_k must be >= 1": self.top_k is None or self.top_k >= 1,
            "top_p must be in (0, 1]": self.top_p is None or 0 < self.top_p <= 1,
            "repetition_penalty must be > 0": self.repetition_penalty > 0,
            "a stop string must not be empty": all(self.stop),
            f"quantize must be one of {QUANTIZE_MODES}": self.quantize in QUANTIZE_MODES,
        }
        for message, ok in problems.items():
            if not ok:
                raise CognateError(f"sampling: {message}")

    @property
    def is_greedy(self) -> bool:
        return self.greedy or self.temperature == 0


# The tasks' answers are short and end at the end of their line (or at end-of-text): eos or a
# newline ends them well before ANSWER_TOKENS.
ANSWER_STOP = ("\n",)
ANSWER_TOKENS = 24
# Greedy answers, scored by exact match (validation, `cognate test`, the report).
SCORING = Sampling(greedy=True, max_new_tokens=ANSWER_TOKENS, stop=ANSWER_STOP)
SCORING_ALL_STEPS = dataclasses.replace(SCORING, act_threshold=ALL_STEPS)  # no early halting
# Sampled answers whose output health is measured; each caller fixes its own seed.
HEALTH = Sampling(temperature=0.7, max_new_tokens=ANSWER_TOKENS, stop=ANSWER_STOP)


def _block_maxima(logits: Tensor, block: int) -> Tensor:
    """The largest of each whole block of `block` logits: [B, V] -> [B, V // block]."""
    batch, vocab = logits.shape
    return logits[:, : vocab // block * block].view(batch, -1, block).amax(dim=-1)


def _block_members(first: Tensor, block: int) -> Tensor:
    """The indices of the blocks starting at first [B, n] -> [B, n * block]."""
    offsets = torch.arange(block, device=first.device)
    return (first[..., None] + offsets).view(first.shape[0], -1)


def top_indices(logits: Tensor, k: int, block: int = 64) -> Tensor:
    """The indices [B, k] of the k largest of logits [B, V], in no particular order.

    `topk` over a large vocabulary is slow on CPU, so it runs on k blocks only: the top k lie
    in the k blocks of `block` logits with the largest maxima (any block holding one of them
    has a larger maximum than all but fewer than k blocks).
    """
    batch, vocab = logits.shape
    whole = vocab // block * block
    if whole < k * block:
        return logits.topk(min(k, vocab), dim=-1).indices
    starts = _block_maxima(logits, block).topk(k, dim=-1).indices * block  # [B, k]
    candidates = _block_members(starts, block)
    if whole < vocab:  # the last, partial block is always a candidate
        tail = torch.arange(whole, vocab, device=logits.device).expand(batch, -1)
        candidates = torch.cat([candidates, tail], dim=1)
    best = logits.gather(1, candidates).topk(k, dim=-1).indices
    return candidates.gather(1, best)


def first_argmax(logits: Tensor, block: int = 64) -> Tensor:
    """logits [B, V] -> the index [B] of each row's first largest logit, as `argmax`.

    On CPU `argmax` is a scalar loop and `amax` is vectorized: over a large vocabulary
    (`BLOCKWISE_ARGMAX_FROM`) it is faster to find the first block of `block` logits holding
    the maximum, then the first maximum in that block.
    """
    vocab = logits.shape[-1]
    if vocab < BLOCKWISE_ARGMAX_FROM:
        return logits.argmax(dim=-1)
    whole = vocab // block * block
    maxima = _block_maxima(logits, block)  # [B, whole / block]
    if whole < vocab:
        maxima = torch.cat([maxima, logits[:, whole:].amax(dim=-1, keepdim=True)], dim=1)
    starts = maxima.argmax(dim=-1, keepdim=True) * block  # [B, 1]
    # In the last, partial block the positions past the end repeat the last logit: after it.
    candidates = _block_members(starts, block).clamp_(max=vocab - 1)  # [B, block]
    within = logits.gather(1, candidates).argmax(dim=-1, keepdim=True)
    return candidates.gather(1, within).squeeze(1)


def apply_repetition_penalty(logits: Tensor, seen: Tensor, penalty: float) -> Tensor:
    """Make the tokens already seen [B, V] (bool) less likely: positive logits are divided by
    the penalty, negative ones multiplied by it; other tokens keep their logits."""
    if penalty == 1.0:
        return logits
    penalized = torch.where(logits > 0, logits / penalty, logits * penalty)
    return torch.where(seen, penalized, logits)


def keep_top_k(logits: Tensor, k: int) -> Tensor:
    """logits [B, V] with -inf below each row's k-th largest (ties with it are kept)."""
    kth = logits.topk(min(k, logits.shape[-1]), dim=-1).values[:, -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def keep_top_p(logits: Tensor, p: float) -> Tensor:
    """logits [B, V] with -inf for each token whose likelier tokens already cover p of the
    probability: what is kept is the smallest set of likeliest tokens covering p."""
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    probs = sorted_logits.softmax(dim=-1)
    drop = probs.cumsum(dim=-1) - probs >= p
    sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(1, order, sorted_logits)


def pick_next(
    logits: Tensor, seen: Tensor, sampling: Sampling, generator: torch.Generator | None
) -> Tensor:
    """logits [B, V] (fp32) -> next token ids [B]. seen [B, V] feeds the repetition penalty."""
    logits = apply_repetition_penalty(logits, seen, sampling.repetition_penalty)
    if sampling.is_greedy:
        return first_argmax(logits)
    # Shift the maximum to 0 first, so that a tiny temperature gives -inf, never inf - inf.
    logits = (logits - logits.amax(dim=-1, keepdim=True)) / sampling.temperature
    if sampling.top_k is not None:
        logits = keep_top_k(logits, sampling.top_k)
    if sampling.top_p is not None:
        logits = keep_top_p(logits, sampling.top_p)
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator).squeeze(1)
