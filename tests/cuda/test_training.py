"""Training on a GPU: the CPU's steps, a resumed run, and DDP over NCCL."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from cognate.train.trainer import Trainer, train

pytestmark = [pytest.mark.cuda, pytest.mark.usefixtures("one_thread")]

STEPS = 3
# fp32 on both devices, summed in other orders (TF32 is off by default for fp32 products)
FP32 = dict(rel=1e-4)
# bf16 autocast: products rounded to 8 bits of mantissa (a CPU's bf16 autocast gave these
# losses within 3e-5)
BF16 = dict(rel=5e-3)


def _steps(trainer: Trainer) -> tuple[list[float], dict[str, torch.Tensor]]:
    """STEPS steps on the first batch: their losses, then the weights (on the CPU)."""
    first = trainer.data.stream.batch(0)
    trainer.data.stream.batch = lambda step, difficulty: first
    losses = [trainer.train_step()["loss"] for _ in range(STEPS)]
    return losses, {k: v.cpu() for k, v in trainer.model.state_dict().items()}


@pytest.fixture(scope="module")
def on_cpu(tmp_path_factory, tiny_run):
    return _steps(Trainer(tiny_run(tmp_path_factory.mktemp("cpu"))))


def test_training_steps_on_cuda_in_fp32_give_the_cpu_steps(on_cpu, tmp_path, tiny_run):
    losses, weights = _steps(Trainer(tiny_run(tmp_path, device="cuda")))
    cpu_losses, cpu_weights = on_cpu
    assert losses == pytest.approx(cpu_losses, **FP32)
    for name, weight in cpu_weights.items():
        torch.testing.assert_close(weights[name], weight, rtol=1e-4, atol=1e-5, msg=name)


def test_training_steps_on_cuda_in_bf16_give_the_cpu_losses_within_bf16s_precision(
    on_cpu, tmp_path, tiny_run
):
    losses, _ = _steps(Trainer(tiny_run(tmp_path, device="cuda", precision="bf16")))
    cpu_losses, _ = on_cpu
    assert losses == pytest.approx(cpu_losses, **BF16)
    assert losses[-1] < losses[0]  # it learns: the same batch, three steps


def test_a_run_on_cuda_resumed_after_a_kill_ends_where_an_uninterrupted_one_does(
    tmp_path, monkeypatch, tiny_run
):
    """The optimizer's state goes to the CPU in `last` and back to the GPU on resume (fp32:
    bf16 on a GPU is not bit-reproducible from run to run)."""
    run = dict(steps=8, save_every=4, device="cuda")
    train(tiny_run(tmp_path / "straight", **run))
    real_step = Trainer.train_step

    def dies_after_step_6(self):
        if self.step == 6:
            raise RuntimeError("simulated kill")
        return real_step(self)

    monkeypatch.setattr(Trainer, "train_step", dies_after_step_6)
    with pytest.raises(RuntimeError, match="simulated kill"):
        train(tiny_run(tmp_path / "resumed", **run))
    monkeypatch.setattr(Trainer, "train_step", real_step)
    train(tiny_run(tmp_path / "resumed", resume=True, **run))

    straight = load_file(str(tmp_path / "straight" / "final.safetensors"))
    resumed = load_file(str(tmp_path / "resumed" / "final.safetensors"))
    for name, weight in straight.items():
        torch.testing.assert_close(resumed[name], weight, rtol=1e-4, atol=1e-5, msg=name)


ONE_STEP = Path(__file__).with_name("one_step.py")


@pytest.mark.multi_gpu
def test_two_gpus_over_nccl_take_the_step_of_one_gpu_on_the_global_batch(tmp_path):
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    for name, launcher in (("one", [sys.executable]), ("two", [*torchrun, "--nproc_per_node=2"])):
        command = [*launcher, str(ONE_STEP), str(tmp_path / name), str(tmp_path / f"{name}.st")]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    one, two = (load_file(str(tmp_path / f"{name}.st")) for name in ("one", "two"))
    assert one.keys() == two.keys()
    grads = [k for k in one if k.startswith("grad.")]
    scale = max(float(one[k].abs().max()) for k in grads)
    for name, expected in one.items():
        # gradients: fp32 summed in other orders; weights: 5% of a step of lr 1e-3
        tolerance = 1e-4 * scale if name in grads else 5e-5
        torch.testing.assert_close(two[name], expected, rtol=0, atol=tolerance, msg=name)
