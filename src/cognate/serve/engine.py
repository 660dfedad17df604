"""The decoding engine: one thread decodes the requests of every served model, in batches.

Requests come from the web server's event loop (`Engine.submit`). Each model has a
`DecodingBatch`; at every step of it, the model's waiting requests join the batch in order of
arrival, the batch picks one token per row, each request gets its new text and ACT steps, and
the rows still going take one decoding step together. A request joins when the batch's
position (or its prompt, if longer) plus its max_tokens stays within the model's context;
otherwise it waits, with the requests behind it, until the batch empties and positions start
again from 0 (a batch kept busy forever would reach positions whose float32 rotary angles have
lost their precision). Models take turns, one step each. Jobs (`Engine.call`: test suites,
loading a checkpoint) run on the same thread, one between two steps, so that they never
compete with decoding for the cores.

Events are passed to each request's `sink` on the engine's thread.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from cognate.infer.batching import DecodingBatch
from cognate.infer.bundle import Bundle
from cognate.infer.generate import TextStream
from cognate.infer.sampling import Sampling

MAX_ROWS = 32  # rows of one model's batch; more requests wait
log = logging.getLogger("cognate.serve")


@dataclass
class Piece:
    """New text of a request, and the recursion steps of the tokens behind it."""

    text: str
    act_steps: list[int]


@dataclass
class Finished:
    finish_reason: str  # "stop" (end of text or a stop string) or "length"
    completion_tokens: int
    act_steps: list[int]  # of the last tokens, when they added no text


@dataclass
class Failed:
    message: str


Event = Piece | Finished | Failed


@dataclass
class Request:
    """What to continue (token ids, validated to fit the context) and where events go."""

    model: str
    prompt_ids: list[int]
    sampling: Sampling
    sink: Callable[[Event], None]
    ignore_eos: bool = False  # go on after the end of text (load tests: every token is made)
    cancelled: bool = False  # set by the caller when its client has gone


@dataclass
class _Active:
    """A request in a batch: its text so far."""

    request: Request
    text: TextStream
    produced: int = 0
    act_steps: list[int] = field(default_factory=list)  # not yet sent with a piece

    def take(self, token: int, steps: int, eos_id: int) -> bool:
        """Handle the request's next token; False when it has ended."""
        if self.request.cancelled:
            return False
        if token == eos_id and not self.request.ignore_eos:
            self._send(self.text.flush())
            return self._finish("stop")
        self.produced += 1
        self.act_steps.append(steps)
        self._send(self.text.push(token))
        if self.text.stopped:
            return self._finish("stop")
        if self.produced == self.request.sampling.max_new_tokens:
            self._send(self.text.flush())
            return self._finish("length")
        return True

    def _send(self, text: str) -> None:
        if text:
            self.request.sink(Piece(text, self.act_steps))
            self.act_steps = []

    def _finish(self, reason: str) -> bool:
        self.request.sink(Finished(reason, self.produced, self.act_steps))
        return False


class _Runner:
    """One model's waiting requests and its decoding batch (used on the engine's thread)."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.replacement: Bundle | None = None  # takes over when the batch is empty
        self.batch = DecodingBatch(bundle.model, bundle.quantize)
        self.waiting: deque[Request] = deque()
        self.active: list[_Active] = []
        # What batching gives: tokens / steps is the mean number of requests per step
        self.counts = {"steps": 0, "tokens": 0, "largest_batch": 0}

    def busy(self) -> bool:
        return bool(self.waiting or self.active)

    def _fits(self, request: Request) -> bool:
        start = max(self.batch.position, len(request.prompt_ids))
        return start + request.sampling.max_new_tokens <= self.bundle.config.max_seq_len

    def step(self) -> None:
        """Let waiting requests join, then decode one token for every request in the batch."""
        if self.replacement is not None and not self.active:
            self.bundle, self.replacement = self.replacement, None
            self.batch = DecodingBatch(self.bundle.model, self.bundle.quantize)
        for request in [r for r in self.waiting if r.cancelled]:
            self.waiting.remove(request)
        joining: list[Request] = []
        while (
            self.waiting
            and len(self.batch) + len(joining) < MAX_ROWS
            and self._fits(self.waiting[0])
        ):
            joining.append(self.waiting.popleft())
        tokenizer = self.bundle.tokenizer
        if joining:
            self.batch.join([r.prompt_ids for r in joining], [r.sampling for r in joining])
            self.active += [
                _Active(r, TextStream(tokenizer.decode, r.sampling.stop)) for r in joining
            ]
        if not self.active:
            return
        tokens, steps = self.batch.pick()
        self.counts["steps"] += 1
        self.counts["tokens"] += len(tokens)
        self.counts["largest_batch"] = max(self.counts["largest_batch"], len(tokens))
        going = [
            active.take(token, step, tokenizer.eos_id)
            for active, token, step in zip(self.active, tokens, steps, strict=True)
        ]
        keep = [row for row, on in enumerate(going) if on]
        self.active = [self.active[row] for row in keep]
        self.batch.advance(keep)

    def fail(self, message: str) -> None:
        """End every request of this model with an error and start afresh."""
        for request in [a.request for a in self.active] + list(self.waiting):
            request.sink(Failed(message))
        self.active, self.waiting = [], deque()
        self.batch = DecodingBatch(self.bundle.model, self.bundle.quantize)


class Engine:
    """The decoding thread: `start`, `submit` requests, `call` jobs, `stop`."""

    def __init__(self) -> None:
        self._runners: dict[str, _Runner] = {}
        self._inbox: list[Request] = []
        self._jobs: list[tuple[Callable[[], Any], Future]] = []
        self._changed = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="cognate-engine", daemon=True)

    def set_model(self, name: str, bundle: Bundle) -> None:
        """Serve a bundle under a name: before `start`, or in a job (on the engine's thread).
        A model replaced finishes the requests of its batch first."""
        if name in self._runners:
            self._runners[name].replacement = bundle
        else:
            self._runners[name] = _Runner(bundle)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify()
        self._thread.join()

    def submit(self, request: Request) -> None:
        with self._changed:
            self._inbox.append(request)
            self._changed.notify()

    def call(self, job: Callable[[], Any]) -> Future:
        """Run job() on the engine's thread between decoding steps; its future result."""
        future: Future = Future()
        with self._changed:
            self._jobs.append((job, future))
            self._changed.notify()
        return future

    def counts(self) -> dict[str, dict[str, int]]:
        """Per model: decoding steps, tokens decoded and the largest batch so far."""
        return {name: dict(runner.counts) for name, runner in list(self._runners.items())}

    def _idle(self) -> bool:
        busy = any(runner.busy() for runner in self._runners.values())
        return not (self._stopping or self._inbox or self._jobs or busy)

    def _loop(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: not self._idle())
                if self._stopping:
                    return
                inbox, self._inbox = self._inbox, []
                job = self._jobs.pop(0) if self._jobs else None  # one between two steps
            for request in inbox:
                self._runners[request.model].waiting.append(request)
            if job is not None and job[1].set_running_or_notify_cancel():
                try:
                    job[1].set_result(job[0]())
                except Exception as error:  # the caller gets it
                    job[1].set_exception(error)
            for name, runner in self._runners.items():
                try:
                    runner.step()
                except Exception:  # a bug must not stop the other requests or models
                    log.exception("decoding %s failed", name)
                    runner.fail(f"decoding with {name} failed; see the server's log")
