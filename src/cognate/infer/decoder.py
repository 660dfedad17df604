"""One decoding step per new token, with few operations and matrices read fast.

Decoding one token at a time on a CPU is bound by reading the weights and by the fixed cost
of every operation. A `Decoder` copies the model's matrices once into products that read
them fast (`cognate.infer.kernels`: fp32, or int8 / int4 with `quantize`) and fuses the
matrices that read the same input (queries/keys/values, SwiGLU gate/up, the recursion's
z_0/y_0). Its step does the model's arithmetic on one position, against the ring caches of
a `DecodeState` (`cognate.model.cache`) written in place.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cognate.infer.kernels import Dense, MatVec, RescoredHead, matvec, product_dtype
from cognate.infer.sampling import QUANTIZE_MODES
from cognate.model import CognateModel, DecodeState
from cognate.model.attention import KeysValues, with_recency
from cognate.model.model import run_recursion


class _ShortConv:
    """The `ShortConv`s of one attention at one position: projections [B, C] mixed with those
    of the positions before (`DecodeState.conv_history`), which it advances in place.

    `convs` are the attention's convolutions in the order of the channels they mix (queries,
    then keys/values). `first` is the first channel of the fused projection they cover.
    """

    def __init__(self, convs: Sequence[nn.Module], first: int, dtype: torch.dtype) -> None:
        taps = torch.cat([conv.taps.detach() for conv in convs], dim=1)
        self.taps = taps.flip(0).to(dtype)  # oldest position first, as the history
        self.first = first

    def __call__(self, projected: Tensor, history: list[Tensor], index: int) -> Tensor:
        """projected [B, first + C] -> the same with its last C channels mixed."""
        kept, mixing = projected[:, : self.first], projected[:, self.first :]
        mixed = mixing + (history[index] * self.taps).sum(dim=1)
        history[index] = torch.cat([history[index][:, 1:], mixing[:, None]], dim=1)
        return torch.cat([kept, mixed], dim=1) if self.first else mixed


def _short_conv(attention: nn.Module, quantize: str | None, fused: bool) -> _ShortConv | None:
    """The decoder's form of the attention's convolutions, for its projection: queries then
    keys/values when `fused`, else keys/values alone."""
    if attention.kv_conv is None:
        return None
    if attention.q_conv is None:
        convs, first = [attention.kv_conv], attention.q_proj.out_features if fused else 0
    else:
        convs, first = [attention.q_conv, attention.kv_conv], 0
    return _ShortConv(convs, first, product_dtype(quantize))


class _BlockWeights:
    """The fused products of one backbone block."""

    def __init__(self, block: nn.Module, quantize: str | None) -> None:
        self.qkv = matvec([block.attn.q_proj, block.attn.kv_proj], quantize, block.attn_norm)
        self.conv = _short_conv(block.attn, quantize, fused=True)
        self.out = matvec([block.attn.out_proj], quantize)
        self.gate_up = matvec([block.mlp.gate_proj, block.mlp.up_proj], quantize, block.mlp_norm)
        self.down = matvec([block.mlp.down_proj], quantize)


def _rotate_half_matrix(head_dim: int, device: torch.device) -> Tensor:
    """R with x @ R == cat([-x2, x1]) for x = cat([x1, x2]), as in `apply_rotary`."""
    half = head_dim // 2
    matrix = torch.zeros(head_dim, head_dim, device=device)
    matrix[half:, :half] = -torch.eye(half, device=device)
    matrix[:half, half:] = torch.eye(half, device=device)
    return matrix


def _model_key(model: CognateModel) -> tuple:
    """Changes whenever the config changes or a parameter is replaced or modified in place."""
    return model.config, *((p.data_ptr(), p._version) for p in model.parameters())


def _normalized(x: Tensor, eps: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """RMSNorm without its gain, x / sqrt(mean(x^2) + eps), in dtype: `matvec` folds the gains
    into the products that read it."""
    norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
    return (x * torch.addcmul(eps, norm, norm, value=1.0 / x.shape[-1]).rsqrt_()).to(dtype)


def _swiglu(x: Tensor, gate_up: MatVec, down: MatVec) -> Tensor:
    gate, up = gate_up(x).chunk(2, dim=-1)
    return down(F.silu(gate) * up)


class Decoder:
    """Continues a `DecodeState` (from `model.infer(..., use_cache=True)`) one token at a time.

    Keeps its own copies of the model's matrices: build it with `decoder_for`, which makes a
    new one when the model's weights or config change.
    """

    def __init__(self, model: CognateModel, quantize: str | None = None) -> None:
        if quantize not in QUANTIZE_MODES:
            raise ValueError(f"quantize must be one of {QUANTIZE_MODES}, not {quantize!r}")
        if model.embed.weight.dtype != torch.float32:
            raise ValueError(f"decoding needs fp32 weights, not {model.embed.weight.dtype}")
        self.key = _model_key(model)
        self.config = model.config
        with torch.no_grad():
            self._prepare(model, quantize)

    def _prepare(self, model: CognateModel, quantize: str | None) -> None:
        rec = model.recursion
        self.dtype = product_dtype(quantize)
        self.embed = model.embed.weight.detach()
        self.rotary = model.rotary
        self.rotate_half = _rotate_half_matrix(self.config.head_dim, self.embed.device)
        self.blocks = [_BlockWeights(block, quantize) for block in model.blocks]
        self.recency = None
        if self.config.recency_heads:
            self.recency = model.recency_slopes.to(self.embed.device)
        self.eps = torch.tensor(self.config.norm_eps, device=self.embed.device)
        self.backbone_gain = model.backbone_norm.weight.detach()
        self.memory = model.memory is not None
        if self.memory:
            decay = torch.sigmoid(model.memory.decay_logit.detach())
            self.memory_decay, self.memory_inflow = decay, 1.0 - decay
            self.memory_down = matvec([model.memory.down], quantize)
            self.memory_up = matvec([model.memory.up], quantize)
        self.combine = matvec([model.gate.combine], quantize)
        self.to_gate = matvec([model.gate.to_gate], quantize)
        # Both read the gated x: the cross-attention's keys/values, then z_0 and y_0.
        self.cross_kv_and_start = matvec([rec.cross_attn.kv_proj, rec.init_z, rec.init_y], quantize)
        self.cross_kv_conv = _short_conv(rec.cross_attn, quantize, fused=False)
        self.cross_q = matvec([rec.cross_attn.q_proj], quantize, rec.attn_norm)
        self.cross_out = matvec([rec.cross_attn.out_proj], quantize)
        self.z_gate_up = matvec([rec.z_mlp.gate_proj, rec.z_mlp.up_proj], quantize, rec.z_norm)
        self.z_down = matvec([rec.z_mlp.down_proj], quantize)
        self.y_gate_up = matvec([rec.y_mlp.gate_proj, rec.y_mlp.up_proj], quantize, rec.y_norm)
        self.y_down = matvec([rec.y_mlp.down_proj], quantize)
        # One row: kept exact, as halting decides how many steps a token takes.
        self.halting = matvec([model.halting.proj], None, model.halting.norm)
        self.head_gain = model.head_norm.weight.detach()
        self.head: MatVec = Dense(self.embed, None, torch.float32)
        if quantize is not None:
            self.head = RescoredHead(self.embed, matvec([self.embed], quantize))

    @property
    def weight_bytes(self) -> int:
        """Bytes of the weights a step reads, each product counted once (the recursion's are
        read again at every recursion step, mostly from the caches), the embedding's row left
        out: what decoding one token must read from memory at least."""
        products = [p for o in (self, *self.blocks) for p in vars(o).values()]
        return sum(p.nbytes for p in products if isinstance(p, MatVec))

    @torch.inference_mode()
    def step(
        self, token: Tensor, state: DecodeState, threshold: float | None = None
    ) -> tuple[Tensor, Tensor]:
        """Next tokens [B] -> (their logits [B, V] at their halting steps, steps [B]).

        Advances `state` in place by one position. Its key/value caches stay fp32 (CPUs run
        small bf16 attentions slower than fp32 ones); its convolution history takes the
        decoder's dtype.
        """
        config, dtype = self.config, self.dtype
        batch, heads, head_dim = token.shape[0], config.n_heads, config.head_dim
        state.store_conv_history_as(dtype)
        slot = state.make_room()
        keys = min(state.position + 1, state.window)  # slots in use, this token's included
        cos, sin = self.rotary(torch.tensor([state.position], device=token.device))
        # RoPE at one position is a linear map: x @ rotation == apply_rotary(x, cos, sin)
        rotation = torch.diag(cos[0]) + self.rotate_half * sin

        def rotate(x: Tensor) -> Tensor:  # in fp32: tiny bf16 products are slow on CPUs
            return x.float() @ rotation

        mask = None
        if state.key_valid is not None:
            state.key_valid[:, slot] = True
            mask = state.key_valid[:, None, None, :keys]
        backbone_mask = mask
        if self.recency is not None:
            # slot s holds the latest position p <= state.position with p = s (mod window)
            slots = torch.arange(keys, device=token.device)
            distance = ((state.position - slots) % state.window).float()[None]  # [1, keys]
            backbone_mask = with_recency(mask, self.recency, distance)

        def attend(q: Tensor, kv: KeysValues, mask: Tensor | None = mask) -> Tensor:
            """Queries [B, H, 1, head_dim] (fp32) against the cached keys -> [B, D] in dtype."""
            k, v = kv[0][:, :, :keys], kv[1][:, :, :keys]
            attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            return attended.view(batch, -1).to(dtype)

        def cache(kv: KeysValues, k: Tensor, v: Tensor) -> None:
            kv[0][:, :, slot : slot + 1] = k
            kv[1][:, :, slot : slot + 1] = v

        def norm(x: Tensor) -> Tensor:
            return _normalized(x, self.eps, dtype)

        # The residual streams (h, memory, z, y) stay fp32; the products take `dtype`.
        history = state.conv_history
        h = F.embedding(token, self.embed)
        for index, (block, kv) in enumerate(zip(self.blocks, state.layer_kv, strict=True)):
            qkv = block.qkv(norm(h))
            if block.conv is not None:
                qkv = block.conv(qkv, history, index)
            qkv = qkv.view(batch, 3, heads, 1, head_dim)
            qk = rotate(qkv[:, :2])
            cache(kv, qk[:, 1], qkv[:, 2])
            h = h + block.out(attend(qk[:, 0], kv, backbone_mask))
            h = h + _swiglu(norm(h), block.gate_up, block.down)
        h = _normalized(h, self.eps) * self.backbone_gain

        # LongTermMemory.step and MAGGate.forward, with the decoder's matrices
        h_in = h.to(dtype)
        if self.memory:
            inflow = self.memory_inflow * self.memory_down(h_in)
            state.memory = self.memory_decay * state.memory + inflow
            m = self.memory_up(state.memory.to(dtype))
            g = torch.sigmoid(self.to_gate(F.relu(self.combine(torch.cat([h_in, m], dim=-1)))))
            x = (g * h + (1.0 - g) * m).to(dtype)
        else:
            g = torch.sigmoid(self.to_gate(F.relu(self.combine(h_in))))
            x = (g * h).to(dtype)

        cross, start = self.cross_kv_and_start(x).split(2 * config.d_model, dim=-1)
        if self.cross_kv_conv is not None:
            cross = self.cross_kv_conv(cross, history, len(self.blocks))
        k, v = cross.view(batch, 2, heads, 1, head_dim).unbind(1)
        cache(state.cross_kv, rotate(k), v)

        def recursion_step(z: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
            for _ in range(config.micro_steps):
                q = self.cross_q(norm(z + y)).view(batch, heads, 1, head_dim)
                z = z + self.cross_out(attend(rotate(q), state.cross_kv))
                z = z + _swiglu(norm(z + y), self.z_gate_up, self.z_down)
            return z, y + _swiglu(norm(torch.cat([y, z], dim=-1)), self.y_gate_up, self.y_down)

        def halt_logit(z: Tensor) -> Tensor:
            return self.halting(_normalized(z, self.eps)).squeeze(-1)

        z, y = start.float().chunk(2, dim=-1)
        threshold = config.act_threshold if threshold is None else threshold
        y, steps = run_recursion(z, y, recursion_step, halt_logit, threshold, config.t_max)
        state.position += 1
        return self.head(_normalized(y, self.eps) * self.head_gain), steps


_DECODERS: weakref.WeakKeyDictionary[CognateModel, dict[str | None, Decoder]] = (
    weakref.WeakKeyDictionary()
)


def decoder_for(model: CognateModel, quantize: str | None = None) -> Decoder:
    """The model's decoder (cached with the model), rebuilt when its weights or config change."""
    decoders = _DECODERS.setdefault(model, {})
    decoder = decoders.get(quantize)
    if decoder is None or decoder.key != _model_key(model):
        decoder = decoders[quantize] = Decoder(model, quantize)
    return decoder
