"""Which parameters each optimizer half gets, and the optimizer the trainer asks for by name."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from torch import nn
from torch.optim import Optimizer

from cognate.config import OPTIMIZERS
from cognate.errors import CognateError
from cognate.model.attention import ShortConv
from cognate.optim.mugrokfast import MuGrokfast, MuGrokfastConfig, fused_adamw
from cognate.optim.qk_clip import enable_qk_clip

MUON_SCOPES = ("blocks", "memory", "gate", "recursion")  # top-level modules with hidden matrices


def param_groups_for(model: nn.Module) -> dict[str, list[str]]:
    """Names of the trainable parameters by group; frozen parameters are in none.

    "muon": the weights of the Linear layers of the backbone blocks, memory, gate and
    recursion; "adamw_decay": any other matrix (the ACT head's projection); "adamw_no_decay":
    the embedding (which is also the tied LM head), norms, biases, gains, the LTM decay vector,
    the key/value convolutions' taps (per-channel weights, like gains).
    """
    hidden = {
        f"{name}.weight"
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and name.split(".")[0] in MUON_SCOPES
    }
    modules = dict(model.named_modules())
    not_matrices = {f"{n}.weight" for n, m in modules.items() if isinstance(m, nn.Embedding)}
    not_matrices |= {f"{n}.taps" for n, m in modules.items() if isinstance(m, ShortConv)}
    groups: dict[str, list[str]] = {"muon": [], "adamw_decay": [], "adamw_no_decay": []}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name in hidden:
            groups["muon"].append(name)
        elif p.ndim >= 2 and name not in not_matrices:
            groups["adamw_decay"].append(name)
        else:
            groups["adamw_no_decay"].append(name)
    return groups


def build_optimizer(
    model: nn.Module,
    name: str,
    lr: float | None = None,
    weight_decay: float | None = None,
    config: MuGrokfastConfig | None = None,
) -> Optimizer:
    """The optimizer `name` for `model`: "adamw", "mugrokfast" or "muon" (MuGrokfast, λ = 0).

    lr and weight_decay, when given, replace the config's (lr sets both halves' base lr; see
    MuGrokfastConfig.adjust_lr_fn). config defaults to the tiny preset's. Weight decay applies
    to matrices only, never to the embedding, norms, biases or gains. For "mugrokfast" and
    "muon" with config.qk_clip_tau set, QK-clip recording is switched on in `model`.
    """
    if name not in OPTIMIZERS:
        raise CognateError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    overrides: dict[str, Any] = {}
    if lr is not None:
        overrides.update(muon_lr=lr, adamw_lr=lr)
    if weight_decay is not None:
        overrides["weight_decay"] = weight_decay
    if name == "muon":
        overrides["lamb"] = 0.0
    config = replace(config or MuGrokfastConfig(), **overrides)

    params = dict(model.named_parameters())
    names = param_groups_for(model)

    def group(label: str, *keys: str, decay: bool) -> dict[str, Any]:
        return {
            "params": [(n, params[n]) for key in keys for n in names[key]],
            "weight_decay": config.weight_decay if decay else 0.0,
            "name": label,
        }

    optimizer: Optimizer
    if name == "adamw":
        optimizer = fused_adamw(
            [
                group("decay", "muon", "adamw_decay", decay=True),
                group("no_decay", "adamw_no_decay", decay=False),
            ],
            lr=config.adamw_lr,
            betas=config.betas,
            eps=config.eps,
        )
    else:
        optimizer = MuGrokfast(
            [group("muon", "muon", decay=True)],
            [
                group("adamw_decay", "adamw_decay", decay=True),
                group("adamw_no_decay", "adamw_no_decay", decay=False),
            ],
            config,
            attention=enable_qk_clip(model) if config.qk_clip_tau is not None else (),
        )
    routed = [id(p) for g in optimizer.param_groups for p in g["params"]]
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert len(routed) == len(set(routed)) and set(routed) == trainable, "parameter routing"
    return optimizer
