"""Route one request: pick a deployment, call it, fall back, and record every attempt.

1. Eligible deployments: enabled (and their provider), allowed by the project's policy (providers,
   highest tier), not blocked by a used-up budget, breaker admitting, with the requested capabilities
   and a context window that fits. The offline demo provider is left out whenever a real provider
   is eligible, unless the policy names it.
2. The tier floor comes from the request: an executor hint, prompt features (very long prompts),
   and one step up for every earlier failed or rejected attempt of the task.
3. Among the deployments at or above the floor, the OutcomeLearner (the same code the
   `routing_replay` command measures) picks the cheapest one expected to be good enough, from the
   review outcomes recorded so far; with no outcomes that is simply the cheapest.
4. The fallback chain: the choice, then other deployments of the same tier (cheapest first), then
   the next tiers up. At most `max_fallbacks` deployments follow the first, and each gets at most
   `retries` extra tries, so one request makes at most (retries + 1) × (max_fallbacks + 1) attempts.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from architect.errors import DomainError
from llmrouting import breaker, budgets, config, limits, transport
from llmrouting.commits import unflushed_atomic
from llmrouting.learning import Candidate, Choice, OutcomeLearner, context_keys
from llmrouting.ledger import record_call
from llmrouting.models import (
    TIER_ORDER,
    CallOutcome,
    Deployment,
    RoutingOutcome,
    RoutingPolicy,
    Tier,
    tier_rank,
)

# A Retry-After up to this long is waited out and the same deployment retried; longer ones open
# the deployment's breaker until then and the request moves on to the next deployment.
MAX_RETRY_AFTER_WAIT = 2.0
DEFAULT_COMPLETION_TOKENS = 512
SYNC_INTERVAL = 1.0  # seconds between looks for review outcomes recorded by other processes
LONG_PROMPT_CHARS = 24_000
RETRYABLE = {CallOutcome.RATE_LIMITED, CallOutcome.SERVER_ERROR, CallOutcome.TIMEOUT, CallOutcome.BAD_RESPONSE}


class NoEligibleDeployment(DomainError):
    pass


class RoutingFailed(DomainError):
    status_code = 502


class Cancelled(DomainError):
    pass


@dataclass
class LLMRequest:
    prompt: str
    system: str = ""
    project_id: int | None = None
    task_id: int | None = None
    kind: str = ""
    min_tier: str = ""
    capabilities: tuple[str, ...] = ()
    max_tokens: int | None = None
    response_format: dict | None = None  # e.g. {"type": "json_object"}; dropped for providers without it
    escalation: int = 0  # earlier failed or rejected attempts of the same work
    actor: object = None
    cancelled: Callable[[], bool] = field(default=lambda: False)

    def messages(self) -> list[dict]:
        system = [{"role": "system", "content": self.system}] if self.system else []
        return [*system, {"role": "user", "content": self.prompt}]


@dataclass
class LLMResult:
    text: str
    request_id: uuid.UUID
    deployment: Deployment
    reason: str
    calls: list = field(default_factory=list)

    @property
    def prompt_tokens(self) -> int:
        return sum(c.prompt_tokens for c in self.calls)

    @property
    def completion_tokens(self) -> int:
        return sum(c.completion_tokens for c in self.calls)

    @property
    def cost(self) -> Decimal:
        return sum((c.cost for c in self.calls), Decimal("0"))


@dataclass
class Plan:
    chain: list[Deployment]
    floor: str
    reason: str
    retries: int
    budget_usage: list = field(default_factory=list)


def route(request: LLMRequest) -> LLMResult:
    plan = plan_for(request)
    return execute(request, plan)


# --- planning ----------------------------------------------------------------------------------


def plan_for(request: LLMRequest) -> Plan:
    policy = _policy(request.project_id)
    eligible, excluded, budget_usage = eligible_deployments(request, policy)
    if not eligible:
        raise NoEligibleDeployment(
            "No enabled, healthy deployment can take this request.", excluded=excluded or ["no deployment is enabled"]
        )
    floor, floor_why = decide_floor(request, policy)
    above = [d for d in eligible if tier_rank(d.tier) >= tier_rank(floor)]
    if not above:
        floor_why += f"; nothing eligible at {floor} or above, so lower tiers are used"
        above = eligible
    costs = {d.pk: expected_cost(d, request) for d in above}
    choice = choose(request, above, costs, policy)
    chosen = next(d for d in above if _arm(d) == choice.model)
    chain = fallback_chain(chosen, above, costs, policy.max_fallbacks)
    reason = f"floor {floor} ({floor_why}); {choice.reason}"
    if len(chain) > 1:
        reason += " Fallbacks: " + ", ".join(d.model for d in chain[1:]) + "."
    return Plan(chain=chain, floor=floor, reason=reason, retries=policy.retries, budget_usage=budget_usage)


def _policy(project_id: int | None) -> RoutingPolicy:
    return config.policy_for(project_id)


def eligible_deployments(request: LLMRequest, policy: RoutingPolicy) -> tuple[list[Deployment], list[str], list]:
    """Deployments that may take REQUEST, a note for each exclusion, and the applicable budgets' use."""
    allowed = getattr(policy, "allowed_ids", set())
    rows = config.deployments_with_health()
    needed_tokens = transport.estimate_tokens(request.messages()) + (request.max_tokens or DEFAULT_COMPLETION_TOKENS)
    excluded: list[str] = []
    candidates = []
    for deployment in rows:
        why_not = _exclusion(deployment, request, policy, allowed, needed_tokens)
        if why_not:
            excluded.append(f"{deployment.model}: {why_not}")
        else:
            candidates.append(deployment)
    if any(not d.provider.simulated for d in rows):
        candidates = _without_demo_unless_chosen(candidates, allowed)
    provider_ids = {d.provider_id for d in candidates}
    blocked, usage = set(), []
    applicable = config.budgets_for(request.project_id, provider_ids)
    if applicable:
        blocked, usage = budgets.check(request.project_id, provider_ids, actor=request.actor, candidates=applicable)
    excluded += [f"{d.model}: provider budget used up" for d in candidates if d.provider_id in blocked]
    return [d for d in candidates if d.provider_id not in blocked], excluded, usage


