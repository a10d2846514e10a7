"""Local LLM provider emulator for tests, benchmarks and manual runs.

One stdlib HTTP/1.1 server (keep-alive, exact Content-Length) speaking the wire formats Architect reaches through
LiteLLM: OpenAI chat completions (also OpenAI-compatible AnythingLLM and Perplexity), Anthropic messages, Gemini
generateContent and Ollama chat/generate. Replies are deterministic (``"emulated reply from <model>"``) unless
configured, usage counts are words in the prompt / reply, and every completion call is recorded.

Pointing LiteLLM at it (checked against the installed litellm 1.102.4 source) -- ``ProviderEmulator.api_base_for``:

===========  ===================================  ===================  =================================================
kind         litellm model                        api_base             path the emulator receives
===========  ===================================  ===================  =================================================
openai       openai/gpt-4o-mini                   {url}/v1             /v1/chat/completions
anthropic    anthropic/claude-3-5-haiku-20241022  {url}                /v1/messages
gemini       gemini/gemini-2.0-flash              {url}/v1beta         /v1beta/models/gemini-2.0-flash:generateContent
ollama       ollama_chat/llama3.2                 {url}                /api/chat  (``ollama/llama3.2``: /api/generate)
anythingllm  openai/<workspace-slug>              {url}/api/v1/openai  /api/v1/openai/chat/completions
perplexity   perplexity/sonar                     {url}                /chat/completions
===========  ===================================  ===================  =================================================

Why those bases:

* openai / anythingllm / perplexity: the OpenAI SDK appends ``/chat/completions`` to the base verbatim, so any
  version segment belongs in the base. AnythingLLM really serves its OpenAI API under ``/api/v1/openai`` and
  Perplexity's real API has no ``/v1``, so the emulator tells the three apart by path prefix and faults can target
  one of them (``provider="perplexity"``).
* anthropic: litellm appends ``/v1/messages`` unless the base already ends with it (``main.py``), so a base of
  ``{url}/v1`` would hit ``/v1/v1/messages``.
* gemini: with a custom base litellm builds ``{api_base}/models/{model}:{endpoint}``
  (``VertexBase._check_custom_proxy``), so the API version must be in the base; streaming calls
  ``:streamGenerateContent?alt=sse``. litellm refuses to call without an api key even here.
* ollama: litellm appends ``/api/chat`` (``ollama_chat/``) or ``/api/generate`` (``ollama/``).

Control over HTTP, for a server in another process (same semantics as the Python API):

* ``POST /_emulator/reply``  ``{"model": "<name>|*", "provider": "<kind>|*", "content": "...", "times": null|n}``
* ``POST /_emulator/fault``  ``{"model", "provider", "fault": "429|500|hang|slow|malformed", "times": n|null
  (default 1, null = forever), "retry_after": s, "delay": s, "hang_seconds": s}``
* ``GET /_emulator/requests``, ``POST /_emulator/reset``

Standalone: ``python -m tests.fakes.provider_emulator --port N`` prints the URL and serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

ANY = "*"
FAULTS = ("429", "500", "hang", "slow", "malformed")
DEFAULT_HANG_SECONDS = 30.0
DEFAULT_SLOW_SECONDS = 1.0
_HANG_POLL_SECONDS = 0.05
_AUTH_HEADERS = ("authorization", "x-api-key", "x-goog-api-key")
_RECORDED_HEADERS = (*_AUTH_HEADERS, "anthropic-version", "content-type", "user-agent")
_TEXT_KEYS = frozenset({"content", "text", "prompt", "system"})

_API_BASE_SUFFIX = {
    "openai": "/v1",
    "anthropic": "",
    "gemini": "/v1beta",
    "ollama": "",
    "anythingllm": "/api/v1/openai",
    "perplexity": "",
}


# --------------------------------------------------------------------------- calls and usage


@dataclass
class Call:
    """One completion request as the formatters see it."""

    kind: str
    wire: str
    model: str
    body: dict
    stream: bool
    serial: int
    reply: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def created(self) -> int:
        return int(time.time())

    @property
    def created_at(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def count_words(value: Any) -> int:
    """Token estimate: words in every text field of a prompt structure, ignoring roles, ids and urls."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(count_words(item) for item in value)
    if isinstance(value, dict):
        return sum(count_words(v) for k, v in value.items() if k in _TEXT_KEYS or not isinstance(v, str))
    return 0


