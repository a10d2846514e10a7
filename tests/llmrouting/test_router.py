"""The router against the provider emulator: real LiteLLM calls for every provider kind, failover on
every fault, bounded attempts, the fallback chain, tiers, policies and learning from outcomes."""

from decimal import Decimal

import pytest

from llmrouting import services
from llmrouting.models import CallOutcome, LLMCall, Provider, RoutingPolicy
from llmrouting.router import LLMRequest, NoEligibleDeployment, RoutingFailed, route
from projects.models import Event
from tests.llmrouting.conftest import KIND_MODELS

pytestmark = pytest.mark.django_db

WIRE_PATHS = {
    "openai": "/v1/chat/completions",
    "anthropic": "/v1/messages",
    "gemini": "/v1beta/models/gemini-2.0-flash:generateContent",
    "ollama": "/api/chat",
    "anythingllm": "/api/v1/openai/chat/completions",
    "perplexity": "/chat/completions",
}


def ask(prompt="hello there friend", **fields):
    return route(LLMRequest(prompt=prompt, **fields))


@pytest.mark.parametrize("kind", sorted(KIND_MODELS))
def test_every_provider_kind_answers_through_litellm(make, emulator, project, kind):
    _, wire_model, priced = KIND_MODELS[kind]
    deployment = make(kind, price="0" if kind == "ollama" else "2")

    result = ask(project_id=project.pk)

    assert result.text == f"emulated reply from {wire_model}"
    [seen] = emulator.requests
    assert (seen["provider"], seen["path"], seen["auth"] or kind == "ollama") == (kind, WIRE_PATHS[kind], True)
    [call] = LLMCall.objects.all()
    assert (call.deployment, call.outcome, call.attempt, call.project) == (deployment, "success", 1, project)
    assert (call.prompt_tokens, call.completion_tokens) == (3, 4)
    if kind == "ollama":
        assert call.cost == 0  # a free local model
    elif priced:
        assert call.cost > 0 and call.cost_source == "litellm"
    else:
        assert call.cost == Decimal("2") * 7 / 1_000_000 and call.cost_source == "configured"
    assert Event.objects.filter(type="llm.call", object_id=str(call.pk)).exists()


def test_the_key_is_sent_to_the_provider_but_never_recorded(make, emulator):
    make("openai")

    ask()

    assert emulator.requests[0]["headers"]["authorization"] == "Bearer sk-test-openai"
    event = Event.objects.get(type="llm.call")
    assert "sk-test" not in str(event.payload) and "sk-test" not in str(LLMCall.objects.values().get())


FAULTS = [
    ("429", {"retry_after": 30}, CallOutcome.RATE_LIMITED),
    ("500", {}, CallOutcome.SERVER_ERROR),
    ("hang", {"hang_seconds": 5}, CallOutcome.TIMEOUT),
    ("slow", {"delay": 2.0}, CallOutcome.TIMEOUT),
    ("malformed", {}, None),
]


@pytest.mark.parametrize(("fault", "options", "outcome"), FAULTS, ids=[f[0] for f in FAULTS])
@pytest.mark.parametrize("first_kind", ["openai", "anthropic", "gemini", "ollama"])
def test_failover_on_every_fault(make, emulator, project, fault, options, outcome, first_kind):
    # The hanging and slow faults end in the client's timeout: keep it short, the emulator answers others at once.
    first = make(first_kind, price="0.1", timeout_seconds=0.25 if outcome == CallOutcome.TIMEOUT else 5)
    backup = make("perplexity", price="5")
    RoutingPolicy.objects.create(project=project, retries=0)
    emulator.add_fault(fault, provider=first_kind, times=None, **options)

    result = ask(project_id=project.pk)

    assert (result.deployment, result.text) == (backup, "emulated reply from sonar")
    failed, succeeded = LLMCall.objects.order_by("id")
    assert (failed.deployment, failed.attempt) == (first, 1)
    assert failed.outcome == (outcome or failed.outcome) != CallOutcome.SUCCESS
    assert failed.error and failed.cost == 0
    assert (succeeded.outcome, succeeded.attempt, succeeded.fallback_from) == ("success", 2, first)
    assert succeeded.request_id == failed.request_id
    assert "fallback 1 after" in succeeded.reason
    assert result.cost == succeeded.cost > 0


def test_malformed_body_is_recorded_as_a_bad_response(make, emulator, project):
    make("openai", price="0.1")
    make("perplexity", price="5")
    RoutingPolicy.objects.create(project=project, retries=0)
    emulator.add_fault("malformed", provider="openai")

    ask(project_id=project.pk)

    assert LLMCall.objects.order_by("id").first().outcome == CallOutcome.BAD_RESPONSE


def test_a_transient_failure_is_retried_on_the_same_deployment(make, emulator):
    deployment = make("openai")
    emulator.add_fault("500", times=1)

    result = ask()

    assert result.deployment == deployment
    assert list(LLMCall.objects.order_by("id").values_list("outcome", "attempt")) == [
        ("server_error", 1),
        ("success", 2),
    ]


def test_a_short_retry_after_is_waited_out_and_the_same_deployment_retried(make, emulator):
    deployment = make("anthropic")
    make("perplexity", price="9")
    emulator.add_fault("429", provider="anthropic", retry_after=0.3)

    result = ask()

    assert result.deployment == deployment
    first, second = emulator.requests
    assert second["time"] - first["time"] >= 0.3
    deployment.health.refresh_from_db()
    assert deployment.health.state == "closed"


