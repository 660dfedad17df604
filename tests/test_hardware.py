import platform
import subprocess
import sys

import pytest
import torch

from cognate import hardware
from cognate.errors import CognateError
from cognate.hardware import resolve_precision

CPU = torch.device("cpu")


@pytest.fixture
def cpu_probe(monkeypatch):
    """Pretend the CPU has bf16 instructions and its bf16 products run `speedup` x fp32."""

    def pretend(speedup: float) -> None:
        hardware._cpu_has_fast_bf16.cache_clear()
        monkeypatch.setattr(hardware, "cpu_supports_bf16", lambda: True)
        monkeypatch.setattr(hardware, "cpu_bf16_speedup", lambda: speedup)

    yield pretend
    hardware._cpu_has_fast_bf16.cache_clear()


def test_auto_precision_is_fp32_on_a_cpu_whose_bf16_is_slower_despite_its_flags(cpu_probe):
    cpu_probe(0.6)
    assert resolve_precision("auto", CPU, 320) == "fp32"


def test_auto_precision_is_bf16_on_a_cpu_whose_bf16_is_measured_fast(cpu_probe):
    cpu_probe(2.5)
    assert resolve_precision("auto", CPU, 320) == "bf16"


def test_an_explicit_precision_is_kept_whatever_the_hardware(cpu_probe):
    cpu_probe(0.6)
    assert resolve_precision("bf16", CPU, 320) == "bf16"


def test_the_speedup_is_the_fp32_time_over_the_bf16_time(monkeypatch):
    seconds = {torch.float32: 3.0, torch.bfloat16: 1.5}
    monkeypatch.setattr(hardware, "_best_time", lambda a, b: seconds[a.dtype])
    assert hardware.cpu_bf16_speedup() == 2.0


def test_auto_precision_keeps_narrow_models_in_fp32_on_cpu(cpu_probe):
    cpu_probe(2.5)
    assert resolve_precision("auto", CPU, 64) == "fp32"
    assert resolve_precision("auto", CPU, 256) == "bf16"


@pytest.mark.parametrize(
    ("precision", "dtype"), [("bf16", torch.bfloat16), ("fp32", torch.float32)]
)
def test_autocast_computes_products_in_the_precision_it_is_given(precision, dtype):
    with hardware.autocast(precision, CPU):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == dtype


RSS_AFTER_A_FREED_TENSOR = """
import sys, torch
from cognate.hardware import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def rss_mb():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS"))
    return int(line.split()[1]) / 1024
before = rss_mb()
block = torch.ones(64 * 2**20)  # 256 MB, every page touched
del block
print(rss_mb() - before)
"""


def resident_mb_after_a_freed_tensor(mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", RSS_AFTER_A_FREED_TENSOR, mode],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_keep_freed_memory_keeps_a_large_freed_tensor_for_reuse():
    # glibc's default hands a 256 MB block back when it is freed; kept, it stays resident
    assert resident_mb_after_a_freed_tensor("default") < 64
    assert resident_mb_after_a_freed_tensor("keep") > 192


def test_compiling_on_a_cpu_without_a_cpp_compiler_is_refused_in_one_line(monkeypatch):
    hardware.check_compiler(torch.device("cpu"))  # this machine has one
    monkeypatch.setattr(hardware.shutil, "which", lambda name: None)
    with pytest.raises(CognateError, match="--compile on a CPU needs the C\\+\\+ compiler"):
        hardware.check_compiler(torch.device("cpu"))
    hardware.check_compiler(torch.device("cuda"))  # not checked: Triton looks for its own
