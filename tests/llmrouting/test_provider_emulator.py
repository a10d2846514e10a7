"""Real LiteLLM calls against the local provider emulator: one module-scoped server, no Django, no network."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

# Before litellm is imported: no remote cost-map fetch, no Hugging Face tokenizer downloads.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import litellm  # noqa: E402
import openai  # noqa: E402

from tests.fakes.provider_emulator import ProviderEmulator  # noqa: E402

litellm.suppress_debug_info = True  # otherwise every unpriced model prints a provider-list banner

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there friend"}]
PROMPT_WORDS = 5
REPLY_WORDS = 4  # "emulated reply from <model>"

# kind, litellm model, path the emulator must see, model name on the wire
PROVIDERS = [
    ("openai", "openai/gpt-4o-mini", "/v1/chat/completions", "gpt-4o-mini"),
    ("anthropic", "anthropic/claude-3-5-haiku-20241022", "/v1/messages", "claude-3-5-haiku-20241022"),
    ("gemini", "gemini/gemini-2.0-flash", "/v1beta/models/gemini-2.0-flash:generateContent", "gemini-2.0-flash"),
    ("ollama", "ollama_chat/llama3.2", "/api/chat", "llama3.2"),
    ("perplexity", "perplexity/sonar", "/chat/completions", "sonar"),
    ("anythingllm", "openai/my-workspace", "/api/v1/openai/chat/completions", "my-workspace"),
]
# One representative per wire format, for fault tests.
WIRE_FAMILIES = [p for p in PROVIDERS if p[0] in ("openai", "anthropic", "gemini", "ollama")]


def _ids(cases: list[tuple]) -> list[str]:
    return [case[0] for case in cases]


@pytest.fixture(scope="module")
def emulator() -> Iterator[ProviderEmulator]:
    with ProviderEmulator() as emu:
        yield emu


@pytest.fixture(autouse=True)
def _fresh(emulator: ProviderEmulator) -> None:
    emulator.clear()


def complete(emu: ProviderEmulator, kind: str, model: str, **kwargs):
    kwargs.setdefault("num_retries", 0)
    return litellm.completion(model=model, messages=MESSAGES, api_base=emu.api_base_for(kind), api_key="test", **kwargs)


def http_json(emu: ProviderEmulator, method: str, path: str, payload: dict | None = None):
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(emu.url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


# --------------------------------------------------------------------------- happy path per provider


@pytest.mark.parametrize(("kind", "model", "path", "wire_model"), PROVIDERS, ids=_ids(PROVIDERS))
def test_completion_reaches_emulator(emulator, kind, model, path, wire_model):
    response = complete(emulator, kind, model)

    assert response.choices[0].message.content == f"emulated reply from {wire_model}"
    assert response.usage.prompt_tokens == PROMPT_WORDS
    assert response.usage.completion_tokens == REPLY_WORDS
    assert response.usage.total_tokens == PROMPT_WORDS + REPLY_WORDS
    [seen] = emulator.requests_for(provider=kind)
    assert (seen["path"], seen["model"], seen["auth"], seen["fault"]) == (path, wire_model, True, None)


STREAMING = [p for p in PROVIDERS if p[0] in ("openai", "anthropic", "gemini", "ollama")]


@pytest.mark.parametrize(("kind", "model", "path", "wire_model"), STREAMING, ids=_ids(STREAMING))
def test_streaming_completion(emulator, kind, model, path, wire_model):
    stream = complete(emulator, kind, model, stream=True, stream_options={"include_usage": True})
    response = litellm.stream_chunk_builder(list(stream), messages=MESSAGES)

    assert response.choices[0].message.content == f"emulated reply from {wire_model}"
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (PROMPT_WORDS, REPLY_WORDS)
    [seen] = emulator.requests
    assert seen["stream"] is True
    assert seen["path"] == path.replace(":generateContent", ":streamGenerateContent")


def test_ollama_generate_endpoint(emulator):
    response = complete(emulator, "ollama", "ollama/llama3.2")

    assert response.choices[0].message.content == "emulated reply from llama3.2"
    assert response.usage.completion_tokens == REPLY_WORDS
    # litellm flattens the chat into a "### System: ..." prompt, so there are a few more words than in MESSAGES.
    assert response.usage.prompt_tokens >= PROMPT_WORDS
    assert emulator.requests[0]["path"] == "/api/generate"


def test_ollama_streams_ndjson_unless_told_not_to(emulator):
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    connection.request("POST", "/api/chat", json.dumps({"model": "llama3.2", "messages": MESSAGES[1:]}))
    lines = [json.loads(line) for line in connection.getresponse().read().splitlines()]

    assert "".join(line["message"]["content"] for line in lines) == "emulated reply from llama3.2"
    assert [line["done"] for line in lines][-1] is True
    assert (lines[-1]["prompt_eval_count"], lines[-1]["eval_count"]) == (3, REPLY_WORDS)


def test_ollama_tags(emulator):
    assert "llama3.2:latest" in [m["name"] for m in http_json(emulator, "GET", "/api/tags")["models"]]


# --------------------------------------------------------------------------- configured replies


def test_reply_queue_then_standing_reply(emulator):
    emulator.set_reply("always", model="gpt-4o-mini")
    emulator.set_reply({"plan": ["step 1"]}, model="gpt-4o-mini", times=1)

    contents = [complete(emulator, "openai", "openai/gpt-4o-mini").choices[0].message.content for _ in range(3)]

    assert contents == ['{"plan": ["step 1"]}', "always", "always"]
    assert complete(emulator, "gemini", "gemini/gemini-2.0-flash").choices[0].message.content.startswith("emulated")


def test_model_specific_reply_beats_wildcard(emulator):
    emulator.set_reply("specific", model="sonar")
    emulator.set_reply("anyone")

    assert complete(emulator, "perplexity", "perplexity/sonar").choices[0].message.content == "specific"
    assert complete(emulator, "openai", "openai/gpt-4o-mini").choices[0].message.content == "anyone"


def test_usage_follows_configured_reply(emulator):
    emulator.set_reply("one two three four five six seven")

    response = complete(emulator, "anthropic", "anthropic/claude-3-5-haiku-20241022")

    assert response.usage.completion_tokens == 7


def test_control_endpoints_over_http(emulator):
    http_json(emulator, "POST", "/_emulator/reply", {"model": "*", "content": "from http", "times": 1})
    http_json(emulator, "POST", "/_emulator/fault", {"model": "llama3.2", "fault": "500", "times": 1})

    with pytest.raises(litellm.InternalServerError):
        complete(emulator, "ollama", "ollama_chat/llama3.2")
    assert complete(emulator, "ollama", "ollama_chat/llama3.2").choices[0].message.content == "from http"
    recorded = http_json(emulator, "GET", "/_emulator/requests")
    assert [r["fault"] for r in recorded] == ["500", None]

    http_json(emulator, "POST", "/_emulator/reset", {})
    assert http_json(emulator, "GET", "/_emulator/requests") == []


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/_emulator/fault", {"fault": "teapot"}),
        ("/_emulator/fault", {"fault": "500", "provider": "gemnii"}),
        ("/_emulator/reply", {"model": "*"}),
        ("/_emulator/reply", {"content": "x", "times": 0}),
    ],
)
def test_control_rejects_bad_requests(emulator, path, payload):
    with pytest.raises(urllib.error.HTTPError) as raised:
        http_json(emulator, "POST", path, payload)
    assert raised.value.code == 400


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize(("kind", "model", "path", "wire_model"), WIRE_FAMILIES, ids=_ids(WIRE_FAMILIES))
def test_429_raises_rate_limit_with_retry_after_then_clears(emulator, kind, model, path, wire_model):
    emulator.add_fault("429", retry_after=7)

    with pytest.raises(litellm.RateLimitError) as raised:
        complete(emulator, kind, model)

    # litellm rebuilds e.response without the vendor headers; the originals survive on litellm_response_headers.
    assert raised.value.litellm_response_headers.get("retry-after") == "7"
    assert complete(emulator, kind, model).choices[0].message.content == f"emulated reply from {wire_model}"


def test_openai_sdk_honours_retry_after_when_retries_enabled(emulator):
    # Only the OpenAI SDK path retries natively (num_retries -> max_retries); it sleeps exactly Retry-After.
    emulator.add_fault("429", retry_after=1)
    started = time.monotonic()

    response = complete(emulator, "openai", "openai/gpt-4o-mini", num_retries=1)

    assert time.monotonic() - started >= 1.0
    assert response.choices[0].message.content == "emulated reply from gpt-4o-mini"
    assert [r["fault"] for r in emulator.requests] == ["429", None]


@pytest.mark.parametrize(("kind", "model", "path", "wire_model"), WIRE_FAMILIES, ids=_ids(WIRE_FAMILIES))
def test_500_raises_internal_server_error(emulator, kind, model, path, wire_model):
    emulator.add_fault("500")

    with pytest.raises(litellm.InternalServerError):
        complete(emulator, kind, model)


@pytest.mark.parametrize(("kind", "model", "path", "wire_model"), WIRE_FAMILIES, ids=_ids(WIRE_FAMILIES))
def test_hang_times_out(emulator, kind, model, path, wire_model):
    emulator.add_fault("hang")
    started = time.monotonic()

    with pytest.raises(litellm.Timeout):
        complete(emulator, kind, model, timeout=0.3)

    assert time.monotonic() - started < 1.3


def test_hang_is_bounded_by_hang_seconds(emulator):
    emulator.add_fault("hang", hang_seconds=0.2)
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    connection.request("POST", "/v1/chat/completions", json.dumps({"model": "m", "messages": []}))

    with pytest.raises(http.client.RemoteDisconnected):
        connection.getresponse()


def test_slow_delays_but_succeeds(emulator):
    emulator.add_fault("slow", delay=0.3)
    started = time.monotonic()

    response = complete(emulator, "anthropic", "anthropic/claude-3-5-haiku-20241022")

    assert time.monotonic() - started >= 0.3
    assert response.choices[0].message.content == "emulated reply from claude-3-5-haiku-20241022"


@pytest.mark.parametrize(("kind", "model", "path", "wire_model"), WIRE_FAMILIES, ids=_ids(WIRE_FAMILIES))
def test_malformed_body_raises(emulator, kind, model, path, wire_model):
    # The mapped class differs per provider (InternalServerError, APIConnectionError, BadRequestError);
    # all are openai.APIError subclasses.
    emulator.add_fault("malformed")

    with pytest.raises(openai.APIError):
        complete(emulator, kind, model)


def test_fault_targets_one_provider_and_model(emulator):
    emulator.add_fault("500", provider="perplexity", times=None)
    emulator.add_fault("500", model="gpt-4o", times=None)

    assert complete(emulator, "openai", "openai/gpt-4o-mini").choices[0].message.content
    with pytest.raises(litellm.InternalServerError):
        complete(emulator, "perplexity", "perplexity/sonar")
    with pytest.raises(litellm.InternalServerError):
        complete(emulator, "perplexity", "perplexity/sonar")  # times=None: still failing
    emulator.clear()
    assert complete(emulator, "perplexity", "perplexity/sonar").choices[0].message.content


def test_failed_call_does_not_consume_queued_reply(emulator):
    emulator.set_reply("the plan", times=1)
    emulator.add_fault("500")

    with pytest.raises(litellm.InternalServerError):
        complete(emulator, "openai", "openai/gpt-4o-mini")
    assert complete(emulator, "openai", "openai/gpt-4o-mini").choices[0].message.content == "the plan"


# --------------------------------------------------------------------------- cost


@pytest.mark.parametrize(
    ("kind", "model"),
    [("openai", "openai/gpt-4o-mini"), ("gemini", "gemini/gemini-2.0-flash"), ("perplexity", "perplexity/sonar")],
)
def test_cost_is_positive_for_priced_models(emulator, kind, model):
    response = complete(emulator, kind, model)

    assert response._hidden_params.get("response_cost") > 0
    assert litellm.completion_cost(response) > 0


def test_cost_is_zero_or_unknown_for_local_and_unpriced_models(emulator):
    assert complete(emulator, "ollama", "ollama_chat/llama3.2")._hidden_params.get("response_cost") == 0
    # An AnythingLLM workspace slug is not in the cost map: litellm reports no cost rather than 0.
    assert complete(emulator, "anythingllm", "openai/my-workspace")._hidden_params.get("response_cost") is None


# --------------------------------------------------------------------------- transport


def test_keep_alive_requests_are_fast(emulator):
    # Nagle + delayed ACK would cost ~40 ms per request on a reused connection.
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    body = json.dumps({"model": "m", "messages": MESSAGES})
    started = time.monotonic()
    for _ in range(20):
        connection.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
        assert json.loads(connection.getresponse().read())["usage"]["prompt_tokens"] == PROMPT_WORDS
    assert time.monotonic() - started < 0.4


def test_concurrent_clients(emulator):
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
            for _ in range(5):
                connection.request("POST", "/v1/messages", json.dumps({"model": "c", "messages": MESSAGES}))
                assert connection.getresponse().read()
        except BaseException as exc:  # collected and asserted in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(emulator.requests_for(model="c", provider="anthropic")) == 64 * 5