def _exclusion(deployment: Deployment, request: LLMRequest, policy, allowed: set, needed_tokens: int) -> str:
    if allowed and deployment.provider_id not in allowed:
        return "provider not allowed by the project's policy"
    if tier_rank(deployment.tier) > tier_rank(policy.highest_tier):
        return f"above the policy's highest tier ({policy.highest_tier})"
    missing = set(request.capabilities) - set(deployment.capabilities or [])
    if missing:
        return f"lacks {', '.join(sorted(missing))}"
    if deployment.context_window < needed_tokens:
        return f"context window {deployment.context_window} < {needed_tokens} tokens"
    if not breaker.may_call(breaker.health_of(deployment)):
        return "breaker open"
    return ""


def _without_demo_unless_chosen(candidates: list[Deployment], allowed: set) -> list[Deployment]:
    # Once a real provider is configured, simulated answers only go to projects whose policy names the demo.
    return [d for d in candidates if not d.provider.simulated or d.provider_id in allowed]


def decide_floor(request: LLMRequest, policy: RoutingPolicy) -> tuple[str, str]:
    """The lowest tier worth trying for REQUEST, and why."""
    rank, why = 0, ["default cheap"]
    if request.min_tier in Tier.values:
        rank, why = tier_rank(request.min_tier), [f"executor hint {request.min_tier}"]
    if len(request.prompt) > LONG_PROMPT_CHARS and rank < 1:
        rank, why = 1, why + ["long prompt"]
    if request.escalation:
        rank += request.escalation
        why.append(f"escalated {request.escalation} after earlier failed or rejected attempts")
    ceiling = tier_rank(policy.highest_tier)
    if rank > ceiling:
        rank, why = ceiling, why + [f"capped at policy's {policy.highest_tier}"]
    return TIER_ORDER[rank].value, ", ".join(why)


