"""The OpenAI-compatible API: GET /v1/models, POST /v1/completions and /v1/chat/completions.

Requests take OpenAI's fields. Unknown fields are ignored (as vLLM's and llama.cpp's servers
do); fields the models cannot honour (n > 1, logprobs, tools, penalties, ...) are refused.
max_tokens defaults to cognate's 50, or what the context leaves; temperature to cognate's 0.7.
A prompt that does not fit the context with max_tokens is refused (code
context_length_exceeded), never cut. Extensions: `top_k`, `repetition_penalty` and
`ignore_eos` (for load tests: every max_tokens token is made) in requests, as in vLLM; in every
choice `act_steps`, the recursion steps behind each generated token (in
a streamed chunk: of the chunk's tokens); in a chat choice `context_only`, true when the last
user line is a statement, which the model keeps as context instead of answering it.

Chat messages become the prompt `cognate chat` would send (`cognate.infer.chat`): each line of
a system or user message is a statement (context) or a question ("Q: ... A:"), an assistant
message answers the question before it, and the last user line is the question asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter
from fastapi import Request as HTTPRequest
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cognate.infer.chat import ANSWER_STOP, ChatSession, as_question
from cognate.infer.sampling import Sampling
from cognate.serve.engine import Event, Failed, Finished, Piece, Request
from cognate.serve.errors import APIError
from cognate.serve.runs import ServedRun

MAX_STOPS = 4  # as OpenAI
MAX_PROMPTS = 16  # prompts of one completions request
MAX_BODY_BYTES = 4 << 20  # far above any prompt a model's context holds
# Fields clients send that the models cannot honour, with the values that ask for nothing
UNSUPPORTED: dict[str, tuple[Any, ...]] = {
    "n": (1,),
    "best_of": (1,),
    "echo": (False,),
    "suffix": ("",),
    "logprobs": (False,),
    "top_logprobs": (0,),
    "logit_bias": ({},),
    "frequency_penalty": (0,),
    "presence_penalty": (0,),
    "tools": ([],),
    "functions": ([],),
    "tool_choice": ("none",),
    "response_format": ({"type": "text"},),
}
STRICT = ConfigDict(strict=True, allow_inf_nan=False, extra="ignore")


class StreamOptions(BaseModel):
    model_config = STRICT
    include_usage: bool = False


class GenerationRequest(BaseModel):
    """The fields /v1/completions and /v1/chat/completions share."""

    model_config = STRICT
    model: str
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    top_k: int | None = Field(None, ge=1)
    repetition_penalty: float | None = Field(None, gt=0)
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=-(2**63), lt=2**64)  # what torch's generators take
    stream: bool = False
    stream_options: StreamOptions | None = None
    ignore_eos: bool = False

    @field_validator("stop")
    @classmethod
    def _stop_strings(cls, stop: str | list[str] | None) -> str | list[str] | None:
        stops = [stop] if isinstance(stop, str) else stop or []
        if len(stops) > MAX_STOPS or not all(stops):
            raise ValueError(f"give at most {MAX_STOPS} stop strings, none of them empty")
        return stop

    def requested_max_tokens(self) -> int | None:
        return self.max_tokens

    def sampling(self, max_new_tokens: int, stops: tuple[str, ...] = ()) -> Sampling:
        """The request's sampling settings; what it leaves out takes `Sampling`'s defaults."""
        given = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "repetition_penalty": self.repetition_penalty,
            "seed": self.seed,
        }
        own = [self.stop] if isinstance(self.stop, str) else self.stop or []
        return Sampling(
            max_new_tokens=max_new_tokens,
            stop=(*stops, *own),
            **{name: value for name, value in given.items() if value is not None},
        )


class CompletionRequest(GenerationRequest):
    prompt: str | list[str]

    @field_validator("prompt")
    @classmethod
    def _prompt_count(cls, prompt: str | list[str]) -> str | list[str]:
        if isinstance(prompt, list) and not 1 <= len(prompt) <= MAX_PROMPTS:
            raise ValueError(f"give 1 to {MAX_PROMPTS} prompts")
        return prompt


class TextPart(BaseModel):
    model_config = STRICT
    type: Literal["text"]
    text: str


class Message(BaseModel):
    model_config = STRICT
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class ChatRequest(GenerationRequest):
    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)  # OpenAI's newer name of max_tokens

    def requested_max_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


async def parse_body(request: HTTPRequest, schema: type[BaseModel]) -> Any:
    """The request's JSON body as `schema`, or a 400 naming what is wrong."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        message = f"the request body has {len(body):,} bytes; the limit is {MAX_BODY_BYTES:,}"
        raise APIError(413, message, code="body_too_large")
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise APIError(
            400, f"the request body is not UTF-8 text (byte {error.start})", code="invalid_body"
        ) from None
    except json.JSONDecodeError as error:
        message = f"the request body is not JSON: {error.msg} (line {error.lineno}, column "
        raise APIError(400, message + f"{error.colno})", code="invalid_json") from None
    except RecursionError:
        raise APIError(400, "the request body nests too deeply", code="invalid_json") from None
    if not isinstance(data, dict):
        raise APIError(400, "the request body must be a JSON object", code="invalid_body")
    for name, harmless in UNSUPPORTED.items():
        if data.get(name) is not None and data[name] not in harmless:
            raise APIError(400, f"{name} is not supported by cognate models", name, "unsupported")
    try:
        return schema.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        param = ".".join(str(part) for part in first["loc"]) or None
        message = f"{param}: {first['msg']}" if param else first["msg"]
        raise APIError(400, message, param, "invalid_value") from None


