import pytest
import torch

from cognate import hardware
from cognate.train.trainer import resolve_precision

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


def test_the_probe_times_real_products():
    assert hardware.cpu_bf16_speedup() > 0


def test_auto_precision_keeps_narrow_models_in_fp32_on_cpu(cpu_probe):
    cpu_probe(2.5)
    assert resolve_precision("auto", CPU, 64) == "fp32"
    assert resolve_precision("auto", CPU, 256) == "bf16"
