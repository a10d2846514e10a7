"""Seeded providers and the offline demo: `make run` shows routing and costs with no keys."""

import pytest
from django.db import transaction

from llmrouting.demo import seed_llm_demo
from llmrouting.models import Budget, Deployment, LLMCall, Provider, ProviderKind, RoutingOutcome
from projects.demo import DEMO_SEEDERS, seed_tracker
from projects.models import Task

pytestmark = pytest.mark.django_db


def test_all_six_kinds_are_seeded_disabled_with_current_models():
    real = Provider.objects.exclude(kind=ProviderKind.DEMO)
    assert set(real.values_list("kind", flat=True)) == {"openai", "anthropic", "gemini", "ollama", "anythingllm",
                                                        "perplexity"}  # fmt: skip
    assert not real.filter(enabled=True).exists()
    models = set(Deployment.objects.values_list("model", flat=True))
    assert {"openai/gpt-5-mini", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-pro", "perplexity/sonar"} <= models
    paid = Deployment.objects.exclude(provider__kind__in=["ollama", "anythingllm"])
    assert all(d.input_price > 0 and d.output_price > 0 for d in paid)
    assert Provider.objects.get(kind=ProviderKind.DEMO).enabled


def test_demo_seeder_is_registered_and_records_simulated_spend():
    assert seed_llm_demo in DEMO_SEEDERS
    with transaction.atomic():
        project = seed_tracker("demo")
        seed_llm_demo("demo")

    calls = LLMCall.objects.filter(project=project)
    assert calls.count() >= 36 and all(c.simulated for c in calls)
    assert all(c.cost > 0 for c in calls.filter(outcome="success"))
    assert calls.exclude(outcome="success").exists() and calls.filter(fallback_from__isnull=False).exists()
    assert calls.dates("created_at", "day").count() > 3  # spread over days for the spend chart
    assert RoutingOutcome.objects.exists() and Budget.objects.filter(project=project).exists()
    assert Task.objects.filter(project=project, executor="llm").exists()
    assert set(calls.values_list("tier", flat=True)) == {"cheap", "standard", "premium"}
