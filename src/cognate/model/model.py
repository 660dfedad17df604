"""The Cognate model: a causal TRM x Titans-MAG language model with ACT halting.

    tokens -> embedding -> N x [RMSNorm -> sliding-window attention (RoPE) -> +res;
                                RMSNorm -> SwiGLU -> +res] -> RMSNorm -> h        [B, L, D]
    h -> long-term memory -> m;   MAG gate: x = g * h + (1 - g) * m                 [B, L, D]
         (d_mem = 0, an ablation: no memory; x = g * h)
    x -> recursion: (z, y) refined T times; step t predicts head(y_t), halts on q_t = sigma(w.z_t)

The logits at position t predict token t + 1. The recursion is per position apart from its
causal cross-attention to x, so training runs it only where a loss is taken, and decoding
runs it once per new token, stopping at the token's halting step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cognate.config import IGNORE_INDEX, ModelConfig
from cognate.model.act import HaltingHead, halting_loss, halting_steps
from cognate.model.attention import (
    Attention,
    KeysValues,
    earlier_in_sequence,
    recency_slopes,
    window_mask,
    with_recency,
)
from cognate.model.cache import DecodeState
from cognate.model.gate import MAGGate, gate_entropy_loss
from cognate.model.head_loss import head_cross_entropy
from cognate.model.layers import RMSNorm, Rotary, SwiGLU
from cognate.model.memory import LongTermMemory
from cognate.model.trm import Recursion


def _segment_starts(segments: Tensor) -> Tensor:
    """segments [B, L] (contiguous ids) -> [B, L] bool: the first position of each segment."""
    is_start = torch.ones_like(segments, dtype=torch.bool)
    is_start[:, 1:] = segments[:, 1:] != segments[:, :-1]
    return is_start


class Block(nn.Module):
    """Pre-norm transformer block with causal sliding-window self-attention."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(config.d_model, eps=config.norm_eps)
        self.attn = Attention(
            config.d_model, config.n_heads, config.kv_conv_width, config.conv_queries
        )
        self.mlp_norm = RMSNorm(config.d_model, eps=config.norm_eps)
        self.mlp = SwiGLU(config.d_model, config.d_ff, config.d_model)

    def forward(
        self, h: Tensor, cos: Tensor, sin: Tensor, mask: Tensor | None, earlier: Tensor | None
    ) -> tuple[Tensor, KeysValues, Tensor]:
        """h [B, L, D] -> (h, the keys/values of its L positions, the projections before the
        convolutions: [B, L, 2D] keys/values, or [B, L, 3D] queries/keys/values when the
        queries are convolved too)."""
        a = self.attn_norm(h)
        kv, projected = self.attn.keys_values(a, cos, sin, earlier)
        q, q_projected = self.attn.queries(a, cos, sin, earlier)
        if self.attn.q_conv is not None:
            projected = torch.cat([q_projected, projected], dim=-1)
        h = h + self.attn.attend(q, kv, mask)
        h = h + self.mlp(self.mlp_norm(h))
        return h, kv, projected


@dataclass
class Encoded:
    """The gated features of a sequence and what the recursion's cross-attention needs."""

    x: Tensor  # [B, L, D]
    gate: Tensor  # [B, L, D]
    cross_kv: KeysValues
    positions: Tensor  # [L]
    mask: Tensor | None  # queries x keys, None when attention is plain causal (see Attention)
    state: DecodeState | None


@dataclass
class ModelOutput:
    """Training forward: losses over the target positions and what to log about them."""

    loss: Tensor  # weighted LM loss + ACT loss + gate regulariser: what backward() sees
    lm_loss: Tensor  # deep-supervision LM loss (step weights rising)
    step_losses: Tensor  # [T] cross-entropy at each recursion step
    step_accuracy: Tensor  # [T] next-token accuracy at each recursion step
    act_loss: Tensor
    gate_loss: Tensor
    gate_mean: Tensor
    halt_steps_mean: Tensor  # steps a token would use at inference under the threshold
    halt_steps_std: Tensor
    n_targets: int


@dataclass
class Inference:
    """Inference forward: logits at each query position's halting step."""

    logits: Tensor  # [B, n, V]
    steps: Tensor  # [B, n] recursion steps used, in 1..T
    state: DecodeState | None