def test_a_long_retry_after_opens_the_breaker_until_then(make, emulator):
    limited = make("openai", price="0.1")
    make("perplexity", price="9")
    emulator.add_fault("429", provider="openai", retry_after=120)

    ask()
    ask()

    limited.health.refresh_from_db()
    assert limited.health.state == "open"
    assert len(emulator.requests_for(provider="openai")) == 1  # the second request skipped it


@pytest.mark.parametrize(("retries", "fallbacks"), [(0, 0), (1, 1), (2, 1), (1, 2)])
def test_attempts_are_bounded_by_retries_and_fallbacks(make, emulator, project, retries, fallbacks):
    for index, kind in enumerate(["openai", "anthropic", "gemini", "perplexity"]):
        make(kind, price=str(index + 1), deployment={"failure_threshold": 50})
    RoutingPolicy.objects.create(project=project, retries=retries, max_fallbacks=fallbacks)
    emulator.add_fault("500", times=None)

    with pytest.raises(RoutingFailed) as raised:
        ask(project_id=project.pk)

    bound = (retries + 1) * (fallbacks + 1)
    assert len(emulator.requests) == LLMCall.objects.count() == raised.value.details["attempts"] == bound
    assert LLMCall.objects.values("deployment").distinct().count() == fallbacks + 1


def test_chain_is_same_tier_on_other_providers_then_next_tier_up(make, emulator, project):
    cheap_a = make("openai", tier="cheap", price="0.1")
    standard = make("gemini", tier="standard", price="0.5")
    cheap_b = make("anthropic", tier="cheap", price="0.3")
    premium = make("perplexity", tier="premium", price="3")
    RoutingPolicy.objects.create(project=project, retries=0, max_fallbacks=3)
    emulator.add_fault("500", times=None)

    with pytest.raises(RoutingFailed):
        ask(project_id=project.pk)

    tried = list(LLMCall.objects.order_by("id").values_list("deployment", flat=True))
    assert tried == [cheap_a.pk, cheap_b.pk, standard.pk, premium.pk]
    fallbacks = list(LLMCall.objects.order_by("id").values_list("fallback_from", flat=True))
    assert fallbacks == [None, cheap_a.pk, cheap_b.pk, standard.pk]


def test_the_cheapest_eligible_deployment_is_chosen_first(make, emulator):
    make("openai", price="3")
    cheapest = make("gemini", price="0.2")
    make("anthropic", price="1")

    assert ask().deployment == cheapest


def test_escalation_and_hints_raise_the_tier_floor(make, emulator):
    make("openai", tier="cheap", price="0.1")
    standard = make("gemini", tier="standard", price="1")
    premium = make("anthropic", tier="premium", price="5")

    assert ask(escalation=1).deployment == standard
    assert ask(escalation=2).deployment == premium
    assert ask(min_tier="premium").deployment == premium
    assert "escalated 1" in LLMCall.objects.order_by("id").first().reason


def test_policy_limits_providers_and_highest_tier(make, emulator, project):
    openai = make("openai", tier="cheap", price="0.1")
    gemini = make("gemini", tier="cheap", price="0.5")
    make("anthropic", tier="premium", price="5")
    policy = RoutingPolicy.objects.create(project=project, highest_tier="standard")
    policy.allowed_providers.set([gemini.provider])

    assert ask(project_id=project.pk).deployment == gemini
    assert ask(project_id=project.pk, escalation=2).deployment == gemini  # capped; anthropic is premium
    assert ask().deployment == openai  # no project, no policy


def test_capabilities_and_context_window_filter_deployments(make, emulator):
    make("openai", price="0.1", deployment={"capabilities": ["code"], "context_window": 100})
    web = make("perplexity", price="1", deployment={"capabilities": ["web"], "context_window": 100_000})
    big = make("gemini", price="2", deployment={"capabilities": ["code"], "context_window": 100_000})

    assert ask(capabilities=("web",)).deployment == web
    assert ask(prompt="word " * 2000, capabilities=("code",)).deployment == big
    with pytest.raises(NoEligibleDeployment) as raised:
        ask(capabilities=("vision",))
    assert any("lacks vision" in line for line in raised.value.details["excluded"])


def test_demo_provider_answers_offline_until_a_real_provider_is_enabled(make, emulator, project):
    demo = Provider.objects.get(kind="demo")

    offline = ask()

    assert offline.deployment.provider == demo and offline.text.startswith("[simulated by demo/")
    call = LLMCall.objects.get()
    assert call.simulated and call.cost > 0 and emulator.requests == []
    real = make("openai", price="50")
    assert ask().deployment == real  # cheaper demo models are no longer considered
    policy = RoutingPolicy.objects.create(project=project)
    policy.allowed_providers.set([demo])
    assert ask(project_id=project.pk).deployment.provider == demo  # unless a policy names it


def test_router_learns_from_review_outcomes(make, emulator, project):
    """The same OutcomeLearner the replay measures: a cheap model rejected in review loses its place."""
    weak = make("openai", price="0.1")
    strong = make("gemini", price="0.4")
    for deployment, quality in [(weak, 0.0), (strong, 1.0)] * 6:
        call = ask(project_id=project.pk, kind="review").calls[-1]
        LLMCall.objects.filter(pk=call.pk).update(deployment=deployment)
        call.refresh_from_db()
        services.routing_outcome_record(call_or_task=call, quality=quality)

    chosen = [ask(project_id=project.pk, kind="review").deployment for _ in range(10)]

    assert chosen.count(strong) >= 8
    assert "est. quality" in LLMCall.objects.order_by("-id").first().reason


def test_json_mode_is_passed_to_the_provider(make, emulator):
    make("openai")

    ask(response_format={"type": "json_object"})

    assert emulator.requests[0]["body"]["response_format"] == {"type": "json_object"}
