"""Budgets: refuse a request before any call when its project's or provider's budget is used up,
and warn once per period when spending crosses the warning ratio (80 % by default)."""

import logging
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from architect.errors import DomainError
from llmrouting.models import Budget, BudgetPeriod, LLMCall
from projects.services.events import event_record

logger = logging.getLogger(__name__)


class BudgetExhausted(DomainError):
    """409: the request is fine, the budget is not."""


def period_start(period: str, now: datetime) -> datetime | None:
    if period == BudgetPeriod.DAY:
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == BudgetPeriod.MONTH:
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return None


def spent(budget: Budget, now: datetime | None = None) -> Decimal:
    calls = LLMCall.objects.all()
    start = period_start(budget.period, now or timezone.now())
    if start is not None:
        calls = calls.filter(created_at__gte=start)
    scope = {"project_id": budget.project_id} if budget.project_id else {"provider_id": budget.provider_id}
    return calls.filter(**scope).aggregate(total=Sum("cost"))["total"] or Decimal("0")


def applicable(project_id: int | None, provider_ids) -> list[Budget]:
    scope = Q(provider_id__in=list(provider_ids))
    if project_id is not None:
        scope |= Q(project_id=project_id)
    return list(Budget.objects.filter(scope).select_related("project", "provider"))


def check(
    project_id: int | None, provider_ids, *, actor=None, candidates: list[Budget] | None = None
) -> tuple[set[int], list[tuple[Budget, Decimal]]]:
    """Providers whose budget is used up (their deployments must be skipped), and each budget's use so far.

    Raises BudgetExhausted when the project's own budget is used up, or every provider's is. CANDIDATES
    are the applicable budgets when the caller already knows them.
    """
    now = timezone.now()
    blocked: set[int] = set()
    usage = []
    for budget in applicable(project_id, provider_ids) if candidates is None else candidates:
        used = spent(budget, now)
        usage.append((budget, used))
        warn_if_due(budget, used, now, actor=actor)
        if used < budget.limit_usd:
            continue
        if budget.project_id:
            raise BudgetExhausted(_exhausted_message(budget, used, now), budget=budget.pk, spent=str(used))
        blocked.add(budget.provider_id)
    provider_ids = set(provider_ids)
    if provider_ids and provider_ids <= blocked:
        raise BudgetExhausted(
            "Every provider this request may use has exhausted its LLM budget.", providers=sorted(blocked)
        )
    return blocked, usage


def warn_after_call(usage: list[tuple[Budget, Decimal]], *, provider_id: int, cost: Decimal, actor=None) -> None:
    """Warn for budgets this call's COST pushed over the ratio, from the use measured before it (no query)."""
    now = timezone.now()
    for budget, used in usage:
        if budget.project_id or budget.provider_id == provider_id:
            warn_if_due(budget, used + cost, now, actor=actor)


def warn_if_due(budget: Budget, used: Decimal, now: datetime, *, actor=None) -> bool:
    """Record one `llm.budget_warning` event per budget and period once use reaches the warning ratio."""
    if budget.limit_usd <= 0 or used < budget.limit_usd * Decimal(str(budget.warn_ratio)):
        return False
    start = period_start(budget.period, now) or budget.created_at
    if budget.warned_for == start:
        return False  # already warned (as far as this possibly cached row knows): no write on every request
    with transaction.atomic():
        claimed = Budget.objects.filter(Q(warned_for__isnull=True) | ~Q(warned_for=start), pk=budget.pk).update(
            warned_for=start
        )
        budget.warned_for = start
        if claimed:
            share = float(used / budget.limit_usd)
            logger.warning("LLM budget %s at %.0f%% (%s of %s)", budget, share * 100, used, budget.limit_usd)
            event_record(
                actor=actor or "llmrouting",
                type="llm.budget_warning",
                obj=budget,
                project_id=budget.project_id,
                payload={"budget": budget.pk, "scope": budget.scope_label, "spent": str(used),
                         "limit": str(budget.limit_usd), "share": round(share, 4)},
            )  # fmt: skip
    return bool(claimed)


def _exhausted_message(budget: Budget, used: Decimal, now: datetime) -> str:
    renews = {BudgetPeriod.DAY: "tomorrow", BudgetPeriod.MONTH: "next month"}.get(budget.period, "never (total budget)")
    adjective = {BudgetPeriod.DAY: "daily", BudgetPeriod.MONTH: "monthly"}.get(budget.period, "total")
    return (
        f"The {adjective} LLM budget of {budget.scope_label} is used up: "
        f"${used:.4f} spent of ${budget.limit_usd:.2f}. Raise the budget or wait; it renews {renews}."
    )


def usage_rows(budgets) -> list[dict]:
    now = timezone.now()
    rows = []
    for budget in budgets:
        used = spent(budget, now)
        share = float(used / budget.limit_usd) if budget.limit_usd else 1.0
        rows.append({"id": budget.pk, "scope": budget.scope_label, "period": budget.period,
                     "limit": float(budget.limit_usd), "spent": float(used), "share": round(share, 4),
                     "warning": share >= budget.warn_ratio, "exhausted": used >= budget.limit_usd})  # fmt: skip
    return rows
