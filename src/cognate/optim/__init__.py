"""Optimizers: MuGrokfast (Grokfast filter x Muon + AdamW, optional QK-clip) and plain AdamW."""

from cognate.optim.build import OPTIMIZERS, build_optimizer, param_groups_for
from cognate.optim.mugrokfast import MuGrokfast, MuGrokfastConfig, mugrokfast_config
from cognate.optim.qk_clip import enable_qk_clip, qk_clip

__all__ = [
    "OPTIMIZERS",
    "MuGrokfast",
    "MuGrokfastConfig",
    "build_optimizer",
    "enable_qk_clip",
    "mugrokfast_config",
    "param_groups_for",
    "qk_clip",
]