def expected_cost(deployment: Deployment, request: LLMRequest) -> float:
    prompt_tokens = transport.estimate_tokens(request.messages())
    completion_tokens = request.max_tokens or DEFAULT_COMPLETION_TOKENS
    return float(deployment.price_of(prompt_tokens, completion_tokens))


def fallback_chain(chosen: Deployment, candidates: list[Deployment], costs: dict, max_fallbacks: int) -> list:
    rank = tier_rank(chosen.tier)
    others = [d for d in candidates if d.pk != chosen.pk and tier_rank(d.tier) >= rank]
    others.sort(key=lambda d: (tier_rank(d.tier), d.provider_id == chosen.provider_id, costs[d.pk], d.pk))
    return [chosen, *others[:max_fallbacks]]


# --- the learner -------------------------------------------------------------------------------


def _new_learner() -> OutcomeLearner:
    # The replay caps spend at a share of the dearest model to meet its cost target; in the product the
    # policy's tiers and budgets bound spending, so quality decides and the cheapest adequate model wins.
    return OutcomeLearner(cost_share=None, seed=0)


class _SharedLearner:
    """One OutcomeLearner per process, fed every RoutingOutcome row once (new rows on each use)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.learner = _new_learner()
        self.seen_id = 0
        self.synced_at = -SYNC_INTERVAL
        self.dirty = False
        self.shapes: set[str] = set()  # prompt shapes some review outcome has been recorded for

    def sync(self) -> None:
        # Outcomes from other processes are picked up within SYNC_INTERVAL; our own at once.
        now = time.monotonic()
        if not self.dirty and now - self.synced_at < SYNC_INTERVAL:
            return
        self.synced_at, self.dirty = now, False
        rows = RoutingOutcome.objects.filter(id__gt=self.seen_id).order_by("id")
        for row in rows.values("id", "prompt", "kind", "deployment_id", "quality"):
            self.learner.observe(row["prompt"], f"d{row['deployment_id']}", row["quality"], kind=row["kind"])
            self.shapes.add(shape_of(row["prompt"], row["kind"]))
            self.seen_id = row["id"]

    def reset(self) -> None:
        with self.lock:
            self.learner = _new_learner()
            self.seen_id = 0
            self.synced_at = -SYNC_INTERVAL
            self.shapes = set()


shared_learner = _SharedLearner()


def _arm(deployment: Deployment) -> str:
    return f"d{deployment.pk}"


def shape_of(prompt: str, kind: str) -> str:
    return context_keys(prompt, kind)[1]


def choose(request: LLMRequest, candidates: list[Deployment], costs: dict, policy: RoutingPolicy):
    """The learner's choice once reviews of prompts like this exist; until then simply the cheapest.

    Without any review to learn from, the learner's warm-up exploration (trying every candidate a few
    times, premium ones included) would spend money for nothing, so it starts with the first review.
    """
    arms = [Candidate(name=_arm(d), cost=costs[d.pk], tier=d.tier) for d in candidates]
    names = {_arm(d): d.model for d in candidates}
    with shared_learner.lock:
        shared_learner.sync()
        if shape_of(request.prompt, request.kind) not in shared_learner.shapes:
            cheapest = min(candidates, key=lambda d: (costs[d.pk], d.pk))
            reason = f"{cheapest.model}: the cheapest eligible; no review outcomes yet for prompts like this."
            return Choice(model=_arm(cheapest), reason=reason)
        choice = shared_learner.learner.choose(
            request.prompt, arms, quality_target=policy.quality_target, kind=request.kind
        )
    reason = choice.reason
    for arm, model in sorted(names.items(), key=lambda item: -len(item[0])):
        reason = reason.replace(arm, model)
    return type(choice)(model=choice.model, reason=reason, estimates=choice.estimates)


# --- execution ---------------------------------------------------------------------------------


def execute(request: LLMRequest, plan: Plan) -> LLMResult:
    request_id = uuid.uuid4()
    messages = request.messages()
    calls: list = []
    failures: list[str] = []
    previous: Deployment | None = None
    for position, deployment in enumerate(plan.chain):
        before = plan.chain[position - 1].model if position else ""
        reason = plan.reason if position == 0 else f"fallback {position} after {before} failed; {plan.reason}"
        result = _try_deployment(request, deployment, plan, messages, request_id, calls, reason, previous)
        if isinstance(result, LLMResult):
            return result
        failures.append(f"{deployment.model}: {result}")
        previous = deployment if calls and calls[-1].deployment_id == deployment.pk else previous
    raise RoutingFailed(
        "Every deployment tried for this request failed.",
        request=str(request_id),
        attempts=len(calls),
        failures=failures,
    )


def _try_deployment(request, deployment, plan, messages, request_id, calls, reason, previous):
    """Up to plan.retries + 1 attempts on DEPLOYMENT: an LLMResult, or why it gave up."""
    last = "not tried"
    for _ in range(plan.retries + 1):
        if request.cancelled():
            raise Cancelled("The request was cancelled.", request=str(request_id))
        if not breaker.admit(deployment):
            return last if calls and calls[-1].deployment_id == deployment.pk else "breaker open"
        try:
            slot = limits.acquire(deployment.provider, _token_estimate(request, messages))
        except limits.RateLimited as exc:
            return str(exc)
        outcome = _attempt(request, deployment, plan, messages, request_id, calls, reason, previous, slot)
        if isinstance(outcome, LLMResult):
            return outcome
        last = f"{outcome.outcome}: {outcome.message[:200]}"
        if outcome.outcome not in RETRYABLE:
            return last
        if outcome.retry_after is not None:
            if outcome.retry_after > MAX_RETRY_AFTER_WAIT:
                breaker.trip(deployment, seconds=outcome.retry_after, error=outcome.message)
                return last
            time.sleep(outcome.retry_after)
    return last


def _attempt(request, deployment, plan, messages, request_id, calls, reason, previous, slot):
    attempt = len(calls) + 1
    common = {"request_id": request_id, "deployment": deployment, "attempt": attempt, "reason": reason,
              "project_id": request.project_id, "task_id": request.task_id, "fallback_from": previous,
              "kind": request.kind, "actor": request.actor}  # fmt: skip
    try:
        reply = transport.send(
            deployment, messages, api_key=_api_key(deployment), max_tokens=request.max_tokens,
            response_format=request.response_format,
        )  # fmt: skip
    except transport.AttemptFailed as failure:
        if slot is not None:
            slot.settle(0)
        _record_failure_health(deployment, failure)
        calls.append(
            record_call(outcome=failure.outcome, error=failure.message, latency_ms=failure.latency_ms, **common)
        )
        return failure
    breaker.record_success(deployment)
    with unflushed_atomic():  # one commit for the ledger row, its event and the token settlement
        if slot is not None:
            slot.settle(reply.prompt_tokens + reply.completion_tokens)
        call = record_call(
            outcome=CallOutcome.SUCCESS, prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens,
            cost=reply.cost, cost_source=reply.cost_source, latency_ms=reply.latency_ms, prompt=request.prompt,
            **common,
        )  # fmt: skip
    calls.append(call)
    if plan.budget_usage:
        budgets.warn_after_call(
            plan.budget_usage, provider_id=deployment.provider_id, cost=call.cost, actor=request.actor
        )
    return LLMResult(text=reply.text, request_id=request_id, deployment=deployment, reason=reason, calls=calls)


def _record_failure_health(deployment: Deployment, failure: transport.AttemptFailed) -> None:
    # A short Retry-After is the provider pacing us, not a sick deployment.
    if failure.outcome == CallOutcome.RATE_LIMITED and failure.retry_after is not None:
        return
    breaker.record_failure(deployment, failure.message)


def _api_key(deployment: Deployment) -> str:
    return config.api_key(deployment.provider_id)


def _token_estimate(request: LLMRequest, messages: list[dict]) -> int:
    return transport.estimate_tokens(messages) + (request.max_tokens or DEFAULT_COMPLETION_TOKENS)
