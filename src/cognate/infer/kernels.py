"""The decoder's matrix-vector products: x [B, in] -> x @ W^T (+ b) [B, out], W a copy made once.

Decoding one token at a time on a CPU is bound by reading the weights (each matrix is read
once per token for a single vector), so each product keeps W in the layout its kernel reads
fastest. `Dense` keeps fp32 (or bf16), packed for oneDNN too when rows come in batches. `Int8`
keeps int8 with one scale per output row (a quarter of the bytes; activations rounded to
bf16): close to but not exactly the fp32 numbers. `Int4` keeps 4 bits, with a scale and an
offset per group of `INT4_GROUP` inputs of a row (an eighth of the bytes): the least exact,
and the fastest when the weights do not fit in the caches. `RescoredHead` keeps a quantized
head's best logits exact. The speeds they give: benchmarks/results/decode_speed.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cognate.infer.sampling import top_indices

INT4_GROUP = 32  # inputs of a row sharing one int4 scale and offset
SPLIT_NUMEL = 1 << 18  # fp32 matrices from this size are multiplied on every thread
PACK_NUMEL = 1 << 17  # fp32 matrices from this size take oneDNN's product for several rows
RESCORED = 16  # quantized head: how many of the largest logits per row are recomputed in fp32


@runtime_checkable
class MatVec(Protocol):
    """x [B, in] -> [B, out], reading `nbytes` of weights (all of them, whatever B)."""

    nbytes: int

    def __call__(self, x: Tensor) -> Tensor: ...


def _nbytes(*tensors: Tensor | None) -> int:
    return sum(t.nbytes for t in tensors if t is not None)


class Dense:
    """x @ W^T (+ b) in `dtype`, from copies of W [out, in] in the layouts its kernels read fastest.

    One row (batch-1 decoding) takes MKL's matrix-vector product, which reads W fastest along
    its outputs when it has at least as many outputs as inputs (so W^T [in, out] is kept), and
    along its inputs otherwise (W itself). It runs on one thread, so a large fp32 W is split by
    outputs into one part per thread, multiplied as a batch, which MKL spreads over the threads.
    Several rows take oneDNN's matrix product from W packed once (at the first such call) where
    it can (fp32 on a CPU) and W is large: MKL's repacks W at every call, and oneDNN's fixed
    cost per call is the larger for small matrices (benchmarks/RESULTS.md, issue 34).
    """

    def __init__(self, weight: Tensor, bias: Tensor | None, dtype: torch.dtype) -> None:
        self.out_features, in_features = weight.shape
        large = weight.numel() >= SPLIT_NUMEL and dtype == torch.float32
        self.parts = torch.get_num_threads() if large else 1
        chunk = -(-self.out_features // self.parts)  # the last part may end in zero rows
        parts = F.pad(weight, (0, 0, 0, self.parts * chunk - self.out_features))
        parts = parts.view(self.parts, chunk, in_features).to(dtype)
        # [parts, in, chunk]: contiguous along the outputs, or a view of W's rows
        self.weight_t = parts.transpose(1, 2)
        if self.out_features >= in_features:
            self.weight_t = self.weight_t.contiguous()
        if self.parts == 1:
            self.weight_t = self.weight_t[0]
        self.bias = None if bias is None else bias.to(dtype)
        self.nbytes = _nbytes(self.weight_t, self.bias)
        self.packs = (
            weight.numel() >= PACK_NUMEL
            and dtype == torch.float32
            and weight.device.type == "cpu"
            and torch.backends.mkldnn.is_available()
        )
        self.packed: Tensor | None = None  # oneDNN's copy of W, made at the first batched call

    def __call__(self, x: Tensor) -> Tensor:
        if x.shape[0] > 1 and self.packs:
            if self.packed is None:
                weight = self.weight_t.transpose(-1, -2).reshape(-1, self.weight_t.shape[-2])
                self.packed = torch.ops.mkldnn._reorder_linear_weight(
                    weight[: self.out_features].contiguous(), x.shape[0]
                )
            return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "")
        if self.parts > 1:
            y = torch.bmm(x.expand(self.parts, *x.shape), self.weight_t)  # [parts, B, out/parts]
            y = y.transpose(0, 1).reshape(x.shape[0], -1)[:, : self.out_features]
            return y if self.bias is None else y + self.bias
        if self.bias is None:
            return x @ self.weight_t
        return torch.addmm(self.bias, x, self.weight_t)


class Int8:
    """x @ W^T (+ b), bf16 [B, in] -> bf16 [B, out], from W rounded to int8 with one bf16
    scale per output row.

    The kernel silently computes garbage when the input width is not a multiple of 8 (see
    `matvec`), and is fast only for bf16 inputs.
    """

    def __init__(self, weight: Tensor, bias: Tensor | None) -> None:
        self.scale = (weight.abs().amax(dim=1) / 127).clamp(min=1e-30).to(torch.bfloat16)
        rounded = (weight / self.scale.float()[:, None]).round().clamp(-128, 127)
        self.weight = rounded.to(torch.int8)
        self.bias = None if bias is None else bias.to(torch.bfloat16)
        self.nbytes = _nbytes(self.weight, self.scale, self.bias)

    def __call__(self, x: Tensor) -> Tensor:
        y = torch._weight_int8pack_mm(x.contiguous(), self.weight, self.scale)
        return y if self.bias is None else y + self.bias


class Int4:
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
        self.nbytes = _nbytes(self.packed, self.scales_and_offsets, self.bias)

    def __call__(self, x: Tensor) -> Tensor:
        y = torch._weight_int4pack_mm_for_cpu(
            x.contiguous(), self.packed, INT4_GROUP, self.scales_and_offsets
        )
        if y.shape[1] != self.out_features:
            y = y[:, : self.out_features]
        return y if self.bias is None else y + self.bias


class RescoredHead:
    """Logits from a quantized copy of the head, the best `RESCORED` of each row then
    recomputed in fp32: the quantized ranking of near-equal logits would otherwise often
    differ from fp32's. Its `nbytes` leaves out the `RESCORED` fp32 rows read per input row."""

    def __init__(self, weight: Tensor, approximate: MatVec) -> None:
        self.weight = weight
        self.approximate = approximate
        self.nbytes = approximate.nbytes

    def __call__(self, y: Tensor) -> Tensor:
        """y [B, D] (fp32) -> logits [B, V] (fp32)."""
        logits = self.approximate(y.to(torch.bfloat16)).float()
        best = top_indices(logits, min(RESCORED, logits.shape[-1]))  # [B, k]
        exact = torch.bmm(self.weight[best], y[:, :, None]).squeeze(-1)  # [B, k]
        return logits.scatter_(1, best, exact)


