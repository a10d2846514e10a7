"""The cost ledger: one row per attempt, LiteLLM's cost or configured prices, never $0 for a paid call."""

import uuid
from decimal import Decimal

import pytest

from llmrouting import selectors, transport
from llmrouting.ledger import LedgerError, record_call
from llmrouting.models import LLMCall
from llmrouting.router import LLMRequest, route

pytestmark = pytest.mark.django_db


def test_cost_of_a_priced_model_is_litellms_completion_cost(make, emulator):
    make("openai", price="99")  # configured prices are ignored when LiteLLM knows the model

    route(LLMRequest(prompt="hello there friend"))

    call = LLMCall.objects.get()
    input_cost, output_cost = transport.litellm().cost_per_token(
        model="gpt-4o-mini", prompt_tokens=call.prompt_tokens, completion_tokens=call.completion_tokens
    )
    assert call.cost == pytest.approx(Decimal(str(input_cost + output_cost)), abs=Decimal("1e-10"))
    assert call.cost_source == "litellm" and call.cost > 0


def test_an_unpriced_model_costs_its_configured_prices(make, emulator):
    make("anythingllm", deployment={"input_price": "2", "output_price": "8"})
    emulator.set_reply("one two three four five")

    route(LLMRequest(prompt="hello there friend"))

    call = LLMCall.objects.get()
    assert (call.prompt_tokens, call.completion_tokens) == (3, 5)
    assert call.cost == (Decimal(2) * 3 + Decimal(8) * 5) / 1_000_000
    assert call.cost_source == "configured"


def test_a_paid_call_cannot_be_recorded_at_zero(make):
    deployment = make("openai")
    with pytest.raises(LedgerError, match="cannot cost \\$0"):
        record_call(request_id=uuid.uuid4(), deployment=deployment, outcome="success", attempt=1, cost=Decimal(0))
    assert not LLMCall.objects.exists()


def test_litellm_zero_for_a_paid_deployment_falls_back_to_configured_prices(make):
    deployment = make("ollama", deployment={"input_price": "1", "output_price": "1"})

    class Response:
        _hidden_params = {"response_cost": 0.0}

    cost, source = transport.call_cost(Response(), deployment, 10, 10)
    assert (cost, source) == (Decimal(20) / 1_000_000, "configured")


def test_failures_are_recorded_with_their_error(make, emulator):
    make("openai")
    emulator.add_fault("500", times=None)

    with pytest.raises(Exception):  # noqa: B017
        route(LLMRequest(prompt="hi"))

    calls = list(LLMCall.objects.order_by("id"))
    assert [c.outcome for c in calls] == ["server_error", "server_error"]
    assert all(c.error and c.cost == 0 and c.latency_ms > 0 for c in calls)
    assert calls[0].prompt == ""  # prompts are only kept on successful calls


def test_totals_per_task_project_provider_and_day(make, emulator, project, other_project, admin_user):
    from projects.models import Task

    task = Task.objects.create(project=project, title="t", executor="llm")
    first = make("openai", price="1")
    second = make("anythingllm", deployment={"input_price": "1000", "output_price": "1000"})
    route(LLMRequest(prompt="one", project_id=project.pk, task_id=task.pk))
    first.provider.enabled = False
    first.provider.save()
    route(LLMRequest(prompt="two", project_id=other_project.pk))

    metrics = selectors.llm_metrics(admin_user)

    by_provider = {row["name"]: row for row in metrics["by_provider"]}
    assert set(by_provider) == {first.provider.name, second.provider.name}
    by_project = {row["name"]: row["cost"] for row in metrics["by_project"]}
    assert by_project["Beta"] == pytest.approx(float(LLMCall.objects.get(project=other_project).cost))
    assert metrics["totals"]["calls"] == 2 and metrics["totals"]["cost"] == pytest.approx(
        float(sum(c.cost for c in LLMCall.objects.all()))
    )
    assert sum(row["cost"] for row in metrics["spend_by_day"]) == pytest.approx(metrics["totals"]["cost"])
    assert LLMCall.objects.filter(task=task).count() == 1
    [task_total] = metrics["by_task"]
    assert (task_total["task"], task_total["calls"]) == (task.pk, 1)
    assert task_total["cost"] == pytest.approx(float(LLMCall.objects.get(task=task).cost))
    assert metrics["latency_ms"]["p50"] > 0
