"""Concurrent requests are decoded together, and each gets the answer it gets alone."""

import json
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

PROMPTS = [
    "Q: What is 2 + 2? A:",
    "The capital of Zorvia is Belka. Q: What is the capital of Zorvia? A:",
    "Q: Is 7 greater than 3? A:",
    "John has 5 apples. Mary gives him 3 more apples. Q: How many apples does John have now? A:",
    "Q: What is 10 - 5? A:",
    "The color of the sky is blue. Q: What color is the sky? A:",
]
JOBS = [
    *({"model": "memory", "prompt": p, "temperature": 0} for p in PROMPTS),
    {"model": "memory", "prompt": PROMPTS[0], "temperature": 1.0, "seed": 5},
    {"model": "reasoning", "prompt": PROMPTS[3], "temperature": 0},
]


def streamed(client, **options):
    """(text, finish reason, ACT steps) of a streamed completion."""
    text, steps, finish = "", [], None
    for chunk in client.completions.create(**options, max_tokens=24, stream=True):
        [choice] = chunk.choices
        text += choice.text
        steps += choice.act_steps
        finish = choice.finish_reason or finish
    return text, finish, steps


def engine_counts(url):
    with urllib.request.urlopen(f"{url}/api/engine", timeout=30) as response:
        return json.load(response)["models"]


def test_eight_concurrent_streams_get_the_answers_they_get_alone(client, url):
    alone = [streamed(client, **job) for job in JOBS]
    before = engine_counts(url)["memory"]
    start = threading.Barrier(len(JOBS))

    def together(job):
        start.wait()
        return streamed(client, **job)

    with ThreadPoolExecutor(len(JOBS)) as pool:
        assert list(pool.map(together, JOBS)) == alone
    after = engine_counts(url)["memory"]
    tokens, steps = after["tokens"] - before["tokens"], after["steps"] - before["steps"]
    # One after another, they would take a step per token; together, the longest one's steps.
    assert steps <= tokens / 2, f"{tokens} tokens of 7 requests took {steps} decoding steps"


def test_a_client_that_leaves_mid_stream_does_not_disturb_the_others(client, url):
    options = {"model": "speed", "prompt": PROMPTS[2], "temperature": 0}
    alone = streamed(client, **options)
    leaving = client.completions.create(**options, max_tokens=400, stream=True)
    next(iter(leaving))
    leaving.close()
    assert streamed(client, **options) == alone
    counts = engine_counts(url)["speed"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the engine drops the row of the client that left
        time.sleep(0.5)
        counts, previous = engine_counts(url)["speed"], counts
        if counts == previous:
            return
    raise AssertionError("the engine went on decoding for a client that had left")
