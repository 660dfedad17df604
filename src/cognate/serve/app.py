"""`cognate serve`: the runs' models behind an OpenAI-compatible API, and a page at /.

    server = Server(find_run_dirs([Path("runs/demo")]))
    server.load()                     # every best checkpoint; a bad one is a CognateError
    web_server(server).run(sockets=[bound_socket("127.0.0.1", 8000)])

FastAPI on uvicorn: the routes are plain functions over typed requests, errors are answered
in OpenAI's shape (`cognate.serve.errors`), and streaming is a plain async generator. Decoding
runs on the engine's thread (`cognate.serve.engine`), so the event loop only moves bytes.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI
from fastapi import Request as HTTPRequest
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from cognate.errors import CognateError
from cognate.evaluate.suites import TestItem, exact_match, run_items, suite_items
from cognate.serve import openai_api
from cognate.serve.engine import Engine
from cognate.serve.errors import APIError, install_error_handlers
from cognate.serve.openai_api import STRICT, parse_body
from cognate.serve.runs import ServedRun, read_new_metrics

STATIC = Path(__file__).parent / "static"
MAX_TEST_ITEMS = 500
log = logging.getLogger("cognate.serve")


class Server:
    """The runs, their models on the engine, and the checkpoints reloaded as training saves
    new ones."""

    def __init__(self, run_dirs: list[Path], quantize: str | None = None) -> None:
        self.runs = {d.name: ServedRun(d, quantize) for d in run_dirs}
        self.engine = Engine()
        self._reloading: dict[str, Future] = {}

    def load(self) -> None:
        """Load every run's best checkpoint (a run still without one is shown, not served)."""
        for run in self.runs.values():
            if run.checkpoint_version() is not None:
                self.engine.set_model(run.name, run.load())

    def start(self) -> None:
        """Start decoding; the seed prompts and held-out scores are computed in the
        background."""
        self.engine.start()
        for run in self.runs.values():
            self._evaluate(run)

    def stop(self) -> None:
        self.engine.stop()

    def served_runs(self) -> list[ServedRun]:
        return [run for run in self.runs.values() if run.bundle is not None]

    def run(self, name: str) -> ServedRun:
        """A run by name, or a 404 that lists them."""
        if name not in self.runs:
            known = ", ".join(self.runs)
            raise APIError(
                404,
                f"the model {name!r} does not exist; models: {known}",
                "model",
                "model_not_found",
            )
        return self.runs[name]

    def served(self, name: str) -> ServedRun:
        """A run that has a checkpoint, by name (404 otherwise)."""
        run = self.run(name)
        if run.bundle is None:
            raise APIError(
                404,
                f"the model {name!r} has no checkpoint yet (its first validation saves one)",
                "model",
                "model_not_found",
            )
        return run

    def refresh(self) -> None:
        """Reload, in the background, the runs whose training has saved a new best checkpoint."""
        for run in self.runs.values():
            pending = self._reloading.get(run.name)
            if pending is not None and not pending.done():
                continue
            if run.checkpoint_version() not in (None, run.loaded_version):
                self._reloading[run.name] = self.engine.call(lambda run=run: self._reload(run))

    def _reload(self, run: ServedRun) -> None:
        try:
            self.engine.set_model(run.name, run.load())
        except Exception:  # a checkpoint being rewritten: the next refresh tries again
            log.exception("reloading %s failed", run.checkpoint)
            return
        self._evaluate(run)

    def _evaluate(self, run: ServedRun) -> None:
        for job in run.evaluation_jobs():
            self.engine.call(job).add_done_callback(_log_failure)


def _log_failure(job: Future) -> None:
    if job.exception() is not None:
        log.error("scoring a checkpoint failed", exc_info=job.exception())


class TestPair(BaseModel):
    model_config = STRICT
    prompt: str = Field(min_length=1)
    answer: str


class TestRequest(BaseModel):
    """The page's test panel: a suite of the model's specialization, or pasted pairs."""

    model_config = STRICT
    suite: Literal["seed", "heldout"] | None = None
    pairs: list[TestPair] | None = Field(None, min_length=1, max_length=MAX_TEST_ITEMS)


def create_app(server: Server) -> FastAPI:
    """The web application: /v1 (OpenAI), the page at / and the page's /api."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        server.start()
        yield
        server.stop()

    # No /docs: its page loads scripts from a CDN.
    app = FastAPI(title="Cognate", docs_url=None, redoc_url=None, lifespan=lifespan)
    install_error_handlers(app)
    app.include_router(openai_api.router(server.served_runs, server.served, server.engine.submit))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/runs")
    def runs() -> dict[str, Any]:
        server.refresh()
        return {"runs": [run.card() for run in server.runs.values()]}

    @app.get("/api/engine")
    def engine() -> dict[str, Any]:
        return {"models": server.engine.counts()}

    @app.get("/api/runs/{name}/metrics")
    def metrics(name: str, cursor: str = "") -> dict[str, Any]:
        chunk = read_new_metrics(server.run(name).run_dir, cursor)
        return {"records": chunk.records, "cursor": chunk.cursor, "restarted": chunk.restarted}

    @app.post("/api/runs/{name}/test")
    async def test(name: str, request: HTTPRequest) -> dict[str, Any]:
        body = await parse_body(request, TestRequest)
        run = server.served(name)
        if (body.suite is None) == (body.pairs is None):
            raise APIError(400, "give either a suite or pairs of prompt and answer", "suite")
        if body.pairs is not None:
            items = [TestItem(p.prompt, p.answer) for p in body.pairs]
        elif run.spec is None:
            raise APIError(400, f"{name} has no specialization, so no suites: paste pairs", "suite")
        else:
            items = suite_items(run.spec, body.suite)
        bundle = run.bundle
        job = server.engine.call(lambda: run_items(bundle.model, bundle.tokenizer, items))
        results = await asyncio.wrap_future(job)
        return {"results": [r.as_dict() for r in results], "exact_match": exact_match(results)}

    return app


def bound_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0: any free port), or a CognateError saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen()  # connections wait in the backlog until the server takes them
    except OSError as error:
        sock.close()
        raise CognateError(
            f"cannot listen on {host}:{port} ({error.strerror}); choose another --port"
        ) from None
    return sock


def web_server(server: Server) -> uvicorn.Server:
    """uvicorn serving the app; `.run(sockets=[sock])` serves until interrupted (Ctrl-C)."""
    config = uvicorn.Config(create_app(server), log_level="warning", timeout_graceful_shutdown=2)
    return uvicorn.Server(config)
