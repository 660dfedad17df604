"""Malformed requests: each gets a 4xx OpenAI-shaped JSON error, and the server goes on."""

import http.client
import json
import urllib.parse

import pytest


def post(url: str, path: str, body: bytes, content_type: str = "application/json"):
    """(status, parsed JSON) of a POST with exactly these bytes."""
    address = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def as_json(**fields) -> bytes:
    return json.dumps(fields).encode()


CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
MESSAGES = [{"role": "user", "content": "What is 2 + 2?"}]

MALFORMED = {
    "not JSON": (COMPLETIONS, b'{"model": "speed", "prompt": '),
    "not UTF-8": (COMPLETIONS, b'{"model": "speed", "prompt": "\xff\xfe caf\xe9"}'),
    "a JSON list": (COMPLETIONS, b'["speed", "hi"]'),
    "empty body": (CHAT, b""),
    "deeply nested": (CHAT, b"[" * 100_000),
    "NaN temperature": (COMPLETIONS, b'{"model": "speed", "prompt": "hi", "temperature": NaN}'),
    "no model": (COMPLETIONS, as_json(prompt="hi")),
    "model a number": (COMPLETIONS, as_json(model=3, prompt="hi")),
    "prompt a number": (COMPLETIONS, as_json(model="speed", prompt=5)),
    "prompt a list of numbers": (COMPLETIONS, as_json(model="speed", prompt=[1, 2])),
    "no prompts": (COMPLETIONS, as_json(model="speed", prompt=[])),
    "max_tokens a string": (COMPLETIONS, as_json(model="speed", prompt="hi", max_tokens="10")),
    "max_tokens a fraction": (COMPLETIONS, as_json(model="speed", prompt="hi", max_tokens=1.5)),
    "max_tokens negative": (COMPLETIONS, as_json(model="speed", prompt="hi", max_tokens=-1)),
    "huge max_tokens": (COMPLETIONS, as_json(model="speed", prompt="hi", max_tokens=10**12)),
    "temperature a word": (CHAT, as_json(model="speed", messages=MESSAGES, temperature="hot")),
    "stream a string": (CHAT, as_json(model="speed", messages=MESSAGES, stream="yes")),
    "stop numbers": (CHAT, as_json(model="speed", messages=MESSAGES, stop=[1, 2])),
    "seed beyond 64 bits": (CHAT, as_json(model="speed", messages=MESSAGES, seed=2**70)),
    "seed a bool": (CHAT, as_json(model="speed", messages=MESSAGES, seed=True)),
    "no messages": (CHAT, as_json(model="speed", messages=[])),
    "messages a string": (CHAT, as_json(model="speed", messages="What is 2 + 2?")),
    "message without a role": (CHAT, as_json(model="speed", messages=[{"content": "hi"}])),
    "empty message": (CHAT, as_json(model="speed", messages=[{"role": "user", "content": ""}])),
    "content part not text": (
        CHAT,
        as_json(model="speed", messages=[{"role": "user", "content": [{"type": "image_url"}]}]),
    ),
    "stream_options a list": (
        CHAT,
        as_json(model="speed", messages=MESSAGES, stream=True, stream_options=[True]),
    ),
    "test panel: both suite and pairs": (
        "/api/runs/speed/test",
        as_json(suite="seed", pairs=[{"prompt": "Q: 1 + 1? A:", "answer": "2"}]),
    ),
    "test panel: an unknown suite": ("/api/runs/speed/test", as_json(suite="everything")),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_request_is_a_4xx_json_error_and_the_server_goes_on(url, client, case):
    path, body = MALFORMED[case]
    status, answer = post(url, path, body)
    assert 400 <= status < 500
    assert set(answer) == {"error"}
    assert set(answer["error"]) == {"message", "type", "param", "code"}
    assert answer["error"]["type"] == "invalid_request_error"
    assert answer["error"]["message"]
    again = client.completions.create(model="speed", prompt="Q: 1 + 1? A:", max_tokens=2)
    assert again.usage.completion_tokens >= 1


def test_unknown_routes_and_methods_are_json_errors(url):
    status, answer = post(url, "/v1/embeddings", b"{}")
    assert status == 404 and answer["error"]["code"] == "not_found"
    status, answer = post(url, "/v1/models", b"{}")
    assert status == 405 and answer["error"]["code"] == "method_not_allowed"
