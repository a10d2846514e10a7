"""The /api/llm/ endpoints: roles, write-only credentials, price prefill, breaker reset, outcomes, metrics."""

import uuid
from decimal import Decimal

import pytest
from django.db import connection

from llmrouting.models import Deployment, DeploymentHealth, LLMCall, Provider, RoutingOutcome
from projects.models import Event, Secret, Task

pytestmark = pytest.mark.django_db

READ_URLS = ["/api/llm/providers/", "/api/llm/deployments/", "/api/llm/calls/", "/api/llm/budgets/",
             "/api/llm/policies/", "/api/llm/metrics/"]  # fmt: skip


@pytest.mark.parametrize("url", READ_URLS)
def test_every_role_reads_and_anonymous_does_not(clients, url):
    for role in ("viewer", "maintainer", "admin", "agent"):
        assert clients[role].get(url).status_code == 200, role
    assert clients["anonymous"].get(url).status_code in (401, 403)


def test_viewer_is_read_only(clients, project):
    viewer = clients["viewer"]
    provider = Provider.objects.get(kind="openai")
    assert viewer.post("/api/llm/providers/", {"name": "x", "kind": "openai"}).status_code == 403
    assert viewer.patch(f"/api/llm/providers/{provider.pk}/", {"enabled": True}).status_code == 403
    assert viewer.post("/api/llm/budgets/", {"project": project.pk, "limit_usd": "1"}).status_code == 403
    deployment = Deployment.objects.first()
    assert viewer.post(f"/api/llm/deployments/{deployment.pk}/reset-breaker/").status_code == 403
    assert viewer.delete(f"/api/llm/deployments/{deployment.pk}/").status_code == 403


def test_maintainer_sets_budgets_and_policies_but_not_providers(clients, project):
    maintainer = clients["maintainer"]
    assert maintainer.post("/api/llm/providers/", {"name": "x", "kind": "openai"}).status_code == 403
    response = maintainer.post("/api/llm/budgets/", {"project": project.pk, "limit_usd": "5", "period": "day"})
    assert response.status_code == 201, response.json()
    demo = Provider.objects.get(kind="demo")
    response = maintainer.post(
        "/api/llm/policies/", {"project": project.pk, "allowed_providers": [demo.pk], "highest_tier": "standard"}
    )
    assert response.status_code == 201, response.json()
    assert Event.objects.filter(type="llm.routingpolicy.created").exists()


def test_budget_needs_exactly_one_scope(api, project):
    both = api.post("/api/llm/budgets/", {"project": project.pk, "provider": Provider.objects.first().pk,
                                          "limit_usd": "1"})  # fmt: skip
    assert both.status_code == 400
    assert api.post("/api/llm/budgets/", {"limit_usd": "1"}).status_code == 400


def test_api_key_is_write_only_and_stored_encrypted(api):
    key = "sk-live-very-secret-123"
    response = api.post("/api/llm/providers/", {"name": "Mine", "kind": "openai", "api_key": key, "enabled": True},
                        format="json")  # fmt: skip

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["has_credential"] is True and "api_key" not in body and key not in str(body)
    provider = Provider.objects.get(pk=body["id"])
    assert provider.credential.value == key
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM projects_secret WHERE id = %s", [provider.credential_id])
        assert key not in cursor.fetchone()[0]
    assert key not in api.get(f"/api/llm/providers/{provider.pk}/").content.decode()
    assert key not in str(list(Event.objects.values_list("payload", flat=True)))

    api.patch(f"/api/llm/providers/{provider.pk}/", {"api_key": "sk-rotated"}, format="json")
    assert Secret.objects.get(pk=provider.credential_id).value == "sk-rotated"


def test_enabling_a_keyless_provider_is_refused(api):
    provider = Provider.objects.get(kind="anthropic")
    response = api.patch(f"/api/llm/providers/{provider.pk}/", {"enabled": True}, format="json")
    assert response.status_code == 400 and "credential" in response.json()