@dataclass
class Choice:
    """What one choice continues; context_only: nothing (a chat statement)."""

    prompt_ids: list[int]
    sampling: Sampling | None
    context_only: bool = False
    ignore_eos: bool = False


def fitted_max_tokens(run: ServedRun, prompt_tokens: int, requested: int | None, param: str) -> int:
    """max_tokens for a prompt: the requested number if the context holds both, else a 400."""
    limit = run.bundle.config.max_seq_len
    if prompt_tokens == 0:
        raise APIError(400, f"{param} is empty: give some text", param, "empty_prompt")
    fits = limit - prompt_tokens
    if requested is None and fits >= 1:
        return min(Sampling.max_new_tokens, fits)
    if requested is not None and requested <= fits:
        return requested
    asked = requested or 1
    raise APIError(
        400,
        f"this model's context is {limit} tokens, but {prompt_tokens + asked} were asked for "
        f"({prompt_tokens} in the {param}, {asked} for the completion); shorten the {param} "
        "or lower max_tokens",
        param if requested is None or prompt_tokens >= limit else "max_tokens",
        "context_length_exceeded",
    )


def completion_choices(run: ServedRun, body: CompletionRequest) -> list[Choice]:
    prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
    choices = []
    for prompt in prompts:
        ids = run.bundle.tokenizer.encode(prompt)
        max_new = fitted_max_tokens(run, len(ids), body.requested_max_tokens(), "prompt")
        choices.append(Choice(ids, body.sampling(max_new), ignore_eos=body.ignore_eos))
    return choices


def chat_question(session: ChatSession, messages: list[Message]) -> str | None:
    """Fill the session's history from the messages; the last user line's question, or None
    when that line is a statement."""
    asked: tuple[str, str] | None = None  # (line, question) not answered yet
    for message in messages:
        if message.role == "assistant":
            if asked is not None:
                session.remember(asked[1], message.text.strip())
                asked = None
            continue
        for line in filter(None, map(str.strip, message.text.splitlines())):
            if asked is not None:  # a question that got no answer stays as it was typed
                session.tell(asked[0])
            question = as_question(line)
            asked = None if question is None else (line, question)
            if question is None:
                session.tell(line)
    return None if asked is None else asked[1]


