"""The Cognate model: a causal TRM x Titans-MAG language model with ACT halting.

    tokens -> embedding -> N x [RMSNorm -> sliding-window attention (RoPE) -> +res;
                                RMSNorm -> SwiGLU -> +res] -> RMSNorm -> h        [B, L, D]
    h -> long-term memory -> m;   MAG gate: x = g * h + (1 - g) * m                 [B, L, D]
    x -> recursion: (z, y) refined T times; step t predicts head(y_t), halts on q_t = sigma(w.z_t)

The logits at position t predict token t + 1. The recursion is per position apart from its
causal cross-attention to x, so training runs it only where a loss is taken, and decoding
runs it once per new token, stopping at the token's halting step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cognate.config import ModelConfig
from cognate.model.act import HaltingHead, halting_loss, halting_steps
from cognate.model.attention import Attention, KeysValues, window_mask
from cognate.model.gate import MAGGate, gate_entropy_loss
from cognate.model.layers import Rotary, SwiGLU
from cognate.model.memory import LongTermMemory
from cognate.model.trm import Recursion

IGNORE_INDEX = -100


def _last_positions(t: Tensor, keep: int, dim: int) -> Tensor:
    """The last `keep` entries of t along dim (all of them if there are fewer)."""
    size = t.shape[dim]
    return t.narrow(dim, size - min(keep, size), min(keep, size))


def _segment_starts(segments: Tensor) -> Tensor:
    """segments [B, L] (contiguous ids) -> index where each position's segment starts."""
    steps = torch.arange(segments.shape[1], device=segments.device).expand_as(segments)
    is_start = torch.ones_like(segments, dtype=torch.bool)
    is_start[:, 1:] = segments[:, 1:] != segments[:, :-1]
    return torch.where(is_start, steps, 0).cummax(dim=1).values


class Block(nn.Module):
    """Pre-norm transformer block with causal sliding-window self-attention."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.attn_norm = nn.RMSNorm(config.d_model, eps=config.norm_eps)
        self.attn = Attention(config.d_model, config.n_heads)
        self.mlp_norm = nn.RMSNorm(config.d_model, eps=config.norm_eps)
        self.mlp = SwiGLU(config.d_model, config.d_ff, config.d_model)

    def forward(
        self,
        h: Tensor,
        cos: Tensor,
        sin: Tensor,
        mask: Tensor | None,
        past: KeysValues | None,
    ) -> tuple[Tensor, KeysValues]:
        """h [B, n, D] (new tokens) -> (h, keys/values of cached + new positions)."""
        a = self.attn_norm(h)
        k, v = self.attn.keys_values(a, cos, sin)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        h = h + self.attn(a, (k, v), cos, sin, mask)
        h = h + self.mlp(self.mlp_norm(h))
        return h, (k, v)


@dataclass
class DecodeState:
    """Everything decoding needs about the tokens seen so far, for one batch of sequences.

    The caches hold the last `window - 1` positions: the next token attends to those and to
    itself. `key_valid` [B, m] marks which cached positions are real (prompts are left-padded).
    """

    position: int
    key_valid: Tensor
    layer_kv: list[KeysValues]
    cross_kv: KeysValues
    memory: Tensor


@dataclass
class Encoded:
    """The features of the new tokens and what the recursion's cross-attention needs."""

    x: Tensor  # [B, n, D]
    gate: Tensor  # [B, n, D]
    cross_kv: KeysValues
    key_positions: Tensor  # [m]
    positions: Tensor  # [n], positions of the new tokens
    mask: Tensor | None  # new tokens x keys, None when attention is plain causal (see Attention)
    segments: Tensor | None  # [B, n] ids of packed sequences
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


