"""One attempt against one deployment: LiteLLM for real providers, a local answer for the demo.

LiteLLM is imported on the first real call, never when this module is imported, so manage.py
commands that never call a model do not pay its ~3 s import. We call `litellm.completion` per
attempt with LiteLLM's own retries off: retries, fallbacks, breaker and limits are decided by the
router, which must see every attempt to record it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

from llmrouting.models import CallOutcome, Deployment

_import_lock = threading.Lock()
_litellm = None


@dataclass
class Reply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal
    cost_source: str
    latency_ms: float


class AttemptFailed(Exception):
    """An attempt that reached (or tried to reach) the provider and failed."""

    def __init__(self, outcome: str, message: str, *, retry_after: float | None = None, latency_ms: float = 0.0):
        super().__init__(message)
        self.outcome = outcome
        self.message = message
        self.retry_after = retry_after
        self.latency_ms = latency_ms


def litellm():
    global _litellm
    if _litellm is None:
        with _import_lock:
            if _litellm is None:
                import litellm as module

                module.suppress_debug_info = True  # else every unpriced model prints a banner
                module.drop_params = True  # providers that lack e.g. max_tokens still answer
                _litellm = module
    return _litellm


def send(
    deployment: Deployment, messages: list[dict], *, api_key: str, max_tokens: int | None,
    response_format: dict | None = None,
) -> Reply:  # fmt: skip
    if deployment.provider.simulated:
        return simulate(deployment, messages, max_tokens=max_tokens)
    lib = litellm()
    started = time.perf_counter()
    try:
        response = lib.completion(
            model=deployment.model,
            messages=messages,
            api_base=deployment.provider.api_base or None,
            api_key=api_key or None,
            timeout=deployment.provider.timeout_seconds,
            num_retries=0,
            max_tokens=max_tokens,
            **({"response_format": response_format} if response_format else {}),
        )
    except Exception as exc:
        raise classify(exc, latency_ms=_ms_since(started)) from exc
    latency_ms = _ms_since(started)
    return _reply_from(response, deployment, messages, latency_ms)


def _reply_from(response, deployment: Deployment, messages: list[dict], latency_ms: float) -> Reply:
    try:
        text = response.choices[0].message.content
    except (AttributeError, IndexError) as exc:
        raise AttemptFailed(
            CallOutcome.BAD_RESPONSE, f"No answer in the response: {exc}", latency_ms=latency_ms
        ) from exc
    if not text:
        raise AttemptFailed(
            CallOutcome.BAD_RESPONSE, "The provider answered with empty content.", latency_ms=latency_ms
        )
    usage = getattr(response, "usage", None)
    prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
    completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
    cost, source = call_cost(response, deployment, prompt_tokens, completion_tokens)
    if deployment.is_paid and (cost <= 0 or not (prompt_tokens or completion_tokens)):
        # A paid call must never be recorded as free: estimate the tokens from the text instead.
        prompt_tokens = prompt_tokens or estimate_tokens(messages)
        completion_tokens = completion_tokens or max(1, len(text) // 4)
        cost, source = deployment.price_of(prompt_tokens, completion_tokens), "estimated"
    return Reply(text, prompt_tokens, completion_tokens, cost, source, latency_ms)


def call_cost(response, deployment: Deployment, prompt_tokens: int, completion_tokens: int) -> tuple[Decimal, str]:
    """LiteLLM's cost for models in its price map; the deployment's configured prices otherwise."""
    hidden = getattr(response, "_hidden_params", None) or {}
    cost = hidden.get("response_cost")
    if cost is None:
        try:
            cost = litellm().completion_cost(completion_response=response)
        except Exception:  # noqa: BLE001 (an unknown model raises; its configured prices apply below)
            cost = None
    if cost is not None and (cost > 0 or not deployment.is_paid):
        return Decimal(str(cost)).quantize(Decimal("1e-10")), "litellm"
    return deployment.price_of(prompt_tokens, completion_tokens), "configured"


def classify(exc: Exception, *, latency_ms: float) -> AttemptFailed:
    lib = litellm()
    message = f"{type(exc).__name__}: {exc}"[:2000]
    if isinstance(exc, lib.RateLimitError):
        headers = getattr(exc, "litellm_response_headers", None) or {}
        return AttemptFailed(
            CallOutcome.RATE_LIMITED, message, retry_after=_seconds(headers.get("retry-after")), latency_ms=latency_ms
        )
    if isinstance(exc, lib.Timeout):
        return AttemptFailed(CallOutcome.TIMEOUT, message, latency_ms=latency_ms)
    if isinstance(exc, lib.InternalServerError | lib.ServiceUnavailableError | lib.APIConnectionError):
        outcome = CallOutcome.BAD_RESPONSE if _looks_malformed(message) else CallOutcome.SERVER_ERROR
        return AttemptFailed(outcome, message, latency_ms=latency_ms)
    if _looks_malformed(message):
        return AttemptFailed(CallOutcome.BAD_RESPONSE, message, latency_ms=latency_ms)
    return AttemptFailed(CallOutcome.ERROR, message, latency_ms=latency_ms)


def _looks_malformed(message: str) -> bool:
    lowered = message.lower()
    return any(mark in lowered for mark in ("json", "decode", "expecting value", "unterminated", "malformed"))


def _seconds(value) -> float | None:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def estimate_tokens(messages: list[dict]) -> int:
    return max(1, sum(len(str(m.get("content", ""))) for m in messages) // 4)


# --- the offline demo provider ------------------------------------------------------------------

DEMO_LINES = [
    "Here is a short plan: reproduce the problem, write a failing test, fix it, and run the suite.",
    "The change is small: validate the input at the boundary and return a clear message.",
    "Summary: the module has three responsibilities; split the parsing from the formatting first.",
    "Answer: use a dictionary keyed by id, which makes the lookup constant time.",
]


def simulate(deployment: Deployment, messages: list[dict], *, max_tokens: int | None) -> Reply:
    """A deterministic local answer with simulated but non-zero usage and cost: no network at all."""
    started = time.perf_counter()
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    digest = int(hashlib.sha256(prompt.encode()).hexdigest(), 16)
    line = DEMO_LINES[digest % len(DEMO_LINES)]
    text = f"[simulated by {deployment.model}] {line}"
    prompt_tokens = estimate_tokens(messages)
    completion_tokens = max(1, len(text) // 4)
    if max_tokens:
        completion_tokens = min(completion_tokens, max_tokens)
    cost = deployment.price_of(prompt_tokens, completion_tokens)
    return Reply(text, prompt_tokens, completion_tokens, cost, "simulated", _ms_since(started))
