"""The admin: every LLM routing model has a working page; keys are write-only; saves go through services."""

import pytest

from llmrouting.models import Deployment, DeploymentHealth, LLMCall, Provider
from llmrouting.router import LLMRequest, route
from projects.models import Event

pytestmark = pytest.mark.django_db

MODELS = ["provider", "deployment", "deploymenthealth", "llmcall", "budget", "routingpolicy", "routingoutcome",
          "ratewindow"]  # fmt: skip


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("model", MODELS)
def test_changelists_render(staff, model):
    route(LLMRequest(prompt="fill the ledger"))  # the demo provider answers
    response = staff.get(f"/admin/llmrouting/{model}/")
    assert response.status_code == 200


def test_provider_key_is_write_only_in_the_admin(staff):
    provider = Provider.objects.get(kind="openai")
    response = staff.post(
        f"/admin/llmrouting/provider/{provider.pk}/change/",
        {"name": provider.name, "kind": "openai", "api_base": "", "api_key": "sk-admin-secret", "rpm_limit": 0,
         "tpm_limit": 0, "timeout_seconds": 30, "enabled": "on",
         "deployments-TOTAL_FORMS": 0, "deployments-INITIAL_FORMS": 0},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    provider.refresh_from_db()
    assert provider.enabled and provider.credential.value == "sk-admin-secret"
    page = staff.get(f"/admin/llmrouting/provider/{provider.pk}/change/").content.decode()
    listing = staff.get("/admin/llmrouting/provider/").content.decode()
    assert "sk-admin-secret" not in page and "sk-admin-secret" not in listing and "••••••••" in listing
    assert Event.objects.filter(type="llm.provider.updated").exists()
    assert "sk-admin-secret" not in str(list(Event.objects.values_list("payload", flat=True)))


def test_breaker_state_shows_and_resets_from_the_admin(staff):
    deployment = Deployment.objects.filter(provider__kind="demo").first()
    DeploymentHealth.objects.filter(pk=deployment.pk).update(state="open")
    assert "open" in staff.get("/admin/llmrouting/deployment/?provider__kind=demo").content.decode()

    staff.post("/admin/llmrouting/deployment/", {"action": "reset_breakers", "_selected_action": [deployment.pk]})

    assert DeploymentHealth.objects.get(pk=deployment.pk).state == "closed"


def test_ledger_is_read_only(staff):
    route(LLMRequest(prompt="x"))
    call = LLMCall.objects.get()
    assert staff.get("/admin/llmrouting/llmcall/add/").status_code == 403
    page = staff.get(f"/admin/llmrouting/llmcall/{call.pk}/change/")
    assert page.status_code == 200 and 'name="cost"' not in page.content.decode()