class CognateModel(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.backbone_norm = nn.RMSNorm(config.d_model, eps=config.norm_eps)
        self.memory = LongTermMemory(
            config.d_model, config.d_mem, config.ltm_decay_init, config.ltm_learnable_decay
        )
        self.gate = MAGGate(config.d_model)
        self.recursion = Recursion(
            config.d_model, config.n_heads, config.d_ff, config.micro_steps, config.norm_eps
        )
        self.halting = HaltingHead(config.d_model, config.norm_eps)
        self.head_norm = nn.RMSNorm(config.d_model, eps=config.norm_eps)
        self.rotary = Rotary(config.head_dim, config.rope_base)
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
        state: DecodeState | None = None,
        valid: Tensor | None = None,
        use_cache: bool = False,
        segments: Tensor | None = None,
    ) -> Encoded:
        """Run the backbone, memory and gate over new tokens [B, n], after `state` if given.

        valid [B, n] marks real tokens (False for left padding); None means all are real.
        segments [B, n] (training on packed rows, no state): ids of the sequences packed in
        a row; attention and memory never cross from one to the next.
        """
        batch, n = input_ids.shape
        device = input_ids.device
        start = state.position if state is not None else 0
        past_len = state.key_valid.shape[1] if state is not None else 0
        positions = torch.arange(start, start + n, device=device)
        key_positions = torch.arange(start - past_len, start + n, device=device)
        key_valid = self._key_valid(state, valid, batch, n, device)
        cos, sin = self.rotary(positions)
        plain_causal = past_len == 0 and n <= self.config.window
        one_token_sees_all = n == 1 and past_len < self.config.window
        mask = None
        if (
            key_valid is not None
            or segments is not None
            or not (plain_causal or one_token_sees_all)
        ):
            mask = window_mask(
                positions, key_positions, self.config.window, key_valid, segments, segments
            )

        h = self.embed(input_ids)
        layer_kv = []
        for i, block in enumerate(self.blocks):
            past = state.layer_kv[i] if state is not None else None
            h, kv = block(h, cos, sin, mask, past)
            layer_kv.append(kv)
        h = self.backbone_norm(h)
        starts = _segment_starts(segments) if segments is not None else None
        m, memory_state = self.memory(h, state.memory if state is not None else None, valid, starts)
        x, g = self.gate(h, m)

        k, v = self.recursion.cross_attn.keys_values(x, cos, sin)
        if state is not None:
            k = torch.cat([state.cross_kv[0], k], dim=2)
            v = torch.cat([state.cross_kv[1], v], dim=2)

        new_state = None
        if use_cache:
            keep = self.config.window - 1
            if key_valid is None:
                key_valid = torch.ones(batch, past_len + n, dtype=torch.bool, device=device)
            new_state = DecodeState(
                position=start + n,
                key_valid=_last_positions(key_valid, keep, dim=1),
                layer_kv=[tuple(_last_positions(t, keep, dim=2) for t in kv) for kv in layer_kv],
                cross_kv=(_last_positions(k, keep, dim=2), _last_positions(v, keep, dim=2)),
                memory=memory_state,
            )
        return Encoded(x, g, (k, v), key_positions, positions, mask, segments, new_state)

    @staticmethod
    def _key_valid(
        state: DecodeState | None, valid: Tensor | None, batch: int, n: int, device: torch.device
    ) -> Tensor | None:
        """Validity of cached + new keys [B, m], or None when all of them are real."""
        past_all_real = state is None or bool(state.key_valid.all())
        if valid is None and past_all_real:
            return None
        new = valid if valid is not None else torch.ones(batch, n, dtype=torch.bool, device=device)
        return new if state is None else torch.cat([state.key_valid, new], dim=1)

    def head(self, y: Tensor) -> Tensor:
        """Tied LM head: [..., D] -> [..., V]."""
        return F.linear(self.head_norm(y), self.embed.weight)

    # -- training --------------------------------------------------------------------------

    def forward(
        self,
        input_ids: Tensor,
        labels: Tensor | None = None,
        t_max: int | None = None,
        segments: Tensor | None = None,
    ) -> Tensor | ModelOutput:
        """input_ids [B, L] -> logits [B, L, V] at each token's halting step.

        With labels [B, L] (labels[t] is the token to predict at t, IGNORE_INDEX where no loss
        is taken) returns a ModelOutput; the recursion and the LM head then run only at target
        positions. t_max (<= config.t_max) trains with fewer recursion steps. segments [B, L]
        marks sequences packed into one row (see `encode`).
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
            query_pos, enc.key_positions, self.config.window, None, query_segments, segments
        )

        weights = self.config.step_weights()[-t_max:]
        weights = [w / sum(weights) for w in weights]
        z, y = self.recursion.start(x_q)
        lm_loss = act_loss = torch.zeros((), device=input_ids.device)
        step_losses, step_accuracy, halt_probs = [], [], []
        for t in range(t_max):
            z, y = self.recursion.step(z, y, enc.cross_kv, cos, sin, mask)
            logits = self.head(y[query_is_target]).float()  # [N, V]
            ce = F.cross_entropy(logits, targets)
            correct = logits.argmax(dim=-1) == targets
            halt_logits = self.halting(z[query_is_target])
            lm_loss = lm_loss + weights[t] * ce
            act_loss = act_loss + halting_loss(halt_logits, correct) / t_max
            step_losses.append(ce.detach())
            step_accuracy.append(correct.float().mean())
            halt_probs.append(torch.sigmoid(halt_logits.detach()))
            z, y = z.detach(), y.detach()  # deep supervision: each step learns on its own

        gate_loss = gate_entropy_loss(enc.gate)
        steps = halting_steps(torch.stack(halt_probs), self.config.act_threshold).float()
        loss = (
            lm_loss
            + self.config.act_loss_weight * act_loss
            + self.config.gate_entropy_weight * gate_loss
        )
        return ModelOutput(
            loss=loss,
            lm_loss=lm_loss.detach(),
            step_losses=torch.stack(step_losses),
            step_accuracy=torch.stack(step_accuracy),
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
        state: DecodeState | None = None,
        valid: Tensor | None = None,
        use_cache: bool = False,
        last_only: bool = False,
        threshold: float | None = None,
        segments: Tensor | None = None,
    ) -> Inference:
        """Logits of new tokens [B, n] (after `state`), each at its own halting step.

        A token stops at the first recursion step whose halt probability reaches `threshold`
        (default: the config's), or at T_max. last_only computes only the last position.
        """
        enc = self.encode(input_ids, state, valid, use_cache, segments)
        x, positions, mask = enc.x, enc.positions, enc.mask
        if last_only:
            x, positions = x[:, -1:], positions[-1:]
            mask = mask[..., -1:, :] if mask is not None else None
        cos, sin = self.rotary(positions)

        threshold = self.config.act_threshold if threshold is None else threshold
        t_max = self.config.t_max
        z, y = self.recursion.start(x)
        y_out = torch.zeros_like(y)
        steps = torch.full(x.shape[:2], t_max, dtype=torch.long, device=x.device)
        halted = torch.zeros(x.shape[:2], dtype=torch.bool, device=x.device)
        for t in range(t_max):
            z, y = self.recursion.step(z, y, enc.cross_kv, cos, sin, mask)
            stop = torch.sigmoid(self.halting(z)) >= threshold
            if t == t_max - 1:
                stop = torch.ones_like(stop)
            newly = stop & ~halted
            y_out = torch.where(newly[..., None], y, y_out)
            steps = torch.where(newly, t + 1, steps)
            halted = halted | stop
            if bool(halted.all()):
                break
        return Inference(self.head(y_out).float(), steps, enc.state)

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
            "long-term memory": [self.memory],
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
