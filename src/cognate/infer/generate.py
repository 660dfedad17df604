"""Incremental generation: one parallel prefill, then one cached step per new token.

The KV caches (last W positions per attention layer and for the recursion's cross-attention)
and the long-term-memory state live in a `DecodeState`; each new token runs the backbone once
and the recursion only until its halting step. Prompts of a batch are left-padded.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from cognate.errors import CognateError
from cognate.model import CognateModel


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

    def __post_init__(self) -> None:
        problems = {
            "max_new_tokens must be >= 1": self.max_new_tokens >= 1,
            "temperature must be >= 0": self.temperature >= 0,
            "top_k must be >= 1": self.top_k is None or self.top_k >= 1,
            "top_p must be in (0, 1]": self.top_p is None or 0 < self.top_p <= 1,
            "repetition_penalty must be > 0": self.repetition_penalty > 0,
        }
        for message, ok in problems.items():
            if not ok:
                raise CognateError(f"sampling: {message}")

    @property
    def is_greedy(self) -> bool:
        return self.greedy or self.temperature == 0


GREEDY = Sampling(greedy=True)


@dataclass
class Generation:
    """One prompt's continuation."""

    token_ids: list[int] = field(default_factory=list)
    act_steps: list[int] = field(default_factory=list)  # recursion steps behind each new token
    text: str = ""
    finish_reason: str = "length"  # "eos", "stop" or "length"
    prompt_truncated: bool = False


def pick_next(
    logits: Tensor, history: Tensor | None, sampling: Sampling, generator: torch.Generator | None
) -> Tensor:
    """logits [B, V] (fp32) -> next token ids [B]. history [B, n] feeds the repetition penalty."""
    logits = logits.clone()
    if sampling.repetition_penalty != 1.0 and history is not None and history.numel():
        seen = logits.gather(1, history)
        penalized = torch.where(
            seen > 0, seen / sampling.repetition_penalty, seen * sampling.repetition_penalty
        )
        logits.scatter_(1, history, penalized)
    if sampling.is_greedy:
        return logits.argmax(dim=-1)
    logits = logits / sampling.temperature
    if sampling.top_k is not None:
        kth = logits.topk(min(sampling.top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if sampling.top_p is not None:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        probs = sorted_logits.softmax(dim=-1)
        # drop a token when the tokens ranked above it already cover top_p
        drop = probs.cumsum(dim=-1) - probs >= sampling.top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(1, order, sorted_logits)
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator).squeeze(1)


def _left_pad(prompts: Sequence[Sequence[int]], pad_id: int) -> tuple[Tensor, Tensor]:
    length = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), length), pad_id, dtype=torch.long)
    valid = torch.zeros(len(prompts), length, dtype=torch.bool)
    for row, prompt in enumerate(prompts):
        ids[row, length - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
        valid[row, length - len(prompt) :] = True
    return ids, valid


def fit_prompts(
    prompts: Sequence[Sequence[int]], max_seq_len: int, max_new_tokens: int
) -> tuple[list[list[int]], list[bool]]:
    """Validate prompts; keep the last (max_seq_len - max_new_tokens) tokens of long ones."""
    if max_new_tokens >= max_seq_len:
        raise CognateError(
            f"max_new_tokens {max_new_tokens} leaves no room for a prompt "
            f"(the model's context is {max_seq_len} tokens)"
        )
    room = max_seq_len - max_new_tokens
    fitted, truncated = [], []
    for i, prompt in enumerate(prompts):
        if len(prompt) == 0:
            raise CognateError(f"prompt {i + 1} is empty: give at least one character of text")
        truncated.append(len(prompt) > room)
        fitted.append(list(prompt[-room:]))
    if any(truncated):
        warnings.warn(
            f"{sum(truncated)} prompt(s) longer than {room} tokens were truncated from the left "
            f"(context {max_seq_len} = prompt + {max_new_tokens} new tokens)",
            stacklevel=2,
        )
    return fitted, truncated


@torch.no_grad()
def stream_tokens(
    model: CognateModel,
    prompts: Sequence[Sequence[int]],
    sampling: Sampling,
    eos_id: int,
) -> Iterator[tuple[Tensor, Tensor]]:
    """Yield (next token ids [B], recursion steps [B]) once per new token, for every row.

    Rows keep producing tokens after their own end (the caller decides what to keep); the
    iteration stops after max_new_tokens or when the caller stops consuming it.
    """
    generator = None
    if sampling.seed is not None:
        generator = torch.Generator().manual_seed(sampling.seed)
    device = next(model.parameters()).device
    ids, valid = _left_pad(prompts, eos_id)
    ids, valid = ids.to(device), valid.to(device)
    out = model.infer(
        ids, valid=valid, use_cache=True, last_only=True, threshold=sampling.act_threshold
    )
    history = ids.masked_fill(~valid, eos_id)
    for _ in range(sampling.max_new_tokens):
        token = pick_next(out.logits[:, -1], history, sampling, generator)
        yield token, out.steps[:, -1]
        history = torch.cat([history, token[:, None]], dim=1)
        out = model.infer(
            token[:, None], state=out.state, use_cache=True, threshold=sampling.act_threshold
        )


def generate(
    model: CognateModel,
    prompts: Sequence[Sequence[int]],
    sampling: Sampling,
    eos_id: int,
    decode: Callable[[list[int]], str],
    on_token: Callable[[int, int], None] | None = None,
) -> list[Generation]:
    """Continue each prompt (token ids) until eos, a stop string or max_new_tokens.

    decode turns token ids into text (for stop strings and the result); on_token(row, id)
    is called for every kept token, for streaming.
    """
    prompts, truncated = fit_prompts(prompts, model.config.max_seq_len, sampling.max_new_tokens)
    results = [Generation(prompt_truncated=t) for t in truncated]
    done = [False] * len(prompts)
    for tokens, steps in stream_tokens(model, prompts, sampling, eos_id):
        for row, (token, step) in enumerate(zip(tokens.tolist(), steps.tolist(), strict=True)):
            if done[row]:
                continue
            result = results[row]
            if token == eos_id:
                result.finish_reason, done[row] = "eos", True
                continue
            result.token_ids.append(token)
            result.act_steps.append(step)
            if on_token is not None:
                on_token(row, token)
            if sampling.stop:
                text = decode(result.token_ids)
                if any(s in text for s in sampling.stop):
                    result.finish_reason, done[row] = "stop", True
        if all(done):
            break
    for result in results:
        result.text = decode(result.token_ids)
        for stop in sampling.stop:
            result.text = result.text.split(stop)[0]
    return results
