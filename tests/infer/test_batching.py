"""Continuous batching: rows that join a running batch and leave it decode as they would alone."""

import dataclasses

import pytest
import torch
from torch import nn

from cognate.infer.batching import DecodingBatch
from cognate.infer.generate import generate
from cognate.infer.sampling import Sampling
from cognate.model import CognateModel

pytestmark = pytest.mark.usefixtures("one_thread")

GREEDY = Sampling(greedy=True)
LENGTHS = [5, 3, 12, 2, 9, 20]  # prompt lengths: rows 2 and 5 are longer than the batch so far
JOINS = {0: [0, 1], 2: [2], 3: [3], 6: [4, 5]}  # step -> rows joining before it
NEW_TOKENS = [10, 4, 9, 12, 3, 8]  # each row leaves after these


@pytest.fixture
def make_model(with_random_taps):
    def make(config):
        model = with_random_taps(CognateModel(config)).eval()
        with torch.no_grad():
            model.memory.decay_logit.zero_()  # a fast decay: a wrong memory state shows
            for module in model.modules():
                if isinstance(module, nn.RMSNorm):
                    module.weight.uniform_(0.5, 1.5)
        return model

    return make


@pytest.mark.parametrize(
    ("window", "recency_heads"),
    [(8, 0), (64, 0), (8, 2)],  # 8: the rings wrap; 64: they grow
)
def test_rows_joining_and_leaving_decode_as_they_would_alone(
    small_config, window, recency_heads, make_model
):
    config = dataclasses.replace(small_config, window=window, recency_heads=recency_heads)
    model = make_model(config)
    prompts = [torch.randint(0, config.vocab_size, (n,)).tolist() for n in LENGTHS]
    batch = DecodingBatch(model)
    rows: list[int] = []  # which prompt each row of the batch continues
    logits = {i: [] for i in range(len(prompts))}
    steps = {i: [] for i in range(len(prompts))}
    tokens = {i: [] for i in range(len(prompts))}
    step = 0
    while rows or step <= max(JOINS):
        if step in JOINS:
            batch.join([prompts[i] for i in JOINS[step]], [GREEDY] * len(JOINS[step]))
            rows += JOINS[step]
        picked, picked_steps = batch.pick()
        for row, prompt in enumerate(rows):
            logits[prompt].append(batch.logits[row])
            steps[prompt].append(picked_steps[row])
            tokens[prompt].append(picked[row])
        keep = [row for row, p in enumerate(rows) if len(tokens[p]) < NEW_TOKENS[p]]
        rows = [rows[row] for row in keep]
        batch.advance(keep)
        step += 1
    assert len(batch) == 0
    for i, prompt in enumerate(prompts):
        sequence = torch.tensor(prompt + tokens[i][:-1])[None]
        alone = model.infer(sequence)
        torch.testing.assert_close(
            torch.stack(logits[i]), alone.logits[0, len(prompt) - 1 :], rtol=0, atol=1e-4
        )
        assert steps[i] == alone.steps[0, len(prompt) - 1 :].tolist()


@pytest.mark.parametrize("quantize", [None, "int8", "int4"])
def test_each_row_samples_with_its_own_settings(small_config, make_model, quantize):
    model = make_model(small_config)
    prompts = [torch.randint(0, small_config.vocab_size, (n,)).tolist() for n in (6, 4, 6)]
    samplings = [
        Sampling(temperature=1.0, seed=3, max_new_tokens=8, quantize=quantize),
        Sampling(greedy=True, max_new_tokens=8, quantize=quantize),
        Sampling(temperature=1.0, seed=4, top_k=5, max_new_tokens=8, quantize=quantize),
    ]
    batch = DecodingBatch(model, quantize)
    batch.join(prompts, samplings)
    produced = [[] for _ in prompts]
    for _ in range(8):
        for row, token in enumerate(batch.pick()[0]):
            produced[row].append(token)
        batch.advance(range(len(prompts)))
    eos = small_config.vocab_size  # never produced: every generation runs 8 tokens
    for prompt, sampling, tokens in zip(prompts, samplings, produced, strict=True):
        [alone] = generate(model, [prompt], sampling, eos, lambda ids: "")
        assert tokens == alone.token_ids
