"""What the hardware is good at (decisions that change speed, never results' meaning)."""

from __future__ import annotations

import ctypes
import functools
import platform
import shutil
import time

import torch

from cognate.errors import CognateError

# bf16 must beat fp32 by this much to be worth autocast's casts and its lost precision.
FAST_BF16_SPEEDUP = 1.3
# On CPU, narrower models spend their step in small element-wise operations that bf16 does not
# speed up (benchmarks/RESULTS.md), and the tiny recipe's accuracy was measured in fp32 only.
MIN_CPU_BF16_WIDTH = 256
_PROBE_SIZE = 384  # square matrices: large enough to time the kernels, not the dispatch
_PROBE_REPEATS = 5
# glibc mallopt parameters
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4


def resolve_precision(precision: str, device: torch.device, d_model: int) -> str:
    """The precision a run of `d_model`-wide models trains in: `auto` means bf16 autocast where
    bf16 matmuls are fast (on CPU, for models at least MIN_CPU_BF16_WIDTH wide), fp32 elsewhere;
    `fp32` and `bf16` are kept."""
    if precision != "auto":
        return precision
    if device.type == "cpu" and d_model < MIN_CPU_BF16_WIDTH:
        return "fp32"
    return "bf16" if has_fast_bf16(device) else "fp32"


def autocast(precision: str, device: torch.device) -> torch.autocast:
    """The autocast context of a resolved precision: bf16 autocast for `bf16`, off for `fp32`."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def has_fast_bf16(device: torch.device) -> bool:
    """Whether bf16 matrix products are fast on `device`.

    A CPU's flags do not say: this project has seen AVX512-BF16 CPUs whose bf16 products ran
    slower than fp32, and AVX2 CPUs where they ran far slower (benchmarks/RESULTS.md). So on a
    CPU with bf16 support the two are timed once per process. CUDA devices from Ampere on are
    fast.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return _cpu_has_fast_bf16()
    return False


@functools.cache
def _cpu_has_fast_bf16() -> bool:
    return cpu_supports_bf16() and cpu_bf16_speedup() >= FAST_BF16_SPEEDUP


def cpu_supports_bf16() -> bool:
    """Whether this CPU has bf16 instructions at all (AVX512-BF16 or AMX)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def cpu_bf16_speedup() -> float:
    """fp32 time / bf16 time of one square matrix product on this CPU (best of a few)."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(_PROBE_SIZE, _PROBE_SIZE, generator=generator)
    b = torch.randn(_PROBE_SIZE, _PROBE_SIZE, generator=generator)
    return _best_time(a, b) / _best_time(a.bfloat16(), b.bfloat16())


def _best_time(a: torch.Tensor, b: torch.Tensor) -> float:
    a @ b  # the first call may allocate or pick a kernel
    times = []
    for _ in range(_PROBE_REPEATS):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return min(times)


@functools.cache
def keep_freed_memory() -> bool:
    """Make this process's allocator reuse freed memory instead of returning it to the system.

    glibc gives every allocation above 32 MB fresh pages from the kernel and returns them when
    it is freed, so each of a phase1 step's many 64 MB tensors (the 50,257 x 320 head's bf16
    copy, its gradient, the logits of a block of rows) pays a page fault for every 4 kB before
    any arithmetic, which slows a phase1 training step down (benchmarks/train_speed.py measures
    both ways; results in benchmarks/results/train_speed.md). Memory that a process has used
    stays resident until it exits; its peak is unchanged. Returns whether the setting took
    effect (only with glibc, on Linux).
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(None)
    # Large blocks then come from the heap, and the heap's free top is not given back: both
    # settings are needed. mallopt returns 1 on success.
    heap_kept = libc.mallopt(_M_TRIM_THRESHOLD, ctypes.c_int(2**31 - 1))
    return bool(heap_kept and libc.mallopt(_M_MMAP_MAX, 0))


def check_compiler(device: torch.device) -> None:
    """`torch.compile` on a CPU builds C++ kernels: without a compiler it fails at the first
    step with a long traceback, so say it before training starts. (On a GPU the kernels are
    Triton's, which finds its own C compiler.)"""
    if device.type != "cpu":
        return
    from torch._inductor import config  # slow to import: only for --compile

    compiler = config.cpp.cxx[1]  # $CXX, else g++ (clang++ on macOS)
    if shutil.which(compiler) is None:
        raise CognateError(
            f"--compile on a CPU needs the C++ compiler {compiler!r}, which is not on PATH: "
            "install it (or set CXX to another), or train without --compile"
        )
