"""MuGrokfast: a Grokfast slow-gradient filter in front of Muon and AdamW.

Every step, for every parameter with a gradient (ema_1 = g_1):

    ema ← α·ema + (1 − α)·g,     g ← g + λ·ema

which amplifies the slow (low-frequency) component of the gradient. Then `torch.optim.Muon`
(Nesterov momentum, Newton–Schulz orthogonalisation) updates the 2-D hidden matrices and
`torch.optim.AdamW` everything else, and an optional QK-clip rescales attention heads whose
logits grew past τ. The inner optimizers' param-group dicts *are* this optimizer's
`param_groups`, so one lr scheduler drives both halves, and one `state_dict` holds both inner
states, the filter's EMAs and the QK-clip count.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor
from torch.optim import AdamW, Muon, Optimizer, _muon
from torch.optim.optimizer import ParamsT

from cognate.errors import CognateError
from cognate.hardware import has_fast_bf16
from cognate.model.attention import Attention
from cognate.optim.qk_clip import qk_clip


@dataclass(frozen=True)
class MuGrokfastConfig:
    """Hyper-parameters of MuGrokfast. The defaults are the `tiny` preset's."""

    muon_lr: float = 3e-3
    adamw_lr: float = 3e-3
    weight_decay: float = 0.1  # decoupled; Muon matrices and AdamW's "decay" group only
    momentum: float = 0.95  # Muon's Nesterov momentum
    # Muon scales each matrix's lr by 0.2·√max(rows, cols), so that its update RMS matches
    # AdamW's (Moonshot, "Muon is Scalable for LLM Training"): one lr then fits both halves.
    adjust_lr_fn: str = "match_rms_adamw"
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    alpha: float = 0.98  # Grokfast EMA decay
    lamb: float = 2.0  # Grokfast amplification of the slow component; 0 turns the filter off
    qk_clip_tau: float | None = None  # max attention logit per head; None: no QK-clip
    # Muon's Newton–Schulz in bf16 where bf16 products are fast; False: always fp32 (fp32
    # training, where runs must be reproducible across process counts to fp32 rounding).
    orthogonalize_in_bf16: bool = True

    def __post_init__(self) -> None:
        checks = {
            "learning rates must be >= 0": self.muon_lr >= 0 and self.adamw_lr >= 0,
            "weight_decay must be >= 0": self.weight_decay >= 0,
            "alpha must be in [0, 1)": 0 <= self.alpha < 1,
            "lamb must be >= 0": self.lamb >= 0,
            "qk_clip_tau must be > 0 or None": self.qk_clip_tau is None or self.qk_clip_tau > 0,
        }
        for message, ok in checks.items():
            if not ok:
                raise CognateError(f"invalid MuGrokfastConfig: {message}")


MUGROKFAST_PRESETS: dict[str, MuGrokfastConfig] = {
    # A small model, a few thousand steps on 2 CPU cores. No QK-clip: recording the logits
    # costs an extra q·kᵀ per attention call, and such short runs do not grow large logits.
    "tiny": MuGrokfastConfig(),
    # The seed's 32M-parameter shape: a lower lr, and Kimi K2's τ = 100 as a safety net.
    "phase1": MuGrokfastConfig(muon_lr=1e-3, adamw_lr=1e-3, qk_clip_tau=100.0),
}


def mugrokfast_config(preset: str, **overrides: Any) -> MuGrokfastConfig:
    """The MuGrokfast defaults for a model preset (`tiny`, `phase1`), with overrides."""
    if preset not in MUGROKFAST_PRESETS:
        raise CognateError(
            f"unknown preset {preset!r}; choose one of: {', '.join(MUGROKFAST_PRESETS)}"
        )
    return replace(MUGROKFAST_PRESETS[preset], **overrides)


def _newton_schulz_fp32(
    grad: Tensor, ns_coefficients: tuple[float, float, float], ns_steps: int, eps: float
) -> Tensor:
    """Muon's quintic Newton–Schulz orthogonalisation, computed in the gradient's precision."""
    a, b, c = ns_coefficients
    wide = grad.T if grad.shape[0] > grad.shape[1] else grad
    x = wide / wide.norm().clamp(min=eps)
    for _ in range(ns_steps):
        gram = x @ x.T
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x.T if grad.shape[0] > grad.shape[1] else x


@contextlib.contextmanager
def _newton_schulz_in_full_precision() -> Iterator[None]:
    """torch.optim.Muon orthogonalises in bf16, which is far slower than fp32 on CPUs without
    fast bf16 matmuls (benchmarks/RESULTS.md, "Precision"), and not what fp32 training asks
    for; for the duration of a step, let it use the fp32 iteration."""
    original = _muon._zeropower_via_newtonschulz
    _muon._zeropower_via_newtonschulz = _newton_schulz_fp32
    try:
        yield
    finally:
        _muon._zeropower_via_newtonschulz = original