def run_recursion(
    z: Tensor,
    y: Tensor,
    step: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]],
    halt_logit: Callable[[Tensor], Tensor],
    threshold: float,
    t_max: int,
) -> tuple[Tensor, Tensor]:
    """Run recursion steps on (z, y) [..., D] until every token has halted.

    Returns y at each token's halting step [..., D] and the steps taken [...]: a token halts
    at the first step whose halt probability reaches threshold, or at step t_max.
    """
    if y.shape[:-1].numel() == 1:  # one token (batch-1 decoding): no masks needed
        for t in range(1, t_max + 1):
            z, y = step(z, y)
            if t == t_max or bool(torch.sigmoid(halt_logit(z)) >= threshold):
                return y, torch.full(y.shape[:-1], t, dtype=torch.long, device=y.device)
    y_out = torch.zeros_like(y)
    steps = torch.full(y.shape[:-1], t_max, dtype=torch.long, device=y.device)
    halted = torch.zeros(y.shape[:-1], dtype=torch.bool, device=y.device)
    for t in range(1, t_max):
        z, y = step(z, y)
        stop = (torch.sigmoid(halt_logit(z)) >= threshold) & ~halted
        y_out = torch.where(stop[..., None], y, y_out)
        steps.masked_fill_(stop, t)
        halted |= stop
        if bool(halted.all()):
            return y_out, steps
    _, y = step(z, y)
    return torch.where(halted[..., None], y_out, y), steps


