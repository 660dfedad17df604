"""Decoding on a GPU: a model trained there answers as it does on the CPU."""

import pytest
import torch

from cognate import load
from cognate.evaluate.suites import heldout_suite, run_items
from cognate.train.trainer import train

pytestmark = [pytest.mark.cuda, pytest.mark.usefixtures("one_thread")]


@pytest.fixture(scope="module")
def trained_on_cuda(tmp_path_factory, tiny_run):
    """`best` of a short bf16 run on the GPU, as benchmarks/gpu_check.sh trains."""
    out = tmp_path_factory.mktemp("run")
    train(tiny_run(out, steps=20, device="cuda", precision="bf16"))
    return out / "best"


def test_a_checkpoint_written_on_cuda_gives_the_same_logits_on_both_devices(trained_on_cuda):
    on_cpu, on_cuda = load(trained_on_cuda), load(trained_on_cuda, device="cuda")
    ids = torch.tensor([on_cpu.tokenizer.encode("Q: What is 25 + 17? A: 42")])
    with torch.no_grad():
        expected = on_cpu.model(ids)
        found = on_cuda.model(ids.cuda()).cpu()
    torch.testing.assert_close(found, expected, rtol=1e-4, atol=1e-4)


def test_greedy_answers_on_cuda_are_the_cpus(trained_on_cuda):
    """Batches of 32 left-padded prompts, each token halting at its own recursion step."""
    items = heldout_suite("reasoning", n=64)
    answers = {}
    for device in ("cpu", "cuda"):
        bundle = load(trained_on_cuda, device=device)
        answers[device] = run_items(bundle.model, bundle.tokenizer, items)
    for cpu, cuda in zip(answers["cpu"], answers["cuda"], strict=True):
        assert (cuda.output, cuda.act_steps) == (cpu.output, cpu.act_steps), cpu.prompt
