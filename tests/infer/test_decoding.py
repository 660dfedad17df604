"""Cached decoding (KV caches + memory state, one token at a time) equals a full forward pass."""

import pytest
import torch

from cognate.model import CognateModel

pytestmark = pytest.mark.usefixtures("one_thread")


def make_model(config):
    """A random model whose memory decays fast (a = 0.5), so that its read-out is large
    enough for a wrong memory state to show at the tolerance of these tests."""
    model = CognateModel(config).eval()
    with torch.no_grad():
        model.memory.decay_logit.zero_()
    return model


def decode_cached(model, prompt, continuation, threshold=None, valid=None):
    """Logits [B, L, V] and steps [B, L] of prompt + continuation: one prefill over the
    prompt, then one cached step per continuation token."""
    out = model.infer(prompt, valid=valid, use_cache=True, threshold=threshold)
    logits, steps = [out.logits], [out.steps]
    for t in range(continuation.shape[1]):
        token = continuation[:, t : t + 1]
        out = model.infer(token, state=out.state, use_cache=True, threshold=threshold)
        logits.append(out.logits)
        steps.append(out.steps)
    assert all(k.shape[2] <= model.config.window - 1 for k, _ in out.state.layer_kv)
    return torch.cat(logits, dim=1), torch.cat(steps, dim=1)


@pytest.mark.parametrize("threshold", [0.0, None, 2.0])
@pytest.mark.parametrize("prompt_length", [3, 19])  # 19 > window (8): the prefill is windowed
def test_cached_decoding_equals_the_full_forward_pass(small_config, prompt_length, threshold):
    model = make_model(small_config)
    ids = torch.randint(0, small_config.vocab_size, (2, 3 * small_config.window + 4))
    prompt, continuation = ids[:, :prompt_length], ids[:, prompt_length:]
    cached, cached_steps = decode_cached(model, prompt, continuation, threshold)
    full = model.infer(ids, threshold=threshold)
    torch.testing.assert_close(cached, full.logits, rtol=0, atol=1e-4)
    assert torch.equal(cached_steps, full.steps)


@pytest.mark.parametrize("threshold", [None, 2.0])
def test_left_padded_batch_equals_each_prompt_alone(small_config, threshold):
    model = make_model(small_config)
    vocab, lengths, n_new = small_config.vocab_size, [3, 9, 17], 12
    prompts = [torch.randint(0, vocab, (n,)) for n in lengths]
    longest = max(lengths)
    padded = torch.zeros(len(lengths), longest, dtype=torch.long)
    valid = torch.zeros(len(lengths), longest, dtype=torch.bool)
    for row, prompt in enumerate(prompts):
        padded[row, longest - len(prompt) :] = prompt
        valid[row, longest - len(prompt) :] = True
    continuation = torch.randint(0, vocab, (len(lengths), n_new))
    batch, _ = decode_cached(model, padded, continuation, threshold, valid)
    for row, prompt in enumerate(prompts):
        alone = model.infer(torch.cat([prompt, continuation[row]])[None], threshold=threshold)
        real = batch[row, longest - len(prompt) :]
        torch.testing.assert_close(real, alone.logits[0], rtol=0, atol=1e-4)


@pytest.mark.parametrize("changed", [5, 14])  # in the prompt, in the decoded part
def test_cached_decoding_is_causal(small_config, changed):
    model = make_model(small_config)
    vocab, prompt_length = small_config.vocab_size, 10
    ids = torch.randint(0, vocab, (1, 24))
    other = ids.clone()
    other[0, changed] = (other[0, changed] + 1) % vocab
    before, _ = decode_cached(model, ids[:, :prompt_length], ids[:, prompt_length:])
    after, _ = decode_cached(model, other[:, :prompt_length], other[:, prompt_length:])
    assert torch.equal(before[:, :changed], after[:, :changed])
    assert not torch.equal(before[:, changed:], after[:, changed:])
