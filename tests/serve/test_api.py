"""The OpenAI-compatible API, driven with the official `openai` client against a live server."""

import openai
import pytest

import cognate
from cognate.infer.chat import ChatSession

PROMPT = "Q: What is 25 + 17? A:"


@pytest.fixture(scope="module")
def bundles(runs_dir):
    return {spec: cognate.load(runs_dir / spec / "best") for spec in ("reasoning", "memory")}


def test_models_are_the_runs_with_their_checkpoints(client, runs_dir):
    models = client.models.list().data
    assert [m.id for m in models] == ["reasoning", "memory", "speed"]
    for model in models:
        assert model.checkpoint == str(runs_dir / model.id / "best")
        assert model.specialization == model.id
        assert model.parameters > 0
        assert model.validation_exact_match == 0.25
    assert client.models.retrieve("memory").id == "memory"


def test_a_greedy_completion_is_what_the_python_api_generates(client, bundles):
    answer = client.completions.create(
        model="reasoning", prompt=PROMPT, max_tokens=8, temperature=0
    )
    [expected] = bundles["reasoning"].generate_full([PROMPT], greedy=True, max_new_tokens=8)
    [choice] = answer.choices
    assert choice.text == expected.text
    assert choice.finish_reason == ("length" if expected.finish_reason == "length" else "stop")
    assert choice.act_steps == expected.act_steps
    prompt_tokens = len(bundles["reasoning"].tokenizer.encode(PROMPT))
    assert answer.usage.prompt_tokens == prompt_tokens
    assert answer.usage.completion_tokens == len(expected.token_ids)
    assert answer.usage.total_tokens == prompt_tokens + len(expected.token_ids)


def test_several_prompts_give_one_choice_each(client, bundles):
    prompts = [PROMPT, "Q: What is 2 + 2? A:"]
    answer = client.completions.create(
        model="reasoning", prompt=prompts, max_tokens=6, temperature=0
    )
    expected = bundles["reasoning"].generate(prompts, greedy=True, max_new_tokens=6)
    assert [c.index for c in answer.choices] == [0, 1]
    assert [c.text for c in answer.choices] == expected


def test_chat_asks_what_cognate_chat_would(client, bundles):
    session = ChatSession(bundles["memory"], bundles["memory"].sampling(temperature=0))
    assert session.send("The capital of Zorvia is Belka.") is None
    first = session.send("What is the capital of Zorvia?")
    second = session.send("Q: What is 2 + 2? A:")
    messages = [
        {"role": "system", "content": "The capital of Zorvia is Belka."},
        {"role": "user", "content": "What is the capital of Zorvia?"},
    ]
    answer = client.chat.completions.create(model="memory", messages=messages, temperature=0)
    [choice] = answer.choices
    assert choice.message.role == "assistant"
    assert choice.message.content.strip() == first
    assert choice.context_only is False
    messages += [
        {"role": "assistant", "content": choice.message.content},
        {"role": "user", "content": [{"type": "text", "text": "Q: What is 2 + 2? A:"}]},
    ]
    again = client.chat.completions.create(model="memory", messages=messages, temperature=0)
    assert again.choices[0].message.content.strip() == second


def test_a_chat_statement_is_kept_as_context_not_answered(client):
    answer = client.chat.completions.create(
        model="memory", messages=[{"role": "user", "content": "The sky is green."}]
    )
    [choice] = answer.choices
    assert choice.message.content == ""
    assert choice.context_only is True
    assert choice.finish_reason == "stop"
    assert answer.usage.completion_tokens == 0