def _pieces(text: str) -> list[str]:
    # Several deltas per stream so clients really have to accumulate chunks.
    return re.findall(r"\S+\s*|\s+", text) or [""]


def _sse(payloads: list[dict], *, named: bool = False, done_marker: bool = False) -> bytes:
    # Anthropic names every event after its payload type; OpenAI terminates with a literal [DONE].
    frames = [(f"event: {p['type']}\n" if named else "") + f"data: {json.dumps(p)}\n\n" for p in payloads]
    return "".join(frames + (["data: [DONE]\n\n"] if done_marker else [])).encode()


def _ndjson(payloads: list[dict]) -> bytes:
    return "".join(json.dumps(p) + "\n" for p in payloads).encode()


# --------------------------------------------------------------------------- OpenAI


def _openai_usage(c: Call) -> dict:
    return {"prompt_tokens": c.prompt_tokens, "completion_tokens": c.completion_tokens, "total_tokens": c.total_tokens}


def _openai_envelope(c: Call, obj: str, choice: dict) -> dict:
    return {"id": f"chatcmpl-emu{c.serial}", "object": obj, "created": c.created, "model": c.model, "choices": [choice]}


def _openai_ok(c: Call) -> dict:
    message = {"role": "assistant", "content": c.reply}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return {**_openai_envelope(c, "chat.completion", choice), "usage": _openai_usage(c)}


def _openai_stream(c: Call) -> bytes:
    def chunk(delta: dict, finish: str | None = None) -> dict:
        return _openai_envelope(c, "chat.completion.chunk", {"index": 0, "delta": delta, "finish_reason": finish})

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": piece}) for piece in _pieces(c.reply)]
    chunks.append(chunk({}, "stop"))
    if (c.body.get("stream_options") or {}).get("include_usage"):
        chunks.append({**chunk({}), "choices": [], "usage": _openai_usage(c)})
    return _sse(chunks, done_marker=True)


def _openai_error(status: int, message: str) -> dict:
    kind, code = {429: ("requests", "rate_limit_exceeded"), 500: ("server_error", None)}.get(
        status, ("invalid_request_error", None)
    )
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


# --------------------------------------------------------------------------- Anthropic


def _anthropic_ok(c: Call) -> dict:
    return {
        "id": f"msg_emu{c.serial}",
        "type": "message",
        "role": "assistant",
        "model": c.model,
        "content": [{"type": "text", "text": c.reply}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": c.prompt_tokens, "output_tokens": c.completion_tokens},
    }


def _anthropic_stream(c: Call) -> bytes:
    opening = {**_anthropic_ok(c), "content": [], "stop_reason": None}
    opening["usage"] = {"input_tokens": c.prompt_tokens, "output_tokens": 1}
    deltas = [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
        for piece in _pieces(c.reply)
    ]
    events = [
        {"type": "message_start", "message": opening},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *deltas,
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": c.completion_tokens},
        },
        {"type": "message_stop"},
    ]
    return _sse(events, named=True)


def _anthropic_error(status: int, message: str) -> dict:
    kind = {429: "rate_limit_error", 500: "api_error", 404: "not_found_error"}.get(status, "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


# --------------------------------------------------------------------------- Gemini


def _gemini_payload(c: Call, text: str, *, final: bool) -> dict:
    candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
    payload: dict[str, Any] = {"candidates": [candidate], "modelVersion": c.model, "responseId": f"emu{c.serial}"}
    if final:
        candidate["finishReason"] = "STOP"
        payload["usageMetadata"] = {
            "promptTokenCount": c.prompt_tokens,
            "candidatesTokenCount": c.completion_tokens,
            "totalTokenCount": c.total_tokens,
        }
    return payload


def _gemini_ok(c: Call) -> dict:
    return _gemini_payload(c, c.reply, final=True)


def _gemini_stream(c: Call) -> bytes:
    *head, last = _pieces(c.reply)
    return _sse([*(_gemini_payload(c, p, final=False) for p in head), _gemini_payload(c, last, final=True)])


def _gemini_error(status: int, message: str) -> dict:
    state = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 404: "NOT_FOUND"}.get(status, "INVALID_ARGUMENT")
    return {"error": {"code": status, "message": message, "status": state}}


