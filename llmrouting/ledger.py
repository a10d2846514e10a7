"""The cost ledger: one LLMCall row and one `llm.call` event per attempt, in one transaction."""

from decimal import Decimal

from django.db import transaction

from llmrouting.models import CallOutcome, Deployment, LLMCall
from projects.services.events import event_record


class LedgerError(Exception):
    """A ledger row that would be wrong, such as a paid call recorded as free."""


def record_call(
    *,
    request_id,
    deployment: Deployment,
    outcome: str,
    attempt: int,
    project_id: int | None = None,
    task_id: int | None = None,
    fallback_from: Deployment | None = None,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    cost: Decimal = Decimal("0"),
    cost_source: str = "",
    latency_ms: float = 0.0,
    error: str = "",
    reason: str = "",
    kind: str = "",
    prompt: str = "",
    actor=None,
) -> LLMCall:
    if outcome == CallOutcome.SUCCESS and deployment.is_paid and cost <= 0:
        raise LedgerError(f"A successful call to paid model {deployment.model} cannot cost $0.")
    # No savepoint: inside the router's transaction it would add two round trips per call for nothing.
    with transaction.atomic(savepoint=False):
        call = LLMCall.objects.create(
            request_id=request_id,
            task_id=task_id,
            project_id=project_id,
            deployment=deployment,
            provider_id=deployment.provider_id,
            model=deployment.model,
            tier=deployment.tier,
            simulated=deployment.provider.simulated,
            attempt=attempt,
            fallback_from=fallback_from,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost=cost,
            cost_source=cost_source,
            latency_ms=round(latency_ms, 3),
            outcome=outcome,
            error=error,
            reason=reason,
            kind=kind,
            prompt=prompt if outcome == CallOutcome.SUCCESS else "",
        )
        event_record(
            actor=actor or "llmrouting", type="llm.call", obj=call, project_id=project_id, payload=call_payload(call)
        )
    return call


def call_payload(call: LLMCall) -> dict:
    """What the board and /llm-metrics/ receive live; never the prompt or any credential."""
    return {
        "call": call.pk,
        "request": str(call.request_id),
        "task": call.task_id,
        "deployment": call.deployment_id,
        "provider": call.provider_id,
        "provider_name": call.deployment.provider.name if call.deployment_id else "",
        "model": call.model,
        "tier": call.tier,
        "simulated": call.simulated,
        "attempt": call.attempt,
        "fallback_from": call.fallback_from_id,
        "outcome": call.outcome,
        "prompt_tokens": call.prompt_tokens,
        "completion_tokens": call.completion_tokens,
        "cost": str(call.cost),
        "latency_ms": call.latency_ms,
    }
