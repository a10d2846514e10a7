"""Budgets refuse before the call when used up, and warn once at 80 %."""

from decimal import Decimal

import pytest

from llmrouting.budgets import BudgetExhausted
from llmrouting.models import Budget, LLMCall
from llmrouting.router import LLMRequest, route
from projects.models import Event

pytestmark = pytest.mark.django_db


def spend(deployment, project, amount: str) -> None:
    from uuid import uuid4

    LLMCall.objects.create(
        request_id=uuid4(),
        deployment=deployment,
        provider=deployment.provider,
        project=project,
        model=deployment.model,
        tier=deployment.tier,
        outcome="success",
        cost=Decimal(amount),
    )


def test_an_exhausted_project_budget_refuses_before_any_call(make, emulator, project):
    deployment = make("openai")
    Budget.objects.create(project=project, period="month", limit_usd=Decimal("1.00"))
    spend(deployment, project, "1.00")

    with pytest.raises(BudgetExhausted) as raised:
        route(LLMRequest(prompt="hi", project_id=project.pk))

    assert emulator.requests == []
    assert "monthly LLM budget of project Alpha is used up" in raised.value.message
    assert "$1.0000 spent of $1.00" in raised.value.message
    assert LLMCall.objects.count() == 1


def test_other_projects_are_not_refused(make, emulator, project, other_project):
    deployment = make("openai")
    Budget.objects.create(project=project, period="day", limit_usd=Decimal("0.50"))
    spend(deployment, project, "0.60")

    assert route(LLMRequest(prompt="hi", project_id=other_project.pk)).text


def test_spend_before_the_period_does_not_count(make, emulator, project):
    from datetime import timedelta

    from django.utils import timezone

    deployment = make("openai")
    Budget.objects.create(project=project, period="day", limit_usd=Decimal("0.50"))
    spend(deployment, project, "5")
    LLMCall.objects.update(created_at=timezone.now() - timedelta(days=2))

    assert route(LLMRequest(prompt="hi", project_id=project.pk)).text


def test_an_exhausted_provider_budget_moves_to_another_provider(make, emulator, project):
    cheap = make("openai", price="0.1")
    other = make("gemini", price="1")
    Budget.objects.create(provider=cheap.provider, period="total", limit_usd=Decimal("0.10"))
    spend(cheap, None, "0.10")

    assert route(LLMRequest(prompt="hi", project_id=project.pk)).deployment == other

    Budget.objects.create(provider=other.provider, period="total", limit_usd=Decimal("0.01"))
    spend(other, None, "0.02")
    with pytest.raises(BudgetExhausted, match="Every provider"):
        route(LLMRequest(prompt="hi", project_id=project.pk))


def test_warns_once_per_period_at_80_percent(make, emulator, project):
    deployment = make("openai")
    budget = Budget.objects.create(project=project, period="month", limit_usd=Decimal("1.00"))
    spend(deployment, project, "0.79")
    route(LLMRequest(prompt="hi", project_id=project.pk))
    assert not Event.objects.filter(type="llm.budget_warning").exists()

    spend(deployment, project, "0.02")
    route(LLMRequest(prompt="hi", project_id=project.pk))
    route(LLMRequest(prompt="hi", project_id=project.pk))

    [warning] = Event.objects.filter(type="llm.budget_warning")
    assert warning.project == project and warning.payload["budget"] == budget.pk
    assert warning.payload["share"] >= 0.8


def test_api_reports_use_of_each_budget(make, api, project):
    deployment = make("openai")
    Budget.objects.create(project=project, period="month", limit_usd=Decimal("2"))
    spend(deployment, project, "0.5")

    [row] = api.get("/api/llm/budgets/").json()["results"]
    assert Decimal(row["spent"]) == Decimal("0.5")
    [usage] = api.get("/api/llm/metrics/").json()["budgets"]
    assert (usage["share"], usage["warning"], usage["exhausted"]) == (0.25, False, False)
