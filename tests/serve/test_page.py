"""The page at / and the /api it reads: model cards, curves' metrics, the test panel, and a
headless Chromium using the page as a person would."""

import json
import re
import shutil
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

import cognate
from cognate.evaluate.suites import run_items, seed_suite
from cognate.serve.app import STATIC
from cognate.serve.runs import read_new_metrics

CHROMIUM = "/usr/bin/chromium"  # Debian's package (.ci/run installs it); never downloaded
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path("/tmp/serve_screenshot.png")  # the latest run's, to look at


def get(url: str):
    with urllib.request.urlopen(url, timeout=60) as response:
        body = response.read()
        kind = response.headers["Content-Type"]
        return json.loads(body) if kind.startswith("application/json") else body.decode()


def post(url: str, payload: dict):
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


def evaluated_cards(url: str) -> list[dict]:
    """The cards once the server has scored every model (seed prompts, held-out split)."""
    deadline = time.monotonic() + 120
    while True:
        runs = get(f"{url}/api/runs")["runs"]
        if all(r["heldout_exact_match"] is not None for r in runs):
            return runs
        assert time.monotonic() < deadline, "the models were not scored in 2 minutes"
        time.sleep(0.2)


def test_the_page_loads_nothing_from_elsewhere(url):
    page = get(f"{url}/")
    local = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert "/static/app.js" in local
    for address in local:
        assert address.startswith(("/", "#", "data:")), address
        if address.startswith("/static/"):
            assert get(f"{url}{address}")
    for asset in STATIC.iterdir():
        text = asset.read_text()
        # The only address in the assets is SVG's namespace, a name that is never fetched.
        assert set(re.findall(r"\w+://[^\s\"'`)]+", text)) <= {"http://www.w3.org/2000/svg"}


def test_cards_show_each_runs_checkpoint_and_seed_answers(url, runs_dir):
    cards = evaluated_cards(url)
    assert [c["name"] for c in cards] == ["reasoning", "memory", "speed"]
    for card in cards:
        assert card["served"] and card["specialization"] == card["name"]
        assert card["step"] == 20 and card["validation_exact_match"] == 0.25
        assert card["parameters"]["total"] > 0
        assert 0 <= card["heldout_exact_match"] <= 1
    bundle = cognate.load(runs_dir / "memory" / "best")
    expected = run_items(bundle.model, bundle.tokenizer, seed_suite("memory"))
    assert cards[1]["seed_prompts"] == [r.as_dict() for r in expected]


def test_the_curves_metrics_come_from_metrics_jsonl(url):
    chunk = get(f"{url}/api/runs/reasoning/metrics")
    assert [(r["kind"], r["step"]) for r in chunk["records"]] == [
        ("train", 10),
        ("train", 20),
        ("validation", 20),
    ]
    again = get(f"{url}/api/runs/reasoning/metrics?cursor={chunk['cursor']}")
    assert again["records"] == [] and not again["restarted"]


def test_metrics_are_read_as_a_run_writes_them(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"kind": "train", "step": 1, "lm_loss": 5.0, "grad_norm": 1.0}\n{"kind"')
    first = read_new_metrics(tmp_path)
    assert first.records == [{"kind": "train", "step": 1, "lm_loss": 5.0}]
    with path.open("a") as file:  # the line being written is finished, another one follows
        file.write(': "validation", "step": 2, "exact_match": 0.5}\nnot json\n')
    second = read_new_metrics(tmp_path, first.cursor)
    assert second.records == [{"kind": "validation", "step": 2, "exact_match": 0.5}]
    assert not second.restarted
    path.unlink()  # a resumed run rewrites the file
    path.write_text('{"kind": "train", "step": 1, "lm_loss": 4.0}\n')
    third = read_new_metrics(tmp_path, second.cursor)
    assert third.restarted and third.records == [{"kind": "train", "step": 1, "lm_loss": 4.0}]


def test_the_test_panel_scores_a_suite_or_pasted_pairs(url, runs_dir):
    bundle = cognate.load(runs_dir / "speed" / "best")
    expected = run_items(bundle.model, bundle.tokenizer, seed_suite("speed"))
    suite = post(f"{url}/api/runs/speed/test", {"suite": "seed"})
    assert suite["results"] == [r.as_dict() for r in expected]
    answer = expected[0].output.strip() or "anything"
    pairs = [{"prompt": expected[0].prompt, "answer": answer}, {"prompt": "Q: 1? A:", "answer": ""}]
    pasted = post(f"{url}/api/runs/speed/test", {"pairs": pairs})
    assert [r["expected"] for r in pasted["results"]] == [answer, ""]
    assert pasted["results"][0]["output"] == expected[0].output


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_a_person_sees_the_models_and_chats_with_one(url, client, browser, tmp_path):
    question = "What is 10 - 5?"
    expected = client.chat.completions.create(
        model="reasoning",
        messages=[{"role": "user", "content": question}],
        max_tokens=48,  # the page's
        temperature=0,  # the page's default
    ).choices[0]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{url}/")
    page.wait_for_selector(".card .seed", timeout=60_000)  # seed answers are in
    expect(page.locator(".card")).to_have_count(3, timeout=60_000)  # cards render as they load
    assert page.locator(".card h3").all_inner_texts() == ["reasoning", "memory", "speed"]
    assert page.locator(".card .chart").count() == 9  # loss, exact-match, ACT per model

    page.fill("#chat-input", question)
    page.press("#chat-input", "Enter")
    answer = page.locator(".bubble.assistant").last
    page.wait_for_selector(".bubble.assistant:not(.streaming)", timeout=60_000)
    if expected.message.content:
        assert answer.locator(".token").count() >= 1  # shaded by recursion steps
        assert answer.inner_text() == expected.message.content

    page.click("#test-seed")
    page.wait_for_selector("#test-table tr.ok, #test-table tr.bad", timeout=60_000)
    assert page.locator("#test-table tr").count() == 1 + 3  # a header and the seed prompts
    page.screenshot(path=tmp_path / "page.png", full_page=True)
    shutil.copy(tmp_path / "page.png", SCREENSHOT)
    assert errors == []
