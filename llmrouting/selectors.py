"""Reads for LLM routing, scoped to what the user may see, and the numbers of /llm-metrics/."""

from datetime import timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDay
from django.utils import timezone

from architect import roles
from llmrouting import budgets
from llmrouting.models import Budget, CallOutcome, Deployment, LLMCall, Provider, RoutingPolicy
from projects.selectors import scoped_to_projects

MAX_DAYS = 90


def provider_list(user) -> QuerySet[Provider]:
    if not roles.can_read(user):
        return Provider.objects.none()
    return Provider.objects.annotate(deployment_count=Count("deployments"))


def deployment_list(user) -> QuerySet[Deployment]:
    if not roles.can_read(user):
        return Deployment.objects.none()
    return Deployment.objects.select_related("provider", "health")


def call_list(user) -> QuerySet[LLMCall]:
    return _calls_for(user).select_related("provider", "deployment", "project")


def budget_list(user) -> QuerySet[Budget]:
    if not roles.can_read(user):
        return Budget.objects.none()
    if roles.is_agent_only(user):
        return Budget.objects.filter(project__agents=user)
    return Budget.objects.select_related("project", "provider")


def policy_list(user) -> QuerySet[RoutingPolicy]:
    return scoped_to_projects(RoutingPolicy.objects.all(), user).prefetch_related("allowed_providers")


def _calls_for(user) -> QuerySet[LLMCall]:
    if roles.is_agent_only(user):
        return LLMCall.objects.filter(project__agents=user)
    if not roles.can_read(user):
        return LLMCall.objects.none()
    return LLMCall.objects.all()


# --- metrics -----------------------------------------------------------------------------------


def llm_metrics(user, *, days: int = 14) -> dict:
    """Spend over time by provider, model and project; rates; latency; breakers; budgets."""
    days = max(1, min(MAX_DAYS, days))
    since = timezone.now() - timedelta(days=days)
    calls = _calls_for(user).filter(created_at__gte=since)
    return {
        "since": since.isoformat(),
        "days": days,
        "totals": _totals(calls),
        "latency_ms": _latency(calls),
        "spend_by_day": _spend_by_day(calls),
        "by_provider": _grouped(calls, "provider__name", "provider__kind"),
        "by_model": _grouped(calls, "model", "provider__kind"),
        "by_project": _grouped(calls, "project__name", None),
        "by_task": _by_task(calls),
        "breakers": _breakers(),
        "budgets": budgets.usage_rows(budget_list(user)),
        "recent": [_recent(call) for call in calls.select_related("provider").order_by("-created_at", "-id")[:15]],
        "last_call_id": calls.order_by("-id").values_list("id", flat=True).first(),
    }


def _totals(calls: QuerySet) -> dict:
    row = calls.aggregate(
        calls=Count("id"),
        errors=Count("id", filter=~Q(outcome=CallOutcome.SUCCESS)),
        failovers=Count("id", filter=Q(fallback_from__isnull=False)),
        requests=Count("request_id", distinct=True),
        cost=Sum("cost"),
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
        simulated=Count("id", filter=Q(simulated=True)),
    )
    total = row["calls"] or 0
    requests = row["requests"] or 0
    return {
        "calls": total,
        "requests": requests,
        "errors": row["errors"],
        "error_rate": round(row["errors"] / total, 4) if total else 0.0,
        "failovers": row["failovers"],
        "failover_rate": round(row["failovers"] / requests, 4) if requests else 0.0,
        "cost": float(row["cost"] or 0),
        "prompt_tokens": row["prompt_tokens"] or 0,
        "completion_tokens": row["completion_tokens"] or 0,
        "simulated_calls": row["simulated"],
    }


def _latency(calls: QuerySet) -> dict:
    values = sorted(calls.filter(outcome=CallOutcome.SUCCESS).values_list("latency_ms", flat=True)[:100_000])
    return {"p50": percentile(values, 0.50), "p95": percentile(values, 0.95), "samples": len(values)}


def percentile(sorted_values: list[float], share: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(share * (len(sorted_values) - 1))))
    return round(sorted_values[index], 2)


def _spend_by_day(calls: QuerySet) -> list[dict]:
    rows = (
        calls.annotate(day=TruncDay("created_at"))
        .values("day", "provider__name")
        .annotate(cost=Sum("cost"), calls=Count("id"), errors=Count("id", filter=~Q(outcome=CallOutcome.SUCCESS)))
        .order_by("day", "provider__name")
    )
    return [{"day": r["day"].date().isoformat(), "provider": r["provider__name"] or "(deleted)",
             "cost": float(r["cost"] or 0), "calls": r["calls"], "errors": r["errors"]} for r in rows]  # fmt: skip


def _grouped(calls: QuerySet, key: str, kind_key: str | None) -> list[dict]:
    fields = [key, kind_key] if kind_key else [key]
    rows = calls.values(*fields).annotate(
        cost=Sum("cost"), calls=Count("id"), errors=Count("id", filter=~Q(outcome=CallOutcome.SUCCESS)),
        tokens=Sum("prompt_tokens") + Sum("completion_tokens"),
    ).order_by("-cost")  # fmt: skip
    return [
        {
            "name": r[key] or "(none)",
            "simulated": (r.get(kind_key) == "demo") if kind_key else False,
            "cost": float(r["cost"] or 0),
            "calls": r["calls"],
            "errors": r["errors"],
            "tokens": r["tokens"] or 0,
        }
        for r in rows
    ]


def _by_task(calls: QuerySet, top: int = 20) -> list[dict]:
    rows = (
        calls.filter(task__isnull=False)
        .values("task_id", "task__title")
        .annotate(cost=Sum("cost"), calls=Count("id"), tokens=Sum("prompt_tokens") + Sum("completion_tokens"))
        .order_by("-cost")[:top]
    )
    return [{"task": r["task_id"], "name": r["task__title"], "cost": float(r["cost"] or 0), "calls": r["calls"],
             "tokens": r["tokens"] or 0} for r in rows]  # fmt: skip


def _breakers() -> list[dict]:
    rows = Deployment.objects.filter(enabled=True, provider__enabled=True).select_related("provider", "health")
    result = []
    for d in rows:
        health = getattr(d, "health", None)
        result.append({"deployment": d.pk, "model": d.model, "provider": d.provider.name,
                       "simulated": d.provider.simulated, "tier": d.tier,
                       "state": health.state if health else "closed",
                       "failures": health.consecutive_failures if health else 0})  # fmt: skip
    return result


def _recent(call: LLMCall) -> dict:
    return {"id": call.pk, "time": call.created_at.isoformat(), "model": call.model,
            "provider": call.provider.name if call.provider_id else "", "simulated": call.simulated,
            "outcome": call.outcome, "cost": float(call.cost), "latency_ms": call.latency_ms,
            "attempt": call.attempt, "fallback": call.fallback_from_id is not None}  # fmt: skip
