import json
import math

import pytest
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from torch import nn
from torch.optim import _muon
from torch.optim.lr_scheduler import LambdaLR

from cognate.checkpoint import flatten_state, unflatten_state
from cognate.model import IGNORE_INDEX, CognateModel
from cognate.optim import MuGrokfast, MuGrokfastConfig, build_optimizer, mugrokfast_config
from cognate.optim.mugrokfast import _newton_schulz_fp32


def _filtered(opt: MuGrokfast, p: nn.Parameter, grad: torch.Tensor) -> torch.Tensor:
    p.grad = grad.clone()
    opt.step()
    return p.grad


def test_grokfast_filter_follows_the_formula_step_by_step():
    alpha, lamb = 0.9, 1.5
    p, idle = nn.Parameter(torch.zeros(4)), nn.Parameter(torch.zeros(4))
    opt = MuGrokfast([], [p, idle], MuGrokfastConfig(adamw_lr=0.0, alpha=alpha, lamb=lamb))
    grads = [
        [1.0, -2.0, 0.5, 3.0],
        [0.0, 4.0, -1.0, 3.0],
        [-2.0, 0.5, 0.5, 0.0],
        [1.0, 1.0, 1.0, 1.0],
    ]
    ema = None
    for step, values in enumerate(grads):
        g = torch.tensor(values)
        out = _filtered(opt, p, g)
        if step == 0:
            torch.testing.assert_close(out, (1 + lamb) * g)  # the EMA starts at the first gradient
        ema = g.double() if ema is None else alpha * ema + (1 - alpha) * g.double()
        torch.testing.assert_close(out.double(), g.double() + lamb * ema)
    assert idle.grad is None and idle not in opt.state  # no gradient: skipped


def test_slow_gradient_is_amplified_and_fast_one_is_not():
    lamb = 2.0
    config = MuGrokfastConfig(adamw_lr=0.0, alpha=0.98, lamb=lamb)
    g = torch.tensor([1.0, -3.0, 0.25])

    p = nn.Parameter(torch.zeros(3))
    opt = MuGrokfast([], [p], config)
    for _ in range(30):
        torch.testing.assert_close(_filtered(opt, p, g), (1 + lamb) * g)

    p = nn.Parameter(torch.zeros(3))
    opt = MuGrokfast([], [p], config)
    for step in range(500):
        sign = 1.0 if step % 2 == 0 else -1.0
        ratio = _filtered(opt, p, sign * g) / (sign * g)
    # The EMA of ±g settles at ±(1 − α)/(1 + α)·g ≈ 0.01·g: the gain stays near 1, not 1 + λ.
    assert torch.all((ratio > 1.0) & (ratio < 1.03)), ratio


@pytest.mark.parametrize("shape", [(16, 16), (16, 64), (64, 16), (3, 200)])
def test_muon_update_has_near_equal_singular_values(shape):
    k = min(shape)
    u = torch.linalg.qr(torch.randn(shape[0], k)).Q
    v = torch.linalg.qr(torch.randn(shape[1], k)).Q
    grad = u @ torch.diag(torch.logspace(0, -1.5, k)) @ v.T  # condition number 31.6
    w = nn.Parameter(torch.randn(shape))
    before = w.detach().clone()
    opt = MuGrokfast([w], [], MuGrokfastConfig(muon_lr=0.1, weight_decay=0.0))
    w.grad = grad
    opt.step()
    adjusted_lr = 0.1 * 0.2 * math.sqrt(max(shape))  # adjust_lr_fn="match_rms_adamw"
    singular = torch.linalg.svdvals((before - w.detach()) / adjusted_lr)
    assert len(singular) == k
    # Newton–Schulz in bf16 with 5 quintic steps lands in roughly [0.7, 1.15], not exactly 1.
    assert singular.min() > 0.6 and singular.max() < 1.25, singular