def matvec(
    linears: Sequence[nn.Linear | Tensor], quantize: str | None, norm: nn.RMSNorm | None = None
) -> MatVec:
    """One matrix-vector product for several layers (or bare weights) reading the same input:
    their outputs concatenated. With `norm`, its gain is folded in: the product then takes
    the input normalized without gain. Inputs and outputs are fp32, or bf16 with `quantize`.
    An input width the quantized kernels cannot take falls back to int8 (from int4), then to
    bf16."""
    weights = [m.weight if isinstance(m, nn.Linear) else m for m in linears]
    biases = [m.bias for m in linears if isinstance(m, nn.Linear) and m.bias is not None]
    weight = torch.cat(weights).detach()
    if norm is not None:
        weight = weight * norm.weight.detach()
    bias = torch.cat(biases).detach() if biases else None
    if quantize == "int4" and weight.shape[1] % INT4_GROUP == 0:
        return Int4(weight, bias)
    if quantize is not None and weight.shape[1] % 8 == 0:
        return Int8(weight, bias)
    return Dense(weight, bias, product_dtype(quantize))


def product_dtype(quantize: str | None) -> torch.dtype:
    """The dtype of the decoder's matrix products: bf16 when quantized (the quantized kernels')."""
    return torch.float32 if quantize is None else torch.bfloat16
