"""/llm-metrics/: the page, its numbers, and a real browser watching a call made by another process."""

import re

import pytest

from llmrouting.catalog import seed_defaults
from llmrouting.models import Deployment, DeploymentHealth, Provider
from llmrouting.router import LLMRequest, route


@pytest.mark.django_db
def test_page_needs_a_role(client, viewer, django_user_model):
    client.force_login(viewer)
    response = client.get("/llm-metrics/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="llm-metrics"' in body and "llmrouting/metrics.js" in body
    # Nothing loaded from elsewhere (a CDN); a bare "cdn" could be part of the page's random CSRF token.
    assert not re.search(r'(src|href)="(https?:)?//', body)

    nobody = django_user_model.objects.create_user("nobody", password="x")
    client.force_login(nobody)
    assert client.get("/llm-metrics/").status_code == 403


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client):
    response = client.get("/llm-metrics/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_metrics_count_demo_calls_as_simulated(api, project):
    route(LLMRequest(prompt="hello", project_id=project.pk))

    body = api.get("/api/llm/metrics/").json()

    assert body["totals"]["calls"] == 1 and body["totals"]["simulated_calls"] == 1
    assert body["by_model"][0]["simulated"] is True and body["recent"][0]["simulated"] is True
    assert body["by_project"][0]["name"] == "Alpha"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_dashboard_draws_ledger_data_and_updates_live(admin_user, project, daphne, browser):
    from playwright.sync_api import expect

    from tests.browser import log_in, with_password
    from tests.processes import manage_shell

    seed_defaults(Provider, Deployment, DeploymentHealth)  # an earlier transactional test may have flushed them
    route(LLMRequest(prompt="first", project_id=project.pk))
    page = log_in(browser, daphne.url, with_password(admin_user), "/llm-metrics/")
    expect(page.locator("#llm-metrics")).to_have_attribute("data-live", "live", timeout=10000)
    calls = page.locator('[data-kpi="Calls"] .v')
    expect(calls).to_have_text("1")
    expect(page.locator("#lm-spend-chart svg rect[data-provider]")).to_have_count(1)
    expect(page.locator("#lm-simulated")).to_be_visible()

    # A call routed by another process shows up without a reload, through /ws/board/.
    manage_shell(
        f"from llmrouting.router import route, LLMRequest; route(LLMRequest(prompt='second', project_id={project.pk}))"
    )
    expect(calls).to_have_text("2", timeout=5000)
    expect(page.locator("#lm-recent tr")).to_have_count(3)
