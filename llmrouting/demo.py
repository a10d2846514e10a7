"""Demo LLM data for `make run`: routed calls through the offline (simulated) provider, a budget and an
`llm` task, so /llm-metrics/ and the board show routing and costs with no API keys."""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from llmrouting import services
from llmrouting.ledger import record_call
from llmrouting.models import Budget, CallOutcome, LLMCall, Provider, ProviderKind, RoutingPolicy
from llmrouting.router import LLMRequest, route
from projects.models import Project
from projects.services import tasks as task_services

DEMO_PROMPTS = [
    ("Summarise the open bugs of the todo app in two sentences.", "summary", ""),
    ("Write a Python function that returns the tasks due this week.", "code", "standard"),
    ("Review this design: tasks are stored in one JSON file per user. Risks?", "review", "premium"),
    ("Suggest three names for the 'archive' button.", "text", ""),
    ("Explain the empty-list error in plain words for the changelog.", "summary", ""),
]
DAYS = 14


def seed_llm_demo(actor) -> list:
    demo_provider = Provider.objects.filter(kind=ProviderKind.DEMO).first()
    project = Project.objects.filter(slug="demo").first()
    if demo_provider is None or project is None:
        return []
    # The demo project always routes to the simulated provider, even once real keys are configured.
    policy, _ = RoutingPolicy.objects.get_or_create(project=project)
    policy.allowed_providers.set([demo_provider])
    Budget.objects.get_or_create(project=project, period="month", defaults={"limit_usd": Decimal("0.02")})
    rng = random.Random(7)  # noqa: S311 (made-up demo data)
    results = [_routed_call(project, rng, i) for i in range(36)]
    _simulated_failovers(project, results[:3])
    _spread_over_days(project, rng)
    task_services.task_create(
        actor=actor, project=project, title="Draft release notes (LLM)", executor="llm", status="ready", priority=4,
        description="Draft short release notes for version 1 of the todo app from its done tasks.",
        metadata={"llm": {"kind": "summary"}},
    )  # fmt: skip
    return results


def _routed_call(project, rng, index):
    prompt, kind, tier = DEMO_PROMPTS[index % len(DEMO_PROMPTS)]
    result = route(LLMRequest(prompt=prompt, project_id=project.pk, kind=kind, min_tier=tier, actor="demo"))
    if rng.random() < 0.6:
        services.routing_outcome_record(call_or_task=result.calls[-1], quality=rng.choice([1.0, 1.0, 0.8, 0.0]))
    return result


def _simulated_failovers(project, results) -> None:
    """A few failed first attempts, so the dashboard shows error and failover rates."""
    for result in results:
        first = result.calls[0]
        failed = record_call(
            request_id=first.request_id, deployment=first.deployment, outcome=CallOutcome.TIMEOUT, attempt=1,
            project_id=project.pk, latency_ms=30_000.0, error="simulated timeout (demo data)", reason=first.reason,
        )  # fmt: skip
        LLMCall.objects.filter(pk=first.pk).update(attempt=2, fallback_from=failed.deployment)


def _spread_over_days(project, rng) -> None:
    now = timezone.now()
    for call in LLMCall.objects.filter(project=project, simulated=True):
        moved = now - timedelta(days=rng.randrange(DAYS), hours=rng.randrange(12), minutes=rng.randrange(60))
        latency = call.latency_ms if call.latency_ms >= 1000 else rng.lognormvariate(6.3, 0.5)
        LLMCall.objects.filter(pk=call.pk).update(created_at=moved, latency_ms=round(latency, 1))
