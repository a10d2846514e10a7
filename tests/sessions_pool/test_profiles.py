"""Profiles as editable data: the seeds, validation through the API and admin, and who may edit."""

import pytest

from projects.models import Event
from sessions_pool.models import AgentProfile


def test_the_common_agent_clis_are_seeded(db):
    commands = dict(AgentProfile.objects.values_list("name", "command"))
    assert commands["claude"] == "claude" and commands["codex"] == "codex" and commands["gemini"] == "gemini"
    assert commands["aider"].startswith("aider ") and commands["bash"].startswith("bash ")
    claude = AgentProfile.objects.get(name="claude")
    assert claude.is_default and (claude.min_sessions, claude.max_sessions) == (2, 10)
    assert "esc to interrupt" in claude.busy_patterns
    for profile in AgentProfile.objects.all():
        profile.full_clean()  # every seeded pattern compiles
        assert any("push" in p for p in profile.deny_patterns)


def test_admins_edit_profiles_through_the_api_with_validation(clients):
    admin = clients["admin"]
    profile = admin.get("/api/agent-profiles/?name=claude").json()["results"][0]
    url = f"/api/agent-profiles/{profile['id']}/"

    bad_regex = admin.patch(url, {"busy_patterns": ["(unclosed"]}, format="json")
    assert bad_regex.status_code == 400 and "busy_patterns" in bad_regex.json()
    bad_rule = admin.patch(url, {"auto_confirm_rules": [{"pattern": "ok"}]}, format="json")
    assert bad_rule.status_code == 400 and "auto_confirm_rules" in bad_rule.json()
    bad_pool = admin.patch(url, {"min_sessions": 5, "max_sessions": 3}, format="json")
    assert bad_pool.status_code == 400 and "min_sessions" in bad_pool.json()

    ok = admin.patch(
        url, {"busy_patterns": ["esc to interrupt", "Thinking…"], "idle_timeout_seconds": 60}, format="json"
    )
    assert ok.status_code == 200, ok.json()
    assert AgentProfile.objects.get(name="claude").busy_patterns == ["esc to interrupt", "Thinking…"]
    event = Event.objects.filter(type="agent_profile.updated").last()
    assert event.payload["changed"] == ["busy_patterns", "idle_timeout_seconds"]


def test_create_and_delete_a_profile(clients):
    admin = clients["admin"]
    created = admin.post(
        "/api/agent-profiles/",
        {"name": "opencode", "command": "opencode", "busy_patterns": ["working"], "min_sessions": 0},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert admin.delete(f"/api/agent-profiles/{created.json()['id']}/").status_code == 204
    assert not AgentProfile.objects.filter(name="opencode").exists()


@pytest.mark.parametrize("role,status", [("maintainer", 403), ("viewer", 403), ("agent", 403), ("anonymous", 401)])
def test_only_admins_change_profiles(clients, role, status):
    profile = AgentProfile.objects.get(name="bash")
    response = clients[role].patch(f"/api/agent-profiles/{profile.pk}/", {"enabled": False}, format="json")
    assert response.status_code == status


def test_people_read_profiles_and_bots_do_not(clients):
    assert clients["viewer"].get("/api/agent-profiles/").json()["count"] == 5
    assert clients["agent"].get("/api/agent-profiles/").json()["count"] == 0


def test_profile_admin_saves_through_the_service(client, admin_user):
    client.force_login(admin_user)
    profile = AgentProfile.objects.get(name="bash")
    page = client.get(f"/admin/sessions_pool/agentprofile/{profile.pk}/change/")
    assert page.status_code == 200 and "Auto-confirm (deny always wins)" in page.content.decode()
    assert client.get("/admin/sessions_pool/agentsession/").status_code == 200