# --------------------------------------------------------------------------- Ollama


def _ollama_formatters(content: Callable[[str], dict]) -> tuple[Callable, Callable]:
    """ok/stream formatters for an Ollama endpoint; ``content`` shapes the text (chat message vs generate)."""

    def payload(c: Call, text: str, *, final: bool) -> dict:
        body = {"model": c.model, "created_at": c.created_at, **content(text), "done": final}
        if final:
            body.update(done_reason="stop", prompt_eval_count=c.prompt_tokens, eval_count=c.completion_tokens)
        return body

    def ok(c: Call) -> dict:
        return payload(c, c.reply, final=True)

    def stream(c: Call) -> bytes:
        return _ndjson([*(payload(c, p, final=False) for p in _pieces(c.reply)), payload(c, "", final=True)])

    return ok, stream


def _ollama_error(status: int, message: str) -> dict:
    return {"error": message}


# --------------------------------------------------------------------------- wire table and routes


@dataclass(frozen=True)
class Wire:
    ok: Callable[[Call], dict]
    stream: Callable[[Call], bytes]
    error: Callable[[int, str], dict]
    stream_type: str
    prompt_fields: tuple[str, ...]
    # Ollama streams unless told "stream": false.
    stream_by_default: bool = False


_ollama_chat_ok, _ollama_chat_stream = _ollama_formatters(lambda t: {"message": {"role": "assistant", "content": t}})
_ollama_gen_ok, _ollama_gen_stream = _ollama_formatters(lambda t: {"response": t})

WIRES: dict[str, Wire] = {
    "openai": Wire(_openai_ok, _openai_stream, _openai_error, "text/event-stream", ("messages",)),
    "anthropic": Wire(_anthropic_ok, _anthropic_stream, _anthropic_error, "text/event-stream", ("system", "messages")),
    "gemini": Wire(
        _gemini_ok,
        _gemini_stream,
        _gemini_error,
        "text/event-stream",
        ("systemInstruction", "system_instruction", "contents"),
    ),
    "ollama_chat": Wire(
        _ollama_chat_ok, _ollama_chat_stream, _ollama_error, "application/x-ndjson", ("messages",), True
    ),
    "ollama_generate": Wire(
        _ollama_gen_ok, _ollama_gen_stream, _ollama_error, "application/x-ndjson", ("system", "prompt"), True
    ),
}

# (path regex, provider kind, wire). Gemini carries the model and the streaming choice in the path.
ROUTES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"/api/v1/openai/chat/completions"), "anythingllm", "openai"),
    (re.compile(r"/v1/chat/completions"), "openai", "openai"),
    (re.compile(r"/chat/completions"), "perplexity", "openai"),
    (re.compile(r"/v1/messages"), "anthropic", "anthropic"),
    (
        re.compile(r"/v1(?:beta)?/models/(?P<model>[^:]+):(?P<method>generateContent|streamGenerateContent)"),
        "gemini",
        "gemini",
    ),
    (re.compile(r"/api/chat"), "ollama", "ollama_chat"),
    (re.compile(r"/api/generate"), "ollama", "ollama_generate"),
)


def _match_route(path: str) -> tuple[str, str, re.Match[str]] | None:
    for pattern, kind, wire in ROUTES:
        match = pattern.fullmatch(path)
        if match:
            return kind, wire, match
    return None


def _wants_stream(wire: Wire, body: dict, match: re.Match[str]) -> bool:
    if "method" in match.groupdict():
        return match["method"] == "streamGenerateContent"
    return bool(body.get("stream", wire.stream_by_default))


