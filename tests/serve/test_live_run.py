"""A run still training: shown with its curves at once, served from its first checkpoint on,
and reloaded when training saves a better one."""

import json
import time
import urllib.request

import openai
import pytest


def cards(url):
    with urllib.request.urlopen(f"{url}/api/runs", timeout=30) as response:
        return json.load(response)["runs"]


def wait_for(condition, what):
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen in a minute"
        time.sleep(0.2)


def test_a_run_being_trained_is_served_from_its_first_checkpoint_on(tmp_path, make_run, serving):
    run_dir = tmp_path / "memory"
    run_dir.mkdir()
    (run_dir / "metrics.jsonl").write_text('{"kind": "train", "step": 5, "lm_loss": 6.0}\n')
    with serving([run_dir]) as (url, _server):
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        [card] = cards(url)
        assert card["served"] is False and card["training"] == "training"
        assert client.models.list().data == []
        with pytest.raises(openai.NotFoundError, match="no checkpoint yet"):
            client.completions.create(model="memory", prompt="Q: 1 + 1? A:")

        make_run(run_dir, "memory", seed=0, step=20)  # the first validation saves `best`
        wait_for(lambda: cards(url)[0]["served"], "serving the first checkpoint")
        assert [m.step for m in client.models.list().data] == [20]
        first = client.completions.create(model="memory", prompt="Q: 1 + 1? A:", temperature=0)

        make_run(run_dir, "memory", seed=1, step=40)  # a better one, with other weights
        wait_for(lambda: cards(url)[0]["step"] == 40, "reloading the new best checkpoint")
        wait_for(
            lambda: (
                client.completions.create(model="memory", prompt="Q: 1 + 1? A:", temperature=0)
                .choices[0]
                .text
                != first.choices[0].text
            ),
            "answering with the new weights",
        )
