"""Fixtures for LLM routing: the provider emulator, providers and deployments pointed at it."""

from decimal import Decimal

import pytest

from llmrouting import config, limits
from llmrouting.models import Deployment, DeploymentHealth, Provider
from llmrouting.router import shared_learner
from projects.models import Secret
from tests.fakes.provider_emulator import ProviderEmulator

# kind -> (LiteLLM model string, model name the emulator sees, priced by LiteLLM?)
KIND_MODELS = {
    "openai": ("openai/gpt-4o-mini", "gpt-4o-mini", True),
    "anthropic": ("anthropic/claude-haiku-4-5", "claude-haiku-4-5", True),
    "gemini": ("gemini/gemini-2.0-flash", "gemini-2.0-flash", True),
    "ollama": ("ollama_chat/llama3.2", "llama3.2", False),
    "anythingllm": ("openai/my-workspace", "my-workspace", False),
    "perplexity": ("perplexity/sonar", "sonar", True),
}


@pytest.fixture(scope="session")
def emulator():
    with ProviderEmulator() as emu:
        yield emu


@pytest.fixture(autouse=True)
def _fresh_state(request):
    shared_learner.reset()
    config.invalidate()  # rolled-back rows must not survive in the per-process snapshot
    limits._previous_counts.clear()
    limits._pending.clear()  # ids repeat after rollbacks; a cached minute must not leak between tests
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").clear()


def make_provider(emu, kind: str, *, name: str | None = None, **fields) -> Provider:
    secret = Secret.objects.create(name=f"key-{name or kind}-{Provider.objects.count()}", value=f"sk-test-{kind}")
    return Provider.objects.create(
        name=name or f"emu-{kind}",
        kind=kind,
        api_base=emu.api_base_for(kind),
        credential=secret,
        enabled=True,
        timeout_seconds=fields.pop("timeout_seconds", 5.0),
        **fields,
    )


def make_deployment(provider: Provider, model: str | None = None, *, tier="cheap", price="1", **fields) -> Deployment:
    deployment = Deployment.objects.create(
        provider=provider,
        model=model or KIND_MODELS[provider.kind][0],
        tier=tier,
        input_price=Decimal(fields.pop("input_price", price)),
        output_price=Decimal(fields.pop("output_price", price)),
        **fields,
    )
    DeploymentHealth.objects.create(deployment=deployment)
    return deployment


@pytest.fixture
def make(emulator):
    """make(kind, tier=..., price=..., model=..., provider fields…) -> Deployment on a new provider."""

    def build(kind="openai", *, model=None, tier="cheap", price="1", name=None, deployment=None, **provider_fields):
        provider = make_provider(emulator, kind, name=name, **provider_fields)
        return make_deployment(provider, model, tier=tier, price=price, **(deployment or {}))

    return build