# --------------------------------------------------------------------------- rules (replies and faults)


@dataclass(frozen=True)
class Fault:
    name: str
    retry_after: float | None = None
    delay: float | None = None
    hang_seconds: float | None = None


@dataclass
class _Rule:
    model: str
    provider: str
    times: int | None
    value: Any

    def matches(self, model: str, kind: str) -> bool:
        return self.model in (ANY, model) and self.provider in (ANY, kind)


def _take(rules: list[_Rule], model: str, kind: str, *, consume: bool = True) -> _Rule | None:
    """Finite rules form a FIFO queue and win over standing (times=None) rules; among standing rules the newest
    model-specific one wins, then the newest wildcard. Caller holds the lock."""
    matching = [r for r in rules if r.matches(model, kind)]
    finite = [r for r in matching if r.times is not None]
    if finite:
        rule = finite[0]
        if not consume:
            return rule
        rule.times -= 1
        if rule.times <= 0:
            rules.remove(rule)
        return rule
    if not matching:
        return None
    return max(enumerate(matching), key=lambda pair: (pair[1].model != ANY, pair[0]))[1]


def _check_provider(provider: str) -> str:
    # A typo here would silently never match, which reads as "the fault didn't fire".
    if provider != ANY and provider not in _API_BASE_SUFFIX:
        raise ValueError(f"unknown provider kind {provider!r}; expected '*' or one of {sorted(_API_BASE_SUFFIX)}")
    return provider


