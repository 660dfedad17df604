"""One decoding step per new token, with few operations and matrices read fast.

Decoding one token at a time on a CPU is bound by reading the weights (each matrix is read
once per token for a single vector) and by the fixed cost of every operation. A `Decoder`
copies the model's matrices once into the layout matrix-vector products read fastest —
transposed, which MKL reads about twice as fast on CPUs like this project's — and fuses the
matrices that read the same input (queries/keys/values, SwiGLU gate/up, the recursion's
z_0/y_0). Its step does the model's arithmetic on one position, against the ring caches of
a `DecodeState` written in place. `quantize="int8"` stores the matrices as int8 with one
scale per output row (a quarter of the bytes; activations rounded to bf16): faster, and
close to but not exactly the fp32 numbers. `quantize="int4"` stores them in 4 bits, with a
scale and an offset per group of 32 inputs of a row (an eighth of the bytes): fastest when
the weights do not fit in the caches, and the least exact. Both keep the head's best logits
exact (`_RescoredHead`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cognate.model import CognateModel, DecodeState
from cognate.model.attention import KeysValues, with_recency
from cognate.model.model import run_recursion

QUANTIZE_MODES = (None, "int8", "int4")
INT4_GROUP = 32  # inputs of a row sharing one int4 scale and offset
SPLIT_NUMEL = 1 << 18  # fp32 matrices from this size are multiplied on every thread
BLOCKWISE_ARGMAX_FROM = 16_384  # vocabulary size from which `first_argmax` goes by blocks
RESCORED = 16  # quantized head: how many of the largest logits per row are recomputed in fp32

MatVec = Callable[[Tensor], Tensor]  # x [B, in] -> [B, out]


class _Dense:
    """x @ W^T (+ b) in `dtype`, from a transposed copy of W [out, in].

    MKL computes an fp32 matrix-vector product on one thread (phase1's head: ~4 ms per token on
    this project's AMD EPYC, which can read its 64 MB in under 2), so a large fp32 W is split by
    outputs into one part per thread, multiplied as a batch, which MKL spreads over the threads.
    """

    def __init__(self, weight: Tensor, bias: Tensor | None, dtype: torch.dtype) -> None:
        self.out_features, in_features = weight.shape
        large = weight.numel() >= SPLIT_NUMEL and dtype == torch.float32
        self.parts = torch.get_num_threads() if large else 1
        if self.parts > 1:  # [parts, in, ceil(out / parts)]: the last part may end in zeros
            chunk = -(-self.out_features // self.parts)
            self.weight_t = weight.new_zeros(self.parts, in_features, chunk, dtype=dtype)
            for part, rows in enumerate(weight.split(chunk)):
                self.weight_t[part, :, : len(rows)] = rows.t()
        else:
            self.weight_t = weight.t().contiguous().to(dtype)
        self.bias = None if bias is None else bias.to(dtype)

    def __call__(self, x: Tensor) -> Tensor:
        if self.parts > 1:
            y = torch.bmm(x.expand(self.parts, *x.shape), self.weight_t)  # [parts, B, out/parts]
            y = y.transpose(0, 1).reshape(x.shape[0], -1)[:, : self.out_features]
            return y if self.bias is None else y + self.bias
        if self.bias is None:
            return x @ self.weight_t
        return torch.addmm(self.bias, x, self.weight_t)


class _Int8:
    """x @ W^T (+ b), bf16 [B, in] -> bf16 [B, out], from W rounded to int8 with one bf16
    scale per output row.

    The kernel silently computes garbage when the input width is not a multiple of 8 (see
    `_matvec`), and is fast only for bf16 inputs.
    """

    def __init__(self, weight: Tensor, bias: Tensor | None) -> None:
        self.scale = (weight.abs().amax(dim=1) / 127).clamp(min=1e-30).to(torch.bfloat16)
        rounded = (weight / self.scale.float()[:, None]).round().clamp(-128, 127)
        self.weight = rounded.to(torch.int8)
        self.bias = None if bias is None else bias.to(torch.bfloat16)

    def __call__(self, x: Tensor) -> Tensor:
        y = torch._weight_int8pack_mm(x.contiguous(), self.weight, self.scale)
        return y if self.bias is None else y + self.bias


class _Int4:
    """x @ W^T (+ b), bf16 [B, in] -> bf16 [B, out], from W rounded to 16 levels per group
    of `INT4_GROUP` inputs of a row: weight = (level - 8) * scale + offset, the kernel's form.

    Needs the input width to be a multiple of `INT4_GROUP`; the kernel packs rows by sixteens,
    so W gets zero rows up to a multiple of 16, whose outputs are dropped.
    """

    def __init__(self, weight: Tensor, bias: Tensor | None) -> None:
        self.out_features, in_features = weight.shape
        weight = F.pad(weight, (0, 0, 0, -self.out_features % 16))
        groups = weight.view(weight.shape[0], in_features // INT4_GROUP, INT4_GROUP)
        low, high = groups.amin(dim=-1, keepdim=True), groups.amax(dim=-1, keepdim=True)
        scale = ((high - low) / 15).clamp(min=1e-30).to(torch.bfloat16).float()
        offset = (low + 8 * scale).to(torch.bfloat16).float()
        levels = ((groups - offset) / scale + 8).round().clamp(0, 15).view_as(weight)
        self.packed = torch._convert_weight_to_int4pack_for_cpu(levels.to(torch.int32), 2)
        # [in / INT4_GROUP, out, 2]: the kernel's layout of (scale, offset)
        scales = torch.cat([scale, offset], dim=-1).transpose(0, 1)
        self.scales_and_offsets = scales.contiguous().to(torch.bfloat16)
        self.bias = None if bias is None else bias.to(torch.bfloat16)

    def __call__(self, x: Tensor) -> Tensor:
        y = torch._weight_int4pack_mm_for_cpu(
            x.contiguous(), self.packed, INT4_GROUP, self.scales_and_offsets
        )
        if y.shape[1] != self.out_features:
            y = y[:, : self.out_features]
        return y if self.bias is None else y + self.bias


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

    Several times faster than `topk` over a large vocabulary on CPU: the top k lie in the k
    blocks of `block` logits with the largest maxima (any block holding one of them has a
    larger maximum than all but fewer than k blocks), so topk runs on those k blocks only.
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

    On CPU `argmax` is a scalar loop and `amax` is vectorized: over a large vocabulary it is
    faster to find the first block of `block` logits holding the maximum, then the first
    maximum in that block (37 against 104 us for 50,257 logits on this project's machine; plain
    `argmax` wins below ~16,000, 10 against 30 us for 4,096).
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


class _RescoredHead:
    """Logits from a quantized copy of the head, the best `RESCORED` of each row then
    recomputed in fp32: the quantized ranking of near-equal logits would otherwise often
    differ from fp32's."""

    def __init__(self, weight: Tensor, approximate: MatVec) -> None:
        self.weight = weight
        self.approximate = approximate

    def __call__(self, y: Tensor) -> Tensor:
        """y [B, D] (fp32) -> logits [B, V] (fp32)."""
        logits = self.approximate(y.to(torch.bfloat16)).float()
        best = top_indices(logits, min(RESCORED, logits.shape[-1]))  # [B, k]
        exact = torch.bmm(self.weight[best], y[:, :, None]).squeeze(-1)  # [B, k]
        return logits.scatter_(1, best, exact)


def _matvec(
    linears: Sequence[nn.Linear | Tensor], quantize: str | None, norm: nn.RMSNorm | None = None
) -> MatVec:
    """One matrix-vector product for several layers (or bare weights) reading the same input:
    their outputs concatenated. With `norm`, its gain is folded in: the product then takes
    the input normalized without gain (`_normalized`). Inputs and outputs are fp32, or bf16
    with `quantize`. An input width the quantized kernels cannot take falls back to int8
    (from int4), then to bf16."""
    weights = [m.weight if isinstance(m, nn.Linear) else m for m in linears]
    biases = [m.bias for m in linears if isinstance(m, nn.Linear) and m.bias is not None]
    weight = torch.cat(weights).detach()
    if norm is not None:
        weight = weight * norm.weight.detach()
    bias = torch.cat(biases).detach() if biases else None
    if quantize == "int4" and weight.shape[1] % INT4_GROUP == 0:
        return _Int4(weight, bias)
    if quantize is not None and weight.shape[1] % 8 == 0:
        return _Int8(weight, bias)
    return _Dense(weight, bias, _product_dtype(quantize))


def _product_dtype(quantize: str | None) -> torch.dtype:
    """The dtype of the decoder's matrix products: bf16 when quantized (the quantized kernels')."""
    return torch.float32 if quantize is None else torch.bfloat16


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
    return _ShortConv(convs, first, _product_dtype(quantize))


class _BlockWeights:
    def __init__(self, block: nn.Module, quantize: str | None) -> None:
        self.qkv = _matvec([block.attn.q_proj, block.attn.kv_proj], quantize, block.attn_norm)
        self.conv = _short_conv(block.attn, quantize, fused=True)
        self.out = _matvec([block.attn.out_proj], quantize)
        self.gate_up = _matvec([block.mlp.gate_proj, block.mlp.up_proj], quantize, block.mlp_norm)
        self.down = _matvec([block.mlp.down_proj], quantize)


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
    """RMSNorm without its gain, x / sqrt(mean(x^2) + eps), in dtype: half the time of
    F.rms_norm."""
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
        self.dtype = _product_dtype(quantize)
        self.embed = model.embed.weight.detach()
        self.rotary = model.rotary
        self.rotate_half = _rotate_half_matrix(self.config.head_dim, self.embed.device)
        self.blocks = [_BlockWeights(block, quantize) for block in model.blocks]
        self.recency = None
        if self.config.recency_heads:
            self.recency = model.recency_slopes.to(self.embed.device)
        self.eps = torch.tensor(self.config.norm_eps, device=self.embed.device)
        self.backbone_gain = model.backbone_norm.weight.detach()
        decay = torch.sigmoid(model.memory.decay_logit.detach())
        self.memory_decay, self.memory_inflow = decay, 1.0 - decay
        self.memory_down = _matvec([model.memory.down], quantize)
        self.memory_up = _matvec([model.memory.up], quantize)
        self.combine = _matvec([model.gate.combine], quantize)
        self.to_gate = _matvec([model.gate.to_gate], quantize)
        # Both read the gated x: the cross-attention's keys/values, then z_0 and y_0.
        self.cross_kv_and_start = _matvec(
            [rec.cross_attn.kv_proj, rec.init_z, rec.init_y], quantize
        )
        self.cross_kv_conv = _short_conv(rec.cross_attn, quantize, fused=False)
        self.cross_q = _matvec([rec.cross_attn.q_proj], quantize, rec.attn_norm)
        self.cross_out = _matvec([rec.cross_attn.out_proj], quantize)
        self.z_gate_up = _matvec([rec.z_mlp.gate_proj, rec.z_mlp.up_proj], quantize, rec.z_norm)
        self.z_down = _matvec([rec.z_mlp.down_proj], quantize)
        self.y_gate_up = _matvec([rec.y_mlp.gate_proj, rec.y_mlp.up_proj], quantize, rec.y_norm)
        self.y_down = _matvec([rec.y_mlp.down_proj], quantize)
        # One row: kept exact, as halting decides how many steps a token takes.
        self.halting = _matvec([model.halting.proj], None, model.halting.norm)
        self.head_gain = model.head_norm.weight.detach()
        self.head: MatVec = _Dense(self.embed, None, torch.float32)
        if quantize is not None:
            self.head = _RescoredHead(self.embed, _matvec([self.embed], quantize))

    @torch.inference_mode()
    def step(
        self, token: Tensor, state: DecodeState, threshold: float | None = None
    ) -> tuple[Tensor, Tensor]:
        """Next tokens [B] -> (their logits [B, V] at their halting steps, steps [B]).

        Advances `state` in place by one position. Its key/value caches stay fp32 (a bf16
        attention over a few hundred keys is about 5x slower on CPUs like this project's);
        its convolution history takes the decoder's dtype.
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
        inflow = self.memory_inflow * self.memory_down(h_in)
        state.memory = self.memory_decay * state.memory + inflow
        m = self.memory_up(state.memory.to(dtype))
        g = torch.sigmoid(self.to_gate(F.relu(self.combine(torch.cat([h_in, m], dim=-1)))))
        x = (g * h + (1.0 - g) * m).to(dtype)

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