def fused_adamw(params: ParamsT, **options: Any) -> AdamW:
    """`torch.optim.AdamW` with its fused kernel (CPU, CUDA, MPS): one pass over each parameter
    instead of a dozen operations per parameter (benchmarks/RESULTS.md, "Training speed")."""
    return AdamW(params, fused=True, **options)


class MuGrokfast(Optimizer):
    """Grokfast filter, then Muon on `muon_params` and AdamW on `adamw_params`, then QK-clip.

    Each half takes what torch optimizers take (tensors, (name, tensor) pairs or group dicts,
    named or unnamed consistently) and may be empty; the config gives its default lr and
    weight decay. `attention` are the modules QK-clip watches (see `enable_qk_clip`); it runs
    after each step when `config.qk_clip_tau` is set. After `step()` every `p.grad` holds the
    filtered gradient.
    """

    def __init__(
        self,
        muon_params: ParamsT,
        adamw_params: ParamsT,
        config: MuGrokfastConfig | None = None,
        attention: Sequence[Attention] = (),
    ) -> None:
        self.config = config = config or MuGrokfastConfig()
        self.attention = list(attention)
        self.qk_clip_count = 0  # heads clipped since the start of training (in state_dict)
        self.last_qk_clip_count = 0  # heads clipped by the last step
        self.inner: dict[str, Optimizer] = {}
        muon_params, adamw_params = list(muon_params), list(adamw_params)
        if muon_params:
            self.inner["muon"] = Muon(
                muon_params,
                lr=config.muon_lr,
                weight_decay=config.weight_decay,
                momentum=config.momentum,
                adjust_lr_fn=config.adjust_lr_fn,
            )
        if adamw_params:
            self.inner["adamw"] = fused_adamw(
                adamw_params,
                lr=config.adamw_lr,
                betas=config.betas,
                eps=config.eps,
                weight_decay=config.weight_decay,
            )
        # Registers the inner group dicts themselves (not copies) as this optimizer's groups.
        super().__init__(self._inner_groups(), defaults={})

    def _inner_groups(self) -> list[dict[str, Any]]:
        return [group for opt in self.inner.values() for group in opt.param_groups]

    def _params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Filter the gradients, step Muon and AdamW, then QK-clip. Returns closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if self.config.lamb > 0:
            self._filter_gradients()
        if "adamw" in self.inner:
            self.inner["adamw"].step()
        if "muon" in self.inner:
            muon = self.inner["muon"]
            device = muon.param_groups[0]["params"][0].device
            bf16 = self.config.orthogonalize_in_bf16 and has_fast_bf16(device)
            with contextlib.nullcontext() if bf16 else _newton_schulz_in_full_precision():
                muon.step()
        if self.config.qk_clip_tau is not None and self.attention:
            self.last_qk_clip_count = qk_clip(self.attention, self.config.qk_clip_tau)
            self.qk_clip_count += self.last_qk_clip_count
        return loss

    def _filter_gradients(self) -> None:
        alpha, lamb = self.config.alpha, self.config.lamb
        for p in self._params():
            if p.grad is None:
                continue
            state = self.state[p]
            if "grokfast_ema" not in state:
                state["grokfast_ema"] = p.grad.clone()
            else:
                state["grokfast_ema"].mul_(alpha).add_(p.grad, alpha=1 - alpha)
            p.grad.add_(state["grokfast_ema"], alpha=lamb)

    def state_dict(self) -> dict[str, Any]:
        """Inner optimizer states, Grokfast EMAs (by parameter index) and the QK-clip count."""
        index = {p: i for i, p in enumerate(self._params())}
        return {
            "inner": {name: opt.state_dict() for name, opt in self.inner.items()},
            "grokfast_ema": {index[p]: s["grokfast_ema"] for p, s in self.state.items()},
            "qk_clip_count": self.qk_clip_count,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a `state_dict()` of an optimizer built the same way (same groups and names)."""
        saved = state_dict["inner"]
        if list(saved) != list(self.inner):
            raise ValueError(f"state holds {list(saved)}, this optimizer has {list(self.inner)}")
        for name, opt in self.inner.items():  # check everything before changing anything
            saved_names = [g.get("param_names") for g in saved[name]["param_groups"]]
            if saved_names != [g.get("param_names") for g in opt.param_groups]:
                raise ValueError(f"saved {name} parameter groups hold different parameters")
        for name, opt in self.inner.items():
            opt.load_state_dict(saved[name])
        self.param_groups = self._inner_groups()  # the inner optimizers made new group dicts
        params = self._params()
        self.state = defaultdict(dict)
        for i, ema in state_dict["grokfast_ema"].items():
            p = params[int(i)]
            self.state[p]["grokfast_ema"] = ema.to(device=p.device, dtype=p.dtype)
        self.qk_clip_count = state_dict["qk_clip_count"]
