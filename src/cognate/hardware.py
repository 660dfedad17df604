"""What the hardware is good at (decisions that change speed, never results' meaning)."""

from __future__ import annotations

import torch


def has_fast_bf16(device: torch.device) -> bool:
    """Whether bf16 matrix products are fast on `device`.

    CPUs without AVX512-BF16/AMX run bf16 matmuls on slow fallback kernels (measured 10-100x
    slower than fp32 on an AVX2-only machine); CUDA devices from Ampere on are fast.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False
