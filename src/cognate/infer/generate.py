"""Incremental generation: one parallel prefill, then one cached step per new token.

The KV caches (last W positions per attention layer and for the recursion's cross-attention)
and the long-term-memory state live in a `DecodeState`; each new token runs the backbone once
and the recursion only until its halting step (`cognate.infer.decoder`). Prompts of a batch
are left-padded.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from cognate.errors import CognateError
from cognate.infer.decoder import decoder_for
from cognate.infer.sampling import Sampling, pick_next
from cognate.model import CognateModel


@dataclass
class Generation:
    """One prompt's continuation."""

    token_ids: list[int] = field(default_factory=list)
    act_steps: list[int] = field(default_factory=list)  # recursion steps behind each new token
    text: str = ""
    finish_reason: str = "length"  # "eos", "stop" or "length"
    prompt_truncated: bool = False


def left_pad(prompts: Sequence[Sequence[int]], pad_id: int) -> tuple[Tensor, Tensor]:
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


@torch.inference_mode()  # no autograd bookkeeping: it would slow every decoding step
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
    device = next(model.parameters()).device
    generator = None
    if sampling.seed is not None:
        generator = torch.Generator(device).manual_seed(sampling.seed)
    ids, valid = left_pad(prompts, eos_id)
    ids, valid = ids.to(device), valid.to(device)
    seen = torch.zeros(len(prompts), model.config.vocab_size, dtype=torch.bool, device=device)
    seen[valid.nonzero(as_tuple=True)[0], ids[valid]] = True  # padding is not seen
    out = model.infer(
        ids,
        valid=None if bool(valid.all()) else valid,  # no padding: plain causal attention
        use_cache=True,
        last_only=True,
        threshold=sampling.act_threshold,
    )
    logits, steps, state = out.logits[:, -1], out.steps[:, -1], out.state
    decoder = decoder_for(model, sampling.quantize)
    rows = torch.arange(len(prompts), device=device)
    for produced in range(1, sampling.max_new_tokens + 1):
        token = pick_next(logits, seen, sampling, generator)
        yield token, steps
        if produced == sampling.max_new_tokens:
            return
        seen[rows, token] = True
        logits, steps = decoder.step(token, state, sampling.act_threshold)


def _first_stop(text: str, stops: Sequence[str]) -> int | None:
    """Where the earliest stop string starts in text, or None."""
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None


def _stop_prefix_length(text: str, stops: Sequence[str]) -> int:
    """Length of the longest end of text that could be the start of a stop string."""
    return max(
        (k for s in stops for k in range(1, len(s)) if text.endswith(s[:k])),
        default=0,
    )


def generate(
    model: CognateModel,
    prompts: Sequence[Sequence[int]],
    sampling: Sampling,
    eos_id: int,
    decode: Callable[[list[int]], str],
    context: int | None = None,
) -> list[Generation]:
    """Continue each prompt (token ids) until eos, a stop string or max_new_tokens.

    Prompts longer than the context (prompt + new tokens; the model's max_seq_len unless
    `context` says otherwise) lose tokens on the left (see `fit_prompts`).
    decode turns token ids into text (for stop strings and the result).
    """
    if not prompts:
        return []
    context = context or model.config.max_seq_len
    prompts, truncated = fit_prompts(prompts, context, sampling.max_new_tokens)
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
            if sampling.stop and _first_stop(decode(result.token_ids), sampling.stop) is not None:
                result.finish_reason, done[row] = "stop", True
        if all(done):
            break
    for result in results:
        result.text = decode(result.token_ids)
        cut = _first_stop(result.text, sampling.stop)
        result.text = result.text if cut is None else result.text[:cut]
    return results


class TextStream:
    """One sequence's text as its tokens come: `push` returns the text settled so far.

    Text that might begin a stop string, or ends in an incomplete multi-byte character, is held
    back until the next tokens settle it; the text ends before the first stop string (then
    `stopped` is set). The pieces returned by `push` and `flush` join to `text`.
    """

    def __init__(self, decode: Callable[[list[int]], str], stops: Sequence[str]) -> None:
        self.decode = decode
        self.stops = stops
        self.token_ids: list[int] = []
        self.text = ""
        self.stopped = False
        self._shown = 0

    def push(self, token: int) -> str:
        """Add a token; returns the text it settles (maybe "", the rest when it stops)."""
        self.token_ids.append(token)
        self.text = self.decode(self.token_ids)
        cut = _first_stop(self.text, self.stops)
        if cut is not None:
            self.text, self.stopped = self.text[:cut], True
            return self.flush()
        ready = len(self.text) - _stop_prefix_length(self.text, self.stops)
        if ready > self._shown and not self.text[:ready].endswith("\ufffd"):
            piece, self._shown = self.text[self._shown : ready], ready
            return piece
        return ""

    def flush(self) -> str:
        """The text held back (at the end of the sequence)."""
        piece, self._shown = self.text[self._shown :], len(self.text)
        return piece


def stream_text(
    model: CognateModel,
    prompt: Sequence[int],
    sampling: Sampling,
    eos_id: int,
    decode: Callable[[list[int]], str],
) -> Iterator[str]:
    """Yield one prompt's continuation piece by piece as tokens are produced; the pieces join
    to what `generate` returns (see `TextStream`)."""
    fitted, _ = fit_prompts([prompt], model.config.max_seq_len, sampling.max_new_tokens)
    text = TextStream(decode, sampling.stop)
    for tokens, _steps in stream_tokens(model, fitted, sampling, eos_id):
        token = int(tokens[0])
        if token == eos_id:
            break
        if piece := text.push(token):
            yield piece
        if text.stopped:
            return
    if piece := text.flush():
        yield piece