def test_streamed_text_equals_the_greedy_text(client):
    options = dict(model="speed", prompt=PROMPT, max_tokens=12, temperature=0)
    whole = client.completions.create(**options).choices[0]
    chunks = list(
        client.completions.create(**options, stream=True, stream_options={"include_usage": True})
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == whole.text
    assert [s for c in chunks if c.choices for s in c.choices[0].act_steps] == whole.act_steps
    assert chunks[-2].choices[0].finish_reason == whole.finish_reason
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == len(whole.act_steps)


def test_streamed_chat_equals_the_greedy_chat(client):
    options = dict(
        model="speed",
        messages=[{"role": "user", "content": "What is 10 - 5?"}],
        max_tokens=12,
        temperature=0,
    )
    whole = client.chat.completions.create(**options).choices[0]
    chunks = list(client.chat.completions.create(**options, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.message.content
    assert chunks[-1].choices[0].finish_reason == whole.finish_reason
    assert chunks[-1].choices[0].context_only is False


@pytest.mark.parametrize("stream", [False, True])
def test_a_stop_string_ends_the_text_before_it(client, stream):
    options = dict(model="reasoning", prompt=PROMPT, max_tokens=20, temperature=0)
    free = client.completions.create(**options).choices[0].text
    assert len(free) >= 6, "the fixture model should produce some text"
    stop = free[3:5]
    answer = client.completions.create(**options, stop=[stop, "never seen"], stream=stream)
    chunks = list(answer) if stream else [answer]
    text = "".join(c.choices[0].text for c in chunks)
    assert text == free[: free.find(stop)]
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_a_seed_makes_sampling_repeatable(client):
    def sample(seed):
        options = dict(model="memory", prompt=PROMPT, max_tokens=16, temperature=1.0, top_p=0.9)
        return client.completions.create(**options, seed=seed).choices[0].text

    assert sample(7) == sample(7)
    assert sample(7) != sample(8)


def test_max_tokens_defaults_to_what_the_context_leaves(client, bundles):
    context = bundles["reasoning"].config.max_seq_len
    prompt = "1" * (context - 5)  # digits are one token each
    prompt_tokens = len(bundles["reasoning"].tokenizer.encode(prompt))
    answer = client.completions.create(model="reasoning", prompt=prompt, temperature=0)
    assert answer.usage.completion_tokens <= context - prompt_tokens


def expect_error(call, error_type, status, param=None, code=None, text=None):
    with pytest.raises(error_type) as caught:
        call()
    error = caught.value
    assert error.status_code == status
    assert error.type in ("invalid_request_error", "server_error")
    assert error.param == param
    if code is not None:
        assert error.code == code
    if text is not None:
        assert text in error.message
    return error


def test_an_unknown_model_is_a_404(client):
    expect_error(
        lambda: client.completions.create(model="gpt-4", prompt="hi"),
        openai.NotFoundError,
        404,
        "model",
        "model_not_found",
        "reasoning, memory, speed",
    )
    expect_error(lambda: client.models.retrieve("gpt-4"), openai.NotFoundError, 404, "model")


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"temperature": 3.0}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"stop": ""}, "stop"),
        ({"n": 2}, "n"),
        ({"logprobs": 3}, "logprobs"),
        ({"presence_penalty": 0.5}, "presence_penalty"),
        ({"prompt": ""}, "prompt"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(client, options, param):
    options = {"model": "speed", "prompt": PROMPT, **options}
    expect_error(lambda: client.completions.create(**options), openai.BadRequestError, 400, param)


def test_a_prompt_longer_than_the_context_is_a_400_with_the_limit(client, bundles):
    context = bundles["reasoning"].config.max_seq_len  # the fixture runs share their shape
    long_prompt = "1" * (2 * context)
    error = expect_error(
        lambda: client.completions.create(model="speed", prompt=long_prompt),
        openai.BadRequestError,
        400,
        "prompt",
        "context_length_exceeded",
    )
    assert f"context is {context} tokens" in error.message
    expect_error(
        lambda: client.completions.create(model="speed", prompt=PROMPT, max_tokens=context),
        openai.BadRequestError,
        400,
        "max_tokens",
        "context_length_exceeded",
    )


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        ([], "messages"),
        ([{"role": "user", "content": "  "}], "messages"),
        ([{"role": "assistant", "content": "Hello."}], "messages"),
        ([{"role": "tool", "content": "x"}], "messages.0.role"),
    ],
)
def test_bad_chat_messages_are_a_400(client, messages, param):
    expect_error(
        lambda: client.chat.completions.create(model="memory", messages=messages),
        openai.BadRequestError,
        400,
        param,
    )


def test_ignore_eos_makes_every_token(client):
    options = dict(
        model="memory", prompt="Q: Is 7 greater than 3? A:", max_tokens=24, temperature=0
    )
    ended = client.completions.create(**options)
    assert ended.choices[0].finish_reason == "stop", "the fixture model ends this answer early"
    assert ended.usage.completion_tokens < 24
    going = client.completions.create(**options, extra_body={"ignore_eos": True})
    assert going.choices[0].finish_reason == "length"
    assert going.usage.completion_tokens == 24
    assert going.choices[0].text.startswith(ended.choices[0].text)