def _lm_batches(vocab_size: int, n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(1)
    batches = []
    for _ in range(n):
        ids = torch.randint(0, vocab_size, (2, 12), generator=generator)
        labels = ids.roll(-1, dims=1)
        labels[:, -1] = IGNORE_INDEX
        batches.append((ids, labels))
    return batches


def _train(model, optimizer, scheduler, batches) -> None:
    for ids, labels in batches:
        optimizer.zero_grad()
        model(ids, labels).loss.backward()
        optimizer.step()
        scheduler.step()


def _through_checkpoint_format(obj):
    """What a `last` checkpoint does to resume state: JSON structure + safetensors tensors."""
    tensors: dict[str, torch.Tensor] = {}
    structure = json.loads(json.dumps(flatten_state(obj, "state", tensors)))
    raw = save_tensors({k: v.detach().contiguous() for k, v in tensors.items()})
    return unflatten_state(structure, load_tensors(raw))


def test_state_dict_round_trip_resumes_bit_exactly(small_config):
    config = mugrokfast_config("tiny", qk_clip_tau=2e-3)  # low enough to clip now and then
    steps = 3
    batches = _lm_batches(small_config.vocab_size, 2 * steps)

    def build(model):
        opt = build_optimizer(model, "mugrokfast", lr=0.02, weight_decay=0.1, config=config)
        return opt, LambdaLR(opt, lambda step: 1.0 / (1 + step))

    straight = CognateModel(small_config)
    initial = {k: v.clone() for k, v in straight.state_dict().items()}
    opt, scheduler = build(straight)
    _train(straight, opt, scheduler, batches)

    first = CognateModel(small_config)
    first.load_state_dict(initial)
    opt_first, scheduler_first = build(first)
    _train(first, opt_first, scheduler_first, batches[:steps])
    saved = _through_checkpoint_format(
        {
            "model": first.state_dict(),
            "optimizer": opt_first.state_dict(),
            "scheduler": scheduler_first.state_dict(),
        }
    )
    assert len(saved["optimizer"]["grokfast_ema"]) == len(list(first.parameters()))

    resumed = CognateModel(small_config)
    resumed.load_state_dict(saved["model"])
    opt_resumed, scheduler_resumed = build(resumed)
    opt_resumed.load_state_dict(saved["optimizer"])
    scheduler_resumed.load_state_dict(saved["scheduler"])
    _train(resumed, opt_resumed, scheduler_resumed, batches[steps:])

    for name, value in straight.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], value), name
    assert opt_resumed.qk_clip_count == opt.qk_clip_count > opt_first.qk_clip_count > 0
    assert [g["lr"] for g in opt_resumed.param_groups] == [g["lr"] for g in opt.param_groups]


def test_load_refuses_state_of_differently_routed_optimizer():
    a, b = nn.Parameter(torch.randn(4, 4)), nn.Parameter(torch.randn(4))
    saved = MuGrokfast([("a", a)], [("b", b)]).state_dict()
    with pytest.raises(ValueError, match="different parameters"):
        MuGrokfast([("x", a)], [("b", b)]).load_state_dict(saved)
    with pytest.raises(ValueError, match="this optimizer has"):
        MuGrokfast([("a", a)], []).load_state_dict(saved)


def _one_step(factor: float) -> tuple[float, float]:
    """Update sizes of a Muon and an AdamW parameter after one step at lr × factor."""
    generator = torch.Generator().manual_seed(3)
    w = nn.Parameter(torch.randn(8, 16, generator=generator))
    b = nn.Parameter(torch.randn(16, generator=generator))
    before = w.detach().clone(), b.detach().clone()
    opt = MuGrokfast([w], [b], MuGrokfastConfig(muon_lr=0.1, adamw_lr=0.1))
    LambdaLR(opt, lambda step: factor)
    w.grad = torch.randn(8, 16, generator=generator)
    b.grad = torch.randn(16, generator=generator)
    opt.step()
    assert opt.inner["muon"].param_groups[0]["lr"] == opt.inner["adamw"].param_groups[0]["lr"]
    return float((w.detach() - before[0]).norm()), float((b.detach() - before[1]).norm())


def test_scheduler_sets_the_step_size_of_both_halves():
    assert _one_step(0.0) == (0.0, 0.0)
    half, full = _one_step(0.5), _one_step(1.0)
    assert full[0] > 0 and full[1] > 0
    assert half[0] / full[0] == pytest.approx(0.5, rel=1e-4)  # Muon
    assert half[1] / full[1] == pytest.approx(0.5, rel=1e-4)  # AdamW


@pytest.mark.parametrize("shape", [(16, 16), (16, 64), (64, 16), (3, 200)])
def test_full_precision_newton_schulz_is_torch_muons_iteration(shape):
    grad = torch.randn(*shape)
    args = ((_muon.DEFAULT_A, _muon.DEFAULT_B, _muon.DEFAULT_C), _muon.DEFAULT_NS_STEPS, 1e-7)
    ours = _newton_schulz_fp32(grad, *args)
    torchs = _muon._zeropower_via_newtonschulz(grad, *args).float()  # computed in bf16
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours, torchs, atol=0.05, rtol=0.05)


@pytest.mark.parametrize("in_bf16", [True, False])
def test_muon_orthogonalises_in_bf16_only_when_asked_and_fast(monkeypatch, in_bf16):
    monkeypatch.setattr("cognate.optim.mugrokfast.has_fast_bf16", lambda device: True)
    seen = []
    monkeypatch.setattr(
        _muon, "_zeropower_via_newtonschulz", lambda grad, *args: seen.append(grad) or grad
    )
    p = nn.Parameter(torch.zeros(4, 4))
    config = MuGrokfastConfig(lamb=0.0, orthogonalize_in_bf16=in_bf16)
    opt = MuGrokfast([p], [], config)
    p.grad = torch.randn(4, 4)
    opt.step()
    assert len(seen) == (1 if in_bf16 else 0)  # otherwise the fp32 iteration replaced it
