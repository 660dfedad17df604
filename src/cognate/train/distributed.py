"""Process group and device handling: one process by default, DDP under torchrun.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT; we start the process
group (gloo on CPU, nccl on CUDA), wrap the model in DistributedDataParallel and offer the few
collectives the trainer needs. Only rank 0 writes files.

A process that fails stops the job: torchrun ends the others and its summary names the one
that failed under "Root Cause" (`run_rank`). A process waiting on a collective learns that a
peer stopped as soon as the peer's connection closes (gloo), or after `TIMEOUT` for a peer that
hangs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.elastic.multiprocessing.errors import get_error_handler

from cognate.errors import CognateError

DEVICES = ("auto", "cpu", "cuda", "mps")
# Longest wait on a collective. Ranks other than 0 wait this long while rank 0 validates or
# writes a checkpoint, so it must cover a validation of the largest model on the slowest device.
TIMEOUT = timedelta(minutes=15)
# How long a process whose peer stopped waits for torchrun to end it (torchrun looks at its
# processes every 0.1 s by default, `--monitor-interval`).
PEER_STOPPED_WAIT = timedelta(seconds=10)

T = TypeVar("T")


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """`auto` picks CUDA when present, then MPS, then CPU; an unavailable device is an error.

    Under torchrun each process on a machine takes the CUDA device of its LOCAL_RANK.
    """
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
        count = torch.cuda.device_count()
        if local_rank >= count:
            raise CognateError(
                f"--device cuda: process {local_rank} of this machine has no GPU of its own "
                f"({count} visible); start at most {count} processes per machine "
                "(torchrun --nproc_per_node)"
            )
        return torch.device("cuda", local_rank)
    if name == "mps" and not torch.backends.mps.is_available():
        raise CognateError("--device mps: MPS is not available on this machine")
    return torch.device(name)


def per_rank_batch(global_batch: int, world_size: int) -> int:
    """Each rank's share of a global batch; a clear error when it does not divide evenly."""
    if global_batch % world_size != 0:
        raise CognateError(
            f"a global batch of {global_batch} sequences does not divide among {world_size} "
            f"processes; use a batch size that is a multiple of {world_size} (a resumed run "
            "keeps its batch size: resume it with a number of processes that divides it)"
        )
    return global_batch // world_size


@dataclass
class Distributed:
    """This process's place in the job; with world_size 1 every collective is a no-op."""

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
            if resolved.type == "mps":
                raise CognateError("--device mps: several processes need cpu or cuda")
            if resolved.type == "cuda":
                torch.cuda.set_device(resolved)
            backend = "nccl" if resolved.type == "cuda" else "gloo"
            dist.init_process_group(backend=backend, timeout=TIMEOUT)
        return cls(rank, world_size, resolved)

    def wrap(self, model: nn.Module) -> nn.Module:
        """The model that trains: DistributedDataParallel around `model` when there are ranks."""
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

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """The element-wise sum of CPU `values` over all ranks, as float64 on the CPU."""
        values = values.double()
        if self.world_size == 1:
            return values
        on_device = values.to(self.device)  # nccl reduces CUDA tensors only
        dist.all_reduce(on_device)
        return on_device.cpu()

    def from_main(self, obj: T) -> T:
        """Rank 0's `obj` on every rank (pickled; for small Python objects)."""
        if self.world_size == 1:
            return obj
        holder = [obj]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]

    def close(self) -> None:
        if self.world_size > 1 and dist.is_initialized():
            dist.destroy_process_group()


class PeerStopped(CognateError):
    """Another process of the job stopped (failed or was killed), so this one cannot go on."""


def _peer_stopped(error: Exception) -> bool:
    """Whether a collective failed because another process's connection closed or timed out."""
    return isinstance(error, dist.DistError) or (
        isinstance(error, RuntimeError) and "gloo/transport" in str(error)
    )


def run_rank(run: Callable[[], T]) -> T:
    """`run()` as one process of a torchrun job, which reports a failure to torchrun's summary.

    torchrun names as "Root Cause" the failure with the earliest time in the error file a
    process leaves, or the time torchrun saw it stop when it left none. So a `CognateError`
    leaves its one line (not a traceback) and any other error its traceback; a process that
    only lost a peer leaves nothing and waits for torchrun to end it, so that the process
    which stopped first is named, not a survivor that noticed it a moment earlier than torchrun.
    Outside torchrun this is just `run()`.
    """
    error_file = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if error_file is None:
        return run()
    handler = get_error_handler()
    handler.initialize()
    try:
        return run()
    except CognateError as error:
        # the form of torch's own error files, with the one line for the traceback
        info = {"py_callstack": str(error), "timestamp": str(int(time.time()))}
        with open(error_file, "w") as f:
            json.dump({"message": {"message": str(error), "extraInfo": info}}, f)
        raise
    except Exception as error:
        if not _peer_stopped(error):
            handler.record_exception(error)
            raise
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # torchrun's SIGTERM ends this process
    time.sleep(PEER_STOPPED_WAIT.total_seconds())
    raise PeerStopped(
        "another process of this torchrun job stopped, so this one cannot go on; torchrun's "
        'summary names it under "Root Cause"'
    )