class CognateModel(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.backbone_norm = RMSNorm(config.d_model, eps=config.norm_eps)
        self.memory = None
        if config.d_mem:
            self.memory = LongTermMemory(
                config.d_model, config.d_mem, config.ltm_decay_init, config.ltm_learnable_decay
            )
        self.gate = MAGGate(config.d_model, with_memory=self.memory is not None)
        self.recursion = Recursion(
            config.d_model,
            config.n_heads,
            config.d_ff,
            config.micro_steps,
            config.norm_eps,
            config.kv_conv_width,
        )
        self.halting = HaltingHead(config.d_model, config.norm_eps)
        self.head_norm = RMSNorm(config.d_model, eps=config.norm_eps)
        self.rotary = Rotary(config.head_dim, config.rope_base)
        # [H], not a buffer: a constant of the config, moved to the logits' device where used
        self.recency_slopes = recency_slopes(config.n_heads, config.recency_heads)
        self._init_weights()

    def _init_weights(self) -> None:
        residual_std = 0.02 / math.sqrt(2 * (self.config.n_layers + self.config.micro_steps))
        for name, module in self.named_modules():
            if isinstance(module, nn.Linear):
                is_residual_out = name.endswith(("out_proj", "down_proj"))
                nn.init.normal_(module.weight, std=residual_std if is_residual_out else 0.02)
                if module.bias is not None and not name.endswith("to_gate"):
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=0.02)

    # -- shared trunk ----------------------------------------------------------------------

    def encode(
        self,
        input_ids: Tensor,
        valid: Tensor | None = None,
        use_cache: bool = False,
        segments: Tensor | None = None,
    ) -> Encoded:
        """Run the backbone, memory and gate over sequences [B, L] from their start.

        valid [B, L] marks real tokens (False for left padding); None means all are real.
        segments [B, L] (training on packed rows): ids of the sequences packed in a row;
        attention and memory never cross from one to the next. use_cache: also return the
        DecodeState that continues the sequences.
        """
        length = input_ids.shape[1]
        positions = torch.arange(length, device=input_ids.device)
        cos, sin = self.rotary(positions)
        mask = None
        if valid is not None or segments is not None or length > self.config.window:
            mask = window_mask(positions, positions, self.config.window, valid, segments, segments)

        conv_width = self.config.kv_conv_width
        earlier = earlier_in_sequence(length, conv_width, valid, segments)

        h = self.embed(input_ids)
        block_mask = self._backbone_mask(positions, mask)
        layer_kv, projections = [], []
        for block in self.blocks:
            h, kv, projected = block(h, cos, sin, block_mask, earlier)
            layer_kv.append(kv)
            projections.append(projected)
        h = self.backbone_norm(h)
        if self.memory is None:  # the decode state keeps an empty memory [B, 0]
            m, memory_state = None, torch.zeros(len(h), 0, device=h.device)
        else:
            starts = _segment_starts(segments) if segments is not None else None
            m, memory_state = self.memory(h, valid=valid, segment_starts=starts)
        x, g = self.gate(h, m)
        cross_kv, projected = self.recursion.cross_attn.keys_values(x, cos, sin, earlier)
        projections.append(projected)

        state = None
        if use_cache:
            state = DecodeState.after_prompt(
                layer_kv, cross_kv, memory_state, projections, valid, self.config.window, conv_width
            )
        return Encoded(x, g, cross_kv, positions, mask, state)

    def head(self, y: Tensor) -> Tensor:
        """Tied LM head: [..., D] -> [..., V]."""
        return F.linear(self.head_norm(y), self.embed.weight)

    def _backbone_mask(self, positions: Tensor, mask: Tensor | None) -> Tensor | None:
        """The backbone's attention mask: `mask`, with the recency heads' distance penalty
        added when there are any (then additive, [B or 1, H, L, L])."""
        if self.config.recency_heads == 0:
            return mask
        distance = (positions[:, None] - positions[None, :]).float()  # [L, L]
        allowed = mask if mask is not None else (distance >= 0)[None, None]
        return with_recency(allowed, self.recency_slopes, distance.clamp(min=0))

    # -- training --------------------------------------------------------------------------

    def forward(
        self,
        input_ids: Tensor,
        labels: Tensor | None = None,
        t_max: int | None = None,
        segments: Tensor | None = None,
    ) -> Tensor | ModelOutput:
        """input_ids [B, L] -> logits [B, L, V] at each token's halting step, or with labels
        the training losses (a ModelOutput).

        One method, two results: `model(ids)` gives logits (the interface users and the
        benchmarks rely on), and training has to call `forward` too, as it is what
        DistributedDataParallel and torch.compile wrap. labels [B, L]: labels[t] is the token
        to predict at t, IGNORE_INDEX where no loss is taken; the recursion and the LM head then
        run only at target positions. t_max (<= config.t_max) trains with fewer recursion
        steps. segments [B, L] marks sequences packed into one row (see `encode`).
        """
        if labels is None:
            return self.infer(input_ids, segments=segments).logits
        return self._train_forward(input_ids, labels, t_max or self.config.t_max, segments)

    def _train_forward(
        self, input_ids: Tensor, labels: Tensor, t_max: int, segments: Tensor | None
    ) -> ModelOutput:
        enc = self.encode(input_ids, segments=segments)
        is_target = labels != IGNORE_INDEX  # [B, L]
        counts = is_target.sum(dim=1)
        n_query = max(int(counts.max()), 1)
        # Per row, the positions of its targets first (in order), then filler positions.
        query_pos = torch.argsort((~is_target).to(torch.int8), dim=1, stable=True)[:, :n_query]
        query_is_target = torch.arange(n_query, device=labels.device)[None] < counts[:, None]
        targets = labels.gather(1, query_pos)[query_is_target]  # [N]

        d = self.config.d_model
        x_q = enc.x.gather(1, query_pos[..., None].expand(-1, -1, d))  # [B, K, D]
        cos, sin = self.rotary(query_pos.flatten())
        cos = cos.view(*query_pos.shape, -1)[:, None]  # [B, 1, K, head_dim]
        sin = sin.view(*query_pos.shape, -1)[:, None]
        query_segments = segments.gather(1, query_pos) if segments is not None else None
        mask = window_mask(
            query_pos, enc.positions, self.config.window, None, query_segments, segments
        )

        weights = self.config.step_weights()[-t_max:]
        weights = [w / sum(weights) for w in weights]
        z, y = self.recursion.start(x_q)
        step_outputs, halt_logits = [], []
        for _ in range(t_max):
            z, y = self.recursion.step(z, y, enc.cross_kv, cos, sin, mask)
            step_outputs.append(self.head_norm(y[query_is_target]))  # [N, D]
            halt_logits.append(self.halting(z[query_is_target]))  # [N]
            z, y = z.detach(), y.detach()  # deep supervision: each step learns on its own

        # Every step's targets in one head pass: the 50,257 x D weight is cast and its
        # gradient formed once, not once per step. Step t's rows weigh weights[t] / N.
        n = targets.numel()
        row_weights = torch.tensor(weights, device=targets.device).repeat_interleave(n)
        head = head_cross_entropy(
            torch.cat(step_outputs), self.embed.weight, targets.repeat(t_max), row_weights / n
        )
        lm_loss = head.loss
        correct = head.correct.view(t_max, n)
        act_loss = sum(map(halting_loss, halt_logits, correct)) / t_max
        halt_probs = torch.sigmoid(torch.stack(halt_logits).detach())

        gate_loss = gate_entropy_loss(enc.gate)
        steps = halting_steps(halt_probs, self.config.act_threshold).float()
        loss = (
            lm_loss
            + self.config.act_loss_weight * act_loss
            + self.config.gate_entropy_weight * gate_loss
        )
        return ModelOutput(
            loss=loss,
            lm_loss=lm_loss.detach(),
            step_losses=head.row_losses.view(t_max, n).mean(dim=1),
            step_accuracy=correct.float().mean(dim=1),
            act_loss=act_loss.detach(),
            gate_loss=gate_loss.detach(),
            gate_mean=enc.gate.detach().float().mean(),
            halt_steps_mean=steps.mean(),
            halt_steps_std=steps.std(unbiased=False),
            n_targets=int(targets.numel()),
        )

    # -- inference -------------------------------------------------------------------------

    @torch.no_grad()
    def infer(
        self,
        input_ids: Tensor,
        valid: Tensor | None = None,
        use_cache: bool = False,
        last_only: bool = False,
        threshold: float | None = None,
        segments: Tensor | None = None,
    ) -> Inference:
        """Logits of sequences [B, L], each token at its own halting step.

        A token stops at the first recursion step whose halt probability reaches `threshold`
        (default: the config's), or at T_max. last_only computes only the last position.
        use_cache also returns the DecodeState that `cognate.infer.decoder` continues.
        """
        enc = self.encode(input_ids, valid, use_cache, segments)
        x, positions, mask = enc.x, enc.positions, enc.mask
        if last_only:
            x, positions = x[:, -1:], positions[-1:]
            mask = mask[..., -1:, :] if mask is not None else None
        cos, sin = self.rotary(positions)
        z, y = self.recursion.start(x)
        y, steps = run_recursion(
            z,
            y,
            lambda z, y: self.recursion.step(z, y, enc.cross_kv, cos, sin, mask),
            self.halting,
            self.config.act_threshold if threshold is None else threshold,
            self.config.t_max,
        )
        return Inference(self.head(y).float(), steps, enc.state)

    @torch.no_grad()
    def step_logits(self, input_ids: Tensor, segments: Tensor | None = None) -> Tensor:
        """Logits of every recursion step, no halting: [B, L] -> [T, B, L, V]."""
        enc = self.encode(input_ids, segments=segments)
        cos, sin = self.rotary(enc.positions)
        z, y = self.recursion.start(enc.x)
        out = []
        for _ in range(self.config.t_max):
            z, y = self.recursion.step(z, y, enc.cross_kv, cos, sin, enc.mask)
            out.append(self.head(y).float())
        return torch.stack(out)

    def parameter_counts(self) -> dict[str, int]:
        """Parameters per component, as in the seed report; the LM head is tied to the embedding."""
        groups = {
            "embedding (tied LM head)": [self.embed],
            "backbone layers": [self.blocks, self.backbone_norm],
            "long-term memory": [self.memory] if self.memory is not None else [],
            "MAG gate": [self.gate],
            "TRM recursion": [self.recursion, self.head_norm],
            "ACT head": [self.halting],
        }
        counts = {
            name: sum(p.numel() for module in modules for p in module.parameters())
            for name, modules in groups.items()
        }
        counts["total"] = sum(p.numel() for p in self.parameters())
        assert counts["total"] == sum(v for k, v in counts.items() if k != "total")
        return counts
