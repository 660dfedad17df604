"""Generation through the Python API: sampling options, halting, stop strings, bad inputs."""

import warnings

import pytest
import torch

import cognate
from cognate.errors import CognateError
from cognate.infer.decoder import Decoder
from cognate.infer.generate import fit_prompts, generate
from cognate.infer.sampling import Sampling

pytestmark = pytest.mark.usefixtures("one_thread")

PROMPT = "Q: What is 25 + 17? A:"
PROMPTS = ["Q: What is 2 + 2? A:", "The sky is blue. Q: What color is the sky? A:", "Q: Hi? A:"]


@pytest.fixture(scope="module")
def bundle(tiny_checkpoint):
    return cognate.load(tiny_checkpoint)


def run(bundle, prompts, **sampling):
    return bundle.generate_full(prompts, **sampling)


def test_api_returns_a_str_for_a_str_and_a_list_for_a_list(bundle):
    assert isinstance(bundle.generate(PROMPT, max_new_tokens=5), str)
    texts = bundle.generate(PROMPTS, max_new_tokens=5)
    assert isinstance(texts, list)
    assert len(texts) == len(PROMPTS)
    assert all(isinstance(text, str) for text in texts)
    assert bundle.generate([]) == []
    ids = torch.randint(0, bundle.config.vocab_size, (2, 7))
    assert bundle.model(ids).shape == (2, 7, bundle.config.vocab_size)


def test_greedy_is_deterministic_and_equals_temperature_zero(bundle):
    first = run(bundle, PROMPTS, greedy=True, max_new_tokens=12)
    again = run(bundle, PROMPTS, greedy=True, max_new_tokens=12)
    zero = run(bundle, PROMPTS, temperature=0.0, max_new_tokens=12)
    assert [g.token_ids for g in first] == [g.token_ids for g in again]
    assert [g.token_ids for g in first] == [g.token_ids for g in zero]


def test_a_batch_gives_each_prompt_what_it_gets_alone(bundle):
    for options in ({"greedy": True}, {"greedy": True, "repetition_penalty": 0.05}):
        together = run(bundle, PROMPTS, max_new_tokens=8, **options)
        for prompt, generation in zip(PROMPTS, together, strict=True):
            [alone] = run(bundle, [prompt], max_new_tokens=8, **options)
            assert generation.token_ids == alone.token_ids


def test_a_longer_generation_never_changes_the_tokens_already_emitted(bundle):
    [short] = run(bundle, [PROMPT], greedy=True, max_new_tokens=6)
    [long] = run(bundle, [PROMPT], greedy=True, max_new_tokens=16)
    assert long.token_ids[: len(short.token_ids)] == short.token_ids


def test_the_same_seed_gives_the_same_sample(bundle):
    samples = [
        run(bundle, [PROMPT], temperature=1.0, seed=seed, max_new_tokens=20)[0].token_ids
        for seed in (1, 1, 2)
    ]
    assert samples[0] == samples[1]
    assert samples[0] != samples[2]


@pytest.mark.parametrize("option", [{"top_k": 1}, {"top_p": 1e-6}])
def test_top_k_one_and_a_tiny_top_p_equal_greedy(bundle, option):
    greedy = run(bundle, PROMPTS, greedy=True, max_new_tokens=12)
    sampled = run(bundle, PROMPTS, temperature=1.5, seed=3, max_new_tokens=12, **option)
    assert [g.token_ids for g in sampled] == [g.token_ids for g in greedy]


def test_a_stop_string_ends_the_text_before_it(bundle):
    [free] = run(bundle, [PROMPT], greedy=True, max_new_tokens=20)
    assert len(free.text) >= 6, "the fixture model should produce some text"
    stop = free.text[3:5]
    [stopped] = run(bundle, [PROMPT], greedy=True, max_new_tokens=20, stop=(stop,))
    assert stopped.finish_reason == "stop"
    assert stopped.text == free.text[: free.text.find(stop)]
    streamed = "".join(bundle.stream(PROMPT, greedy=True, max_new_tokens=20, stop=(stop,)))
    assert streamed == stopped.text


def test_streamed_pieces_join_to_the_generated_text(bundle):
    pieces = list(bundle.stream(PROMPT, greedy=True, max_new_tokens=15))
    assert len(pieces) > 1
    assert "".join(pieces) == bundle.generate(PROMPT, greedy=True, max_new_tokens=15)


