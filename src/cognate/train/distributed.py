"""Process group and device handling: one process by default, DDP under torchrun.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK; we start the process group (gloo on CPU, nccl on
CUDA) and wrap the model in DistributedDataParallel. Only rank 0 writes files.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from cognate.errors import CognateError

DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """`auto` picks CUDA when present, then MPS, then CPU; an unavailable device is an error."""
    if name not in DEVICES:
        raise CognateError(f"unknown device {name!r}; choose one of: {', '.join(DEVICES)}")
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif torch.backends.mps.is_available():
            name = "mps"
        else:
            name = "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise CognateError("--device cuda: no CUDA device is available on this machine")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if name == "mps" and not torch.backends.mps.is_available():
        raise CognateError("--device mps: MPS is not available on this machine")
    return torch.device(name)


@dataclass
class Distributed:
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, device: str = "auto") -> Distributed:
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        resolved = resolve_device(device, local_rank)
        if world_size > 1 and not dist.is_initialized():
            backend = "nccl" if resolved.type == "cuda" else "gloo"
            if resolved.type == "cuda":
                torch.cuda.set_device(resolved)
            dist.init_process_group(backend=backend)
        return cls(rank, world_size, resolved)

    def wrap(self, model: nn.Module) -> nn.Module:
        if self.world_size == 1:
            return model
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    @contextlib.contextmanager
    def no_sync(self, model: nn.Module, last: bool) -> Iterator[None]:
        """Skip the gradient all-reduce on all but the last micro-batch of an accumulation."""
        if self.world_size > 1 and not last:
            with model.no_sync():
                yield
        else:
            yield