def test_deployment_prices_are_prefilled_when_litellm_knows_the_model(api):
    provider = Provider.objects.get(kind="openai")
    response = api.post("/api/llm/deployments/", {"provider": provider.pk, "model": "openai/gpt-4.1-mini",
                                                  "tier": "standard"}, format="json")  # fmt: skip

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (Decimal(body["input_price"]), Decimal(body["output_price"])) == (Decimal("0.4"), Decimal("1.6"))
    assert body["context_window"] == 1047576 and body["breaker"]["state"] == "closed"


def test_deployment_prices_are_required_for_unknown_models(api):
    provider = Provider.objects.get(kind="anythingllm")
    response = api.post("/api/llm/deployments/", {"provider": provider.pk, "model": "openai/our-workspace"},
                        format="json")  # fmt: skip
    assert response.status_code == 400 and "input_price" in response.json()


def test_breaker_state_is_visible_and_can_be_reset(api):
    deployment = Deployment.objects.first()
    DeploymentHealth.objects.filter(pk=deployment.pk).update(state="open", consecutive_failures=4)

    listed = api.get(f"/api/llm/deployments/{deployment.pk}/").json()
    assert listed["breaker"]["state"] == "open"
    reset = api.post(f"/api/llm/deployments/{deployment.pk}/reset-breaker/").json()
    assert reset["breaker"]["state"] == "closed" and reset["breaker"]["consecutive_failures"] == 0


def test_agents_see_only_their_projects_calls(clients, project, other_project):
    deployment = Deployment.objects.first()
    for p in (project, other_project):
        LLMCall.objects.create(
            request_id=uuid.uuid4(),
            deployment=deployment,
            provider=deployment.provider,
            project=p,
            model=deployment.model,
            tier="cheap",
            outcome="success",
            cost=Decimal("0.01"),
        )

    agent_rows = clients["agent"].get("/api/llm/calls/").json()["results"]
    assert [row["project"] for row in agent_rows] == [project.pk]
    assert clients["agent"].get("/api/llm/metrics/").json()["totals"]["calls"] == 1
    assert len(clients["viewer"].get("/api/llm/calls/").json()["results"]) == 2


def test_outcomes_are_recorded_for_a_tasks_latest_call(clients, project):
    from llmrouting.router import LLMRequest, route

    task = Task.objects.create(project=project, title="t", executor="llm")
    route(LLMRequest(prompt="hello", project_id=project.pk, task_id=task.pk))  # the demo provider answers

    assert clients["viewer"].post("/api/llm/outcomes/", {"task": task.pk, "quality": 1}).status_code == 403
    response = clients["maintainer"].post("/api/llm/outcomes/", {"task": task.pk, "quality": 0.5})

    assert response.status_code == 201, response.json()
    outcome = RoutingOutcome.objects.get()
    assert (outcome.quality, outcome.task, outcome.prompt) == (0.5, task, "hello")
    assert clients["maintainer"].post("/api/llm/outcomes/", {"task": task.pk, "quality": 2}).status_code == 400


def test_metrics_shape(api):
    body = api.get("/api/llm/metrics/?days=7").json()
    assert set(body) >= {"totals", "latency_ms", "spend_by_day", "by_provider", "by_model", "by_project",
                         "breakers", "budgets", "recent"}  # fmt: skip
    assert body["days"] == 7
    assert any(b["simulated"] for b in body["breakers"])  # the demo provider is labelled
    assert api.get("/api/llm/metrics/?days=zzz").status_code == 200


def test_demo_provider_is_labelled_simulated(api):
    rows = api.get("/api/llm/providers/?kind=demo").json()["results"]
    assert rows[0]["simulated"] is True and "simulated" in rows[0]["name"].lower()
    deployments = api.get("/api/llm/deployments/?provider__kind=demo").json()["results"]
    assert deployments and all(d["simulated"] for d in deployments)