@pytest.mark.parametrize("quantize", ["int8", "int4"])
def test_a_bundle_loaded_with_quantized_weights_decodes_with_them(
    tiny_checkpoint, quantize, monkeypatch
):
    with pytest.raises(CognateError, match="quantize"):
        cognate.load(tiny_checkpoint, quantize="int2")
    quantized = cognate.load(tiny_checkpoint, quantize=quantize)
    product_dtypes = []
    step = Decoder.step

    def recorded_step(decoder, *args, **kwargs):
        product_dtypes.append(decoder.dtype)
        return step(decoder, *args, **kwargs)

    monkeypatch.setattr(Decoder, "step", recorded_step)
    run(quantized, [PROMPT], greedy=True, max_new_tokens=4)
    run(quantized, [PROMPT], greedy=True, max_new_tokens=4, quantize=None)
    assert product_dtypes == [torch.bfloat16] * 3 + [torch.float32] * 3


def test_max_new_tokens_must_leave_room_for_the_prompt(bundle):
    with pytest.raises(CognateError, match="leaves no room"):
        bundle.generate(PROMPT, max_new_tokens=bundle.config.max_seq_len)


def test_an_empty_prompt_is_refused(bundle):
    with pytest.raises(CognateError, match="prompt 1 is empty"):
        bundle.generate("")


def test_a_too_long_prompt_keeps_its_last_tokens_with_a_warning(bundle):
    tokenizer, max_new = bundle.tokenizer, 10
    room = bundle.config.max_seq_len - max_new
    ids = tokenizer.encode("The ball of Mira is red. " * 8 + PROMPT)
    assert len(ids) > room
    with pytest.warns(UserWarning, match="truncated from the left"):
        fitted, truncated = fit_prompts([ids], bundle.config.max_seq_len, max_new)
    assert fitted == [ids[-room:]]
    assert truncated == [True]
    settings = Sampling(greedy=True, max_new_tokens=max_new)
    with pytest.warns(UserWarning, match="truncated from the left"):
        [long] = generate(bundle.model, [ids], settings, tokenizer.eos_id, tokenizer.decode)
    [kept] = generate(bundle.model, [ids[-room:]], settings, tokenizer.eos_id, tokenizer.decode)
    assert long.prompt_truncated
    assert not kept.prompt_truncated
    assert long.token_ids == kept.token_ids


def test_a_wider_context_keeps_a_prompt_longer_than_max_seq_len_whole(bundle):
    """max_seq_len bounds what the CLI accepts, not the model: a caller may decode past it."""
    tokenizer, settings = bundle.tokenizer, Sampling(greedy=True, max_new_tokens=10)
    ids = tokenizer.encode("The ball of Mira is red. " * 30 + PROMPT)
    assert len(ids) > bundle.config.max_seq_len
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a truncation would warn
        [whole] = generate(
            bundle.model, [ids], settings, tokenizer.eos_id, tokenizer.decode, len(ids) + 10
        )
    assert not whole.prompt_truncated
    assert len(whole.token_ids) >= 1


@pytest.mark.parametrize(("threshold", "halts_at"), [(0.0, "the first step"), (1.5, "T_max")])
def test_the_halting_threshold_sets_the_recursion_steps(bundle, threshold, halts_at):
    expected = 1 if halts_at == "the first step" else bundle.config.t_max
    generations = run(bundle, PROMPTS, greedy=True, max_new_tokens=10, act_threshold=threshold)
    assert all(g.act_steps and set(g.act_steps) == {expected} for g in generations)


def test_act_steps_are_those_the_model_takes_for_each_token(bundle):
    generations = run(bundle, PROMPTS, greedy=True, max_new_tokens=10)
    for prompt, generation in zip(PROMPTS, generations, strict=True):
        prompt_ids = bundle.tokenizer.encode(prompt)
        ids = torch.tensor([prompt_ids + generation.token_ids])
        steps = bundle.model.infer(ids).steps[0]  # the steps behind each next token
        new = len(generation.token_ids)
        assert steps[len(prompt_ids) - 1 :][:new].tolist() == generation.act_steps
