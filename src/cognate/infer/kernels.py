"""The decoder's matrix-vector products: x [B, in] -> x @ W^T (+ b) [B, out], W a copy made once.

Decoding one token at a time on a CPU is bound by reading the weights (each matrix is read
once per token for a single vector), so each product keeps W in the layout its kernel reads
fastest. `Dense` keeps it transposed, in fp32 (or bf16). `Int8` keeps int8 with one scale per
output row (a quarter of the bytes; activations rounded to bf16): close to but not exactly
the fp32 numbers. `Int4` keeps 4 bits, with a scale and an offset per group of `INT4_GROUP`
inputs of a row (an eighth of the bytes): the least exact, and the fastest when the weights
do not fit in the caches. `RescoredHead` keeps a quantized head's best logits exact. The
speeds they give: benchmarks/results/decode_speed.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cognate.infer.sampling import top_indices

INT4_GROUP = 32  # inputs of a row sharing one int4 scale and offset
SPLIT_NUMEL = 1 << 18  # fp32 matrices from this size are multiplied on every thread
RESCORED = 16  # quantized head: how many of the largest logits per row are recomputed in fp32

MatVec = Callable[[Tensor], Tensor]  # x [B, in] -> [B, out]


class Dense:
    """x @ W^T (+ b) in `dtype`, from a transposed copy of W [out, in].

    MKL computes an fp32 matrix-vector product on one thread, so a large fp32 W is split by
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
