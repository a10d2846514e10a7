"""Prometheus gauges for /metrics: spend and calls by provider and outcome, breaker states."""

from django.db.models import Count, Sum
from prometheus_client.core import GaugeMetricFamily

from llmrouting.models import DeploymentHealth, LLMCall


def collect_llm():
    calls = GaugeMetricFamily("architect_llm_calls", "LLM calls recorded, by provider and outcome.",
                              labels=["provider", "outcome"])  # fmt: skip
    spend = GaugeMetricFamily("architect_llm_spend_usd", "LLM spend recorded in USD, by provider.", labels=["provider"])
    totals: dict[str, float] = {}
    rows = LLMCall.objects.values("provider__name", "outcome").annotate(n=Count("id"), cost=Sum("cost")).order_by()
    for row in rows:
        provider = row["provider__name"] or "(deleted)"
        calls.add_metric([provider, row["outcome"]], row["n"])
        totals[provider] = totals.get(provider, 0.0) + float(row["cost"] or 0)
    for provider, cost in totals.items():
        spend.add_metric([provider], cost)
    breakers = GaugeMetricFamily("architect_llm_breakers", "Deployment circuit breakers by state.", labels=["state"])
    for row in DeploymentHealth.objects.values("state").annotate(n=Count("pk")).order_by():
        breakers.add_metric([row["state"]], row["n"])
    yield calls
    yield spend
    yield breakers