def chat_choice(run: ServedRun, body: ChatRequest) -> Choice:
    if body.messages[-1].role != "user" or not body.messages[-1].text.strip():
        raise APIError(400, "the last message must be a user message with some text", "messages")
    tokenizer = run.bundle.tokenizer
    requested = body.requested_max_tokens()
    session = ChatSession(run.bundle, Sampling(max_new_tokens=requested or Sampling.max_new_tokens))
    question = chat_question(session, body.messages)
    if question is None:
        prompt = " ".join(entry.text for entry in session.history)
        return Choice(tokenizer.encode(prompt), None, context_only=True)
    ids = tokenizer.encode(session.prompt_for(question))
    max_new = fitted_max_tokens(run, len(ids), requested, "messages")
    return Choice(ids, body.sampling(max_new, ANSWER_STOP), ignore_eos=body.ignore_eos)


async def engine_events(
    submit: Callable[[Request], None], model: str, choices: list[Choice]
) -> AsyncIterator[tuple[int, Event]]:
    """The engine's events for each choice (its index, the event), until every choice has
    ended; a context-only choice ends at once. Leaving early (a client gone) cancels the
    choices still running."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[int, Event]] = asyncio.Queue()

    def sink(index: int) -> Callable[[Event], None]:
        def put(event: Event) -> None:  # on the engine's thread
            with contextlib.suppress(RuntimeError):  # the loop has closed: the server is stopping
                loop.call_soon_threadsafe(queue.put_nowait, (index, event))

        return put

    requests = []
    for index, choice in enumerate(choices):
        if choice.context_only:
            queue.put_nowait((index, Finished("stop", 0, [])))
        else:
            requests.append(
                Request(model, choice.prompt_ids, choice.sampling, sink(index), choice.ignore_eos)
            )
            submit(requests[-1])
    running = len(choices)
    try:
        while running:
            index, event = await queue.get()
            if isinstance(event, Failed):
                raise APIError(500, event.message, kind="server_error")
            running -= isinstance(event, Finished)
            yield index, event
    finally:
        for request in requests:
            request.cancelled = True


class Answer:
    """One choice's answer as its events come. A chat answer loses the whitespace the model
    puts before it (as `cognate chat` strips it); act steps wait to be sent with text."""

    def __init__(self, chat: bool) -> None:
        self.started = not chat
        self.text = ""
        self.act_steps: list[int] = []
        self.unsent_steps: list[int] = []
        self.finish_reason: str | None = None
        self.completion_tokens = 0

    def take(self, event: Piece | Finished) -> str:
        """The text to send for an event."""
        text = event.text if isinstance(event, Piece) else ""
        if isinstance(event, Finished):
            self.finish_reason = event.finish_reason
            self.completion_tokens = event.completion_tokens
        if not self.started:
            text = text.lstrip()
            self.started = bool(text)
        self.text += text
        self.act_steps += event.act_steps
        self.unsent_steps += event.act_steps
        return text

    def steps_to_send(self) -> list[int]:
        steps, self.unsent_steps = self.unsent_steps, []
        return steps


class Shape:
    """How completions and chat completions lay out answers and streamed chunks."""

    def __init__(self, chat: bool, model: str, choices: list[Choice]) -> None:
        self.chat = chat
        self.id = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex[:24]
        self.object = "chat.completion" if chat else "text_completion"
        self.model = model
        self.created = int(time.time())
        self.choices = choices

    def envelope(self, choices: list[dict[str, Any]], chunk: bool = False) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": f"{self.object}.chunk" if chunk and self.chat else self.object,
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }

    def choice(
        self, index: int, text: str, finish: str | None, steps: list[int], chunk: bool
    ) -> dict[str, Any]:
        """An answer's choice, or (chunk) a streamed chunk's."""
        choice: dict[str, Any] = {"index": index}
        if not self.chat:
            choice["text"] = text
        elif chunk:
            choice["delta"] = {"content": text} if text or finish is None else {}
        else:
            choice["message"] = {"role": "assistant", "content": text}
        choice.update(logprobs=None, finish_reason=finish, act_steps=steps)
        if self.chat and finish is not None:
            choice["context_only"] = self.choices[index].context_only
        return choice

    def usage(self, answers: list[Answer]) -> dict[str, int]:
        prompt = sum(len(c.prompt_ids) for c in self.choices)
        completion = sum(a.completion_tokens for a in answers)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }


async def complete(submit: Callable[[Request], None], shape: Shape) -> dict[str, Any]:
    """The whole answer, once every choice has ended."""
    answers = [Answer(shape.chat) for _ in shape.choices]
    async for index, event in engine_events(submit, shape.model, shape.choices):
        answers[index].take(event)
    choices = [
        shape.choice(i, a.text, a.finish_reason, a.act_steps, chunk=False)
        for i, a in enumerate(answers)
    ]
    return {**shape.envelope(choices), "usage": shape.usage(answers)}


def _event(data: dict[str, Any] | str) -> str:
    """One server-sent event."""
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n"


async def stream(
    submit: Callable[[Request], None], shape: Shape, include_usage: bool
) -> AsyncIterator[str]:
    """Server-sent events: a chunk per piece of text, `data: [DONE]` at the end."""
    if shape.chat:  # the first chunk of a chat choice opens the assistant's message
        opening = [
            {"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            for i in range(len(shape.choices))
        ]
        yield _event(shape.envelope(opening, chunk=True))
    answers = [Answer(shape.chat) for _ in shape.choices]
    try:
        async for index, event in engine_events(submit, shape.model, shape.choices):
            answer = answers[index]
            text = answer.take(event)
            if text or answer.finish_reason is not None:
                steps = answer.steps_to_send()
                choice = shape.choice(index, text, answer.finish_reason, steps, chunk=True)
                yield _event(shape.envelope([choice], chunk=True))
    except APIError as error:  # the status has been sent: the error goes in the stream
        yield _event(error.body())
    else:
        if include_usage:
            yield _event({**shape.envelope([], chunk=True), "usage": shape.usage(answers)})
    yield _event("[DONE]")


def router(
    runs: Callable[[], list[ServedRun]],
    served: Callable[[str], ServedRun],
    submit: Callable[[Request], None],
) -> APIRouter:
    """The /v1 routes; `runs` lists the served runs, `served` finds one by name (or raises a
    404), `submit` hands a request to the engine."""
    api = APIRouter(prefix="/v1")

    def model_object(run: ServedRun) -> dict[str, Any]:
        card = run.card()
        return {
            "id": run.name,
            "object": "model",
            "created": int(run.checkpoint.with_suffix(".json").stat().st_mtime),
            "owned_by": "cognate",
            "checkpoint": card["checkpoint"],
            "specialization": card["specialization"],
            "step": card["step"],
            "parameters": card["parameters"]["total"],
            "context": card["context"],
            "validation_exact_match": card["validation_exact_match"],
            "heldout_exact_match": card["heldout_exact_match"],
        }

    @api.get("/models")
    def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [model_object(run) for run in runs()]}

    @api.get("/models/{name}")
    def get_model(name: str) -> dict[str, Any]:
        return model_object(served(name))

    async def answer(body: GenerationRequest, shape: Shape) -> Any:
        if body.stream:
            include_usage = body.stream_options is not None and body.stream_options.include_usage
            return StreamingResponse(
                stream(submit, shape, include_usage),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        return await complete(submit, shape)

    @api.post("/completions")
    async def completions(request: HTTPRequest) -> Any:
        body = await parse_body(request, CompletionRequest)
        run = served(body.model)
        return await answer(body, Shape(False, run.name, completion_choices(run, body)))

    @api.post("/chat/completions")
    async def chat_completions(request: HTTPRequest) -> Any:
        body = await parse_body(request, ChatRequest)
        run = served(body.model)
        return await answer(body, Shape(True, run.name, [chat_choice(run, body)]))

    return api