def _check_times(times: int | None) -> int | None:
    if times is not None and (not isinstance(times, int) or times < 1):
        raise ValueError(f"times must be a positive int or None, got {times!r}")
    return times


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    # Without these the emulator adds ~40 ms per call (Nagle + delayed ACK) and refuses connections under load.
    daemon_threads = True
    request_queue_size = 512
    allow_reuse_address = True
    emulator: ProviderEmulator

    def get_request(self):
        conn, addr = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.emulator.verbose:
            super().log_message(format, *args)

    def _dispatch(self) -> None:
        path = urlsplit(self.path).path
        raw = self._read_body()
        emulator = self.server.emulator
        if path.startswith("/_emulator/"):
            return self._control(path, raw)
        if path in _METADATA:
            return self.send_json(200, _METADATA[path](emulator))
        route = _match_route(path)
        if route is None:
            return self.send_json(404, {"error": f"no emulated endpoint for {self.command} {path}"})
        kind, wire_name, match = route
        body = _parse_json(raw)
        wire = WIRES[wire_name]
        if not isinstance(body, dict):
            return self.send_json(400, wire.error(400, "request body is not a JSON object"))
        call = Call(
            kind,
            wire_name,
            match.groupdict().get("model") or str(body.get("model", "")),
            body,
            _wants_stream(wire, body, match),
            serial=0,
        )
        fault = emulator._admit(call, path, self._headers_of_interest())
        emulator._respond(self, call, wire, fault)

    def _control(self, path: str, raw: bytes) -> None:
        action = _CONTROL.get((self.command, path))
        if action is None:
            return self.send_json(404, {"error": f"unknown control endpoint {self.command} {path}"})
        try:
            self.send_json(200, action(self.server.emulator, _parse_json(raw) or {}))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.send_json(400, {"error": f"bad control request: {exc!r}"})

    def _read_body(self) -> bytes:
        # Always drain the body, even for requests we reject, or the next keep-alive request would be garbage.
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _headers_of_interest(self) -> dict[str, str]:
        return {name: self.headers[name] for name in _RECORDED_HEADERS if self.headers.get(name) is not None}

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def send_bytes(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client already gave up (timeouts, hang/slow faults)

    def client_gone(self) -> bool:
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _ollama_tags(emulator: ProviderEmulator) -> dict:
    names = sorted({"llama3.2:latest", *emulator.configured_models()})
    return {"models": [{"name": n, "model": n, "size": 0, "digest": "emulated", "details": {}} for n in names]}


def _ollama_show(emulator: ProviderEmulator) -> dict:
    return {
        "details": {"family": "llama"},
        "model_info": {"llama.context_length": 8192},
        "capabilities": ["completion"],
    }


# Metadata endpoints litellm may probe; served statically and not recorded, so faults never hit them.
_METADATA: dict[str, Callable[[ProviderEmulator], dict]] = {"/api/tags": _ollama_tags, "/api/show": _ollama_show}


def _control_reply(emulator: ProviderEmulator, body: dict) -> dict:
    emulator.set_reply(
        body["content"], model=body.get("model", ANY), provider=body.get("provider", ANY), times=body.get("times")
    )
    return {"ok": True}


def _control_fault(emulator: ProviderEmulator, body: dict) -> dict:
    emulator.add_fault(
        str(body["fault"]),
        model=body.get("model", ANY),
        provider=body.get("provider", ANY),
        times=body.get("times", 1),
        retry_after=body.get("retry_after"),
        delay=body.get("delay"),
        hang_seconds=body.get("hang_seconds"),
    )
    return {"ok": True}


def _control_reset(emulator: ProviderEmulator, body: dict) -> dict:
    emulator.clear()
    return {"ok": True}


_CONTROL: dict[tuple[str, str], Callable[[ProviderEmulator, dict], Any]] = {
    ("POST", "/_emulator/reply"): _control_reply,
    ("POST", "/_emulator/fault"): _control_fault,
    ("POST", "/_emulator/reset"): _control_reset,
    ("GET", "/_emulator/requests"): lambda emulator, body: emulator.requests,
}


# --------------------------------------------------------------------------- public API


class ProviderEmulator:
    """Fake LLM provider server. Use as a context manager or via start()/stop()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False) -> None:
        self.host = host
        self.port = port
        self.verbose = verbose
        self.url: str | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._serial = itertools.count(1)
        self._requests: list[dict] = []
        self._replies: list[_Rule] = []
        self._faults: list[_Rule] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> ProviderEmulator:
        self._stopping.clear()
        self._server = _Server((self.host, self.port), _Handler)
        self._server.emulator = self
        self.port = self._server.server_address[1]
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            # A short poll keeps stop() (and so every test module teardown) from waiting the default 0.5 s.
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="provider-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # releases handlers sleeping in hang/slow faults
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def api_base_for(self, kind: str) -> str:
        """The litellm ``api_base`` that makes provider ``kind`` hit this emulator (see module docstring)."""
        if self.url is None:
            raise RuntimeError("emulator not started")
        try:
            return self.url + _API_BASE_SUFFIX[kind]
        except KeyError:
            raise ValueError(f"unknown provider kind {kind!r}; expected one of {sorted(_API_BASE_SUFFIX)}") from None

    # configuration

    def set_reply(self, content: Any, model: str = ANY, times: int | None = None, provider: str = ANY) -> None:
        """Reply ``content`` (non-strings are JSON-encoded, e.g. an autopilot plan) for ``times`` calls or forever."""
        text = content if isinstance(content, str) else json.dumps(content)
        with self._lock:
            self._replies.append(_Rule(model, _check_provider(provider), _check_times(times), text))

    def add_fault(
        self,
        fault: str,
        model: str = ANY,
        provider: str = ANY,
        times: int | None = 1,
        retry_after: float | None = None,
        delay: float | None = None,
        hang_seconds: float | None = None,
    ) -> None:
        """Make matching calls fail: 429, 500, hang, slow or malformed, for ``times`` calls (None = forever)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
        with self._lock:
            self._faults.append(
                _Rule(
                    model,
                    _check_provider(provider),
                    _check_times(times),
                    Fault(fault, retry_after, delay, hang_seconds),
                )
            )

    def clear(self) -> None:
        """Forget recorded requests, replies and faults."""
        with self._lock:
            self._requests.clear()
            self._replies.clear()
            self._faults.clear()

    def configured_models(self) -> set[str]:
        with self._lock:
            return {r.model for r in self._replies if r.model != ANY}

    # inspection

    @property
    def requests(self) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self._requests]

    def requests_for(self, model: str | None = None, provider: str | None = None) -> list[dict]:
        return [r for r in self.requests if model in (None, r["model"]) and provider in (None, r["provider"])]

    # request handling (called from handler threads)

    def _admit(self, call: Call, path: str, headers: dict[str, str]) -> Fault | None:
        """Pick the fault or reply for ``call``, fill in its usage and record it -- atomically."""
        with self._lock:
            call.serial = next(self._serial)
            fault_rule = _take(self._faults, call.model, call.kind)
            fault = fault_rule.value if fault_rule else None
            # A failed call must not use up a queued reply: the client's retry should still get it.
            delivered = fault is None or fault.name == "slow"
            reply_rule = _take(self._replies, call.model, call.kind, consume=delivered)
            call.reply = reply_rule.value if reply_rule else f"emulated reply from {call.model}"
            wire = WIRES[call.wire]
            call.prompt_tokens = max(1, count_words([call.body.get(f) for f in wire.prompt_fields]))
            call.completion_tokens = max(1, count_words(call.reply))
            self._requests.append(self._record(call, path, headers, fault))
        return fault

    @staticmethod
    def _record(call: Call, path: str, headers: dict[str, str], fault: Fault | None) -> dict:
        return {
            "provider": call.kind,
            "wire": call.wire,
            "path": path,
            "model": call.model,
            "stream": call.stream,
            "headers": headers,
            "auth": any(name in headers for name in _AUTH_HEADERS),
            "body": call.body,
            "time": time.time(),
            "fault": fault.name if fault else None,
            "reply": call.reply,
        }

    def _respond(self, handler: _Handler, call: Call, wire: Wire, fault: Fault | None) -> None:
        if fault is not None and not _FAULT_ACTIONS[fault.name](self, handler, call, wire, fault):
            return
        if call.stream:
            handler.send_bytes(200, wire.stream(call), wire.stream_type)
        else:
            handler.send_json(200, wire.ok(call))

    def _linger(self, handler: _Handler, seconds: float) -> None:
        # Poll so a hang ends as soon as the client disconnects or the emulator stops, not after the full bound.
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not handler.client_gone():
            if self._stopping.wait(_HANG_POLL_SECONDS):
                return


