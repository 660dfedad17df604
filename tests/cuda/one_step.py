"""One training step of the tests' tiny run on this process's GPU (a rank under torchrun):
`one_step.py OUT RESULT`. Rank 0 saves the gradients and weights after the step to RESULT."""

import sys
from pathlib import Path

from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).parent.parent))
from conftest import tiny_run_options

from cognate.train.trainer import Trainer

# Two micro-batches, so that each rank's share of the targets differs from half. The
# gate-entropy regulariser is a mean over all positions, padding included: it depends on how
# rows are split between ranks, the loss without it does not.
ONE_STEP = dict(
    steps=1, grad_accum=2, lr=1e-3, warmup_steps=1, model_overrides=dict(gate_entropy_weight=0.0)
)


def grads_and_weights(trainer: Trainer) -> dict:
    found = {}
    for name, p in trainer.model.named_parameters():
        found[f"weight.{name}"] = p.detach().cpu()
        if p.grad is not None:
            found[f"grad.{name}"] = p.grad.cpu()
    return found


if __name__ == "__main__":
    trainer = Trainer(tiny_run_options(Path(sys.argv[1]), device="cuda", **ONE_STEP))
    assert trainer.train_step() is not None, "a non-finite step"
    if trainer.dist.is_main:
        save_file(grads_and_weights(trainer), sys.argv[2])
    trainer.dist.close()
