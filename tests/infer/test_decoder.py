"""Cached decoding (KV caches + memory state, one token at a time) equals a full forward pass."""

import dataclasses

import pytest
import torch
from torch import nn

from cognate.infer.decoder import Decoder, decoder_for
from cognate.model import CognateModel

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def make_model(with_random_taps):
    """Returns a function making a random model whose memory decays fast (a = 0.5), so that
    its read-out is large enough for a wrong memory state to show at the tolerance of these
    tests, and whose norm gains are not all 1 (decoding folds them into its matrices) and
    key/value convolutions not the identity."""

    def make(config):
        model = with_random_taps(CognateModel(config)).eval()
        with torch.no_grad():
            if model.memory is not None:
                model.memory.decay_logit.zero_()
            for module in model.modules():
                if isinstance(module, nn.RMSNorm):
                    module.weight.uniform_(0.5, 1.5)
        return model

    return make


def decode_cached(model, prompt, continuation, threshold=None, valid=None, quantize=None):
    """Logits [B, L, V] and steps [B, L] of prompt + continuation: one prefill over the
    prompt, then one cached step per continuation token."""
    out = model.infer(prompt, valid=valid, use_cache=True, threshold=threshold)
    decoder = Decoder(model, quantize)
    logits, steps = [out.logits], [out.steps]
    for t in range(continuation.shape[1]):
        step_logits, step_steps = decoder.step(continuation[:, t], out.state, threshold)
        logits.append(step_logits[:, None])
        steps.append(step_steps[:, None])
    assert all(k.shape[2] <= model.config.window for k, _ in out.state.layer_kv)
    return torch.cat(logits, dim=1), torch.cat(steps, dim=1)


@pytest.mark.parametrize("recency_heads", [0, 2])
@pytest.mark.parametrize("batch", [1, 2])  # one token halts in a loop of its own
@pytest.mark.parametrize("threshold", [0.0, None, 2.0])
@pytest.mark.parametrize("prompt_length", [3, 19])  # 19 > window (8): the prefill is windowed
def test_cached_decoding_equals_the_full_forward_pass(
    small_config, prompt_length, threshold, batch, recency_heads, make_model
):
    small_config = dataclasses.replace(small_config, recency_heads=recency_heads)
    model = make_model(small_config)
    ids = torch.randint(0, small_config.vocab_size, (batch, 3 * small_config.window + 4))
    prompt, continuation = ids[:, :prompt_length], ids[:, prompt_length:]
    cached, cached_steps = decode_cached(model, prompt, continuation, threshold)
    full = model.infer(ids, threshold=threshold)
    torch.testing.assert_close(cached, full.logits, rtol=0, atol=1e-4)
    assert torch.equal(cached_steps, full.steps)


def test_cached_decoding_with_split_and_packed_products_equals_the_full_forward_pass(
    small_config, split_products, packed_products, make_model
):
    model = make_model(small_config)
    ids = torch.randint(0, small_config.vocab_size, (2, 3 * small_config.window + 4))
    cached, _ = decode_cached(model, ids[:, :5], ids[:, 5:])
    assert Decoder(model).head.parts == 2
    torch.testing.assert_close(cached, model.infer(ids).logits, rtol=0, atol=1e-4)


@pytest.mark.parametrize(
    ("threshold", "window", "lengths", "recency_heads"),
    [
        (None, 8, [3, 9, 17], 0),
        (2.0, 8, [3, 9, 17], 0),
        (None, 64, [2, 5, 3], 0),  # 64: caches grow
        (None, 8, [3, 9, 17], 2),
    ],
)
def test_left_padded_batch_equals_each_prompt_alone(
    small_config, threshold, window, lengths, recency_heads, make_model
):
    config = dataclasses.replace(small_config, window=window, recency_heads=recency_heads)
    model = make_model(config)
    vocab, n_new = small_config.vocab_size, 12
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


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("prompt_length", [3, 19])
def test_cached_decoding_without_a_long_term_memory_equals_the_full_forward_pass(
    small_config, prompt_length, batch, make_model
):
    model = make_model(dataclasses.replace(small_config, d_mem=0))
    ids = torch.randint(0, small_config.vocab_size, (batch, 3 * small_config.window + 4))
    prompt, continuation = ids[:, :prompt_length], ids[:, prompt_length:]
    cached, cached_steps = decode_cached(model, prompt, continuation)
    full = model.infer(ids)
    torch.testing.assert_close(cached, full.logits, rtol=0, atol=1e-4)
    assert torch.equal(cached_steps, full.steps)


@pytest.mark.parametrize("recency_heads", [0, 2])
@pytest.mark.parametrize("changed", [5, 14])  # in the prompt, in the decoded part
def test_cached_decoding_is_causal(small_config, changed, recency_heads, make_model):
    model = make_model(dataclasses.replace(small_config, recency_heads=recency_heads))
    vocab, prompt_length = small_config.vocab_size, 10
    ids = torch.randint(0, vocab, (1, 24))
    other = ids.clone()
    other[0, changed] = (other[0, changed] + 1) % vocab
    before, _ = decode_cached(model, ids[:, :prompt_length], ids[:, prompt_length:])
    after, _ = decode_cached(model, other[:, :prompt_length], other[:, prompt_length:])
    assert torch.equal(before[:, :changed], after[:, :changed])
    assert not torch.equal(before[:, changed:], after[:, changed:])


# int8 needs input widths in multiples of 8, int4 of 32: d_mem 12 and 16 take the fallbacks
@pytest.mark.parametrize("d_mem", [12, 16, 32])
@pytest.mark.parametrize(("quantize", "tolerance"), [("int8", 0.02), ("int4", 0.25)])
def test_quantized_decoding_stays_close_to_fp32(
    small_config, d_mem, quantize, tolerance, make_model
):
    model = make_model(dataclasses.replace(small_config, d_mem=d_mem))
    ids = torch.randint(0, small_config.vocab_size, (2, 28))
    exact, _ = decode_cached(model, ids[:, :5], ids[:, 5:], threshold=2.0)
    approximate, _ = decode_cached(model, ids[:, :5], ids[:, 5:], 2.0, quantize=quantize)
    scale = float(exact.abs().max())
    torch.testing.assert_close(approximate, exact, rtol=0, atol=tolerance * scale)
    assert not torch.equal(approximate, exact)


def test_the_decoder_is_rebuilt_when_the_weights_or_the_config_change(small_config, make_model):
    model = make_model(small_config)
    decoder = decoder_for(model)
    assert decoder_for(model) is decoder
    assert decoder_for(model, "int8") is not decoder
    with torch.no_grad():
        model.blocks[0].mlp.down_proj.weight.mul_(2.0)
    assert decoder_for(model) is not decoder
    decoder = decoder_for(model)
    model.config = dataclasses.replace(model.config, act_threshold=2.0)
    assert decoder_for(model) is not decoder


def test_the_decoder_refuses_an_unknown_quantization_and_bf16_weights(small_config):
    model = CognateModel(small_config)
    with pytest.raises(ValueError, match="quantize"):
        Decoder(model, "int2")
    with pytest.raises(ValueError, match="fp32"):
        Decoder(model.to(torch.bfloat16))


def test_a_step_reads_every_matrix_once_and_the_head_as_the_embedding(small_config):
    model = CognateModel(small_config)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    numel = model.embed.weight.numel() + sum(p.numel() for m in linears for p in m.parameters())
    assert Decoder(model).weight_bytes == 4 * numel
    assert Decoder(model, "int4").weight_bytes < numel