# Fault actions return True when the normal response should still be sent afterwards.


def _fault_status(status: int, message: str) -> Callable[..., bool]:
    def action(emulator: ProviderEmulator, handler: _Handler, call: Call, wire: Wire, fault: Fault) -> bool:
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else None
        handler.send_json(status, wire.error(status, message), headers)
        return False

    return action


def _fault_hang(emulator: ProviderEmulator, handler: _Handler, call: Call, wire: Wire, fault: Fault) -> bool:
    emulator._linger(handler, fault.hang_seconds if fault.hang_seconds is not None else DEFAULT_HANG_SECONDS)
    handler.close_connection = True  # never answer: the client sees a timeout or a dropped connection
    return False


def _fault_slow(emulator: ProviderEmulator, handler: _Handler, call: Call, wire: Wire, fault: Fault) -> bool:
    emulator._stopping.wait(fault.delay if fault.delay is not None else DEFAULT_SLOW_SECONDS)
    return True


def _fault_malformed(emulator: ProviderEmulator, handler: _Handler, call: Call, wire: Wire, fault: Fault) -> bool:
    whole = json.dumps(wire.ok(call)).encode()
    handler.send_bytes(200, whole[: len(whole) // 2], "application/json")
    return False


_FAULT_ACTIONS: dict[str, Callable[..., bool]] = {
    "429": _fault_status(429, "Rate limit exceeded (emulated)"),
    "500": _fault_status(500, "Internal server error (emulated)"),
    "hang": _fault_hang,
    "slow": _fault_slow,
    "malformed": _fault_malformed,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the LLM provider emulator standalone.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    emulator = ProviderEmulator(args.host, args.port, verbose=args.verbose).start()
    print(emulator.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
