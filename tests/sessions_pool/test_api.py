"""/api/sessions/ and the pages: maintainers start, type, stop and restart; viewers only look."""

import pytest

from projects.models import Event, Task
from sessions_pool.models import AgentSession, SessionState
from sessions_pool.supervisor import Supervisor
from tests.processes import wait_for

pytestmark = pytest.mark.integration
S = SessionState


@pytest.fixture
def session(fake_profile, clients):
    created = clients["maintainer"].post("/api/sessions/", {"profile": fake_profile.pk}, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    wait_for(lambda: AgentSession.objects.get(pk=pk).state == S.IDLE, step=Supervisor().step)
    return AgentSession.objects.get(pk=pk)


def screen_text(client, session) -> str:
    return "\n".join(client.get(f"/api/sessions/{session.pk}/screen/").json()["lines"])


def test_viewers_see_the_live_screen_but_cannot_type(clients, session):
    listed = clients["viewer"].get("/api/sessions/?state=idle").json()
    assert [s["name"] for s in listed["results"]] == [session.name]
    assert listed["results"][0]["profile_name"] == "claude"
    assert "Welcome to Fake Agent" in screen_text(clients["viewer"], session)
    for action in ("send-keys", "stop", "restart"):
        response = clients["viewer"].post(f"/api/sessions/{session.pk}/{action}/", {"keys": ["Enter"]}, format="json")
        assert response.status_code == 403
    assert clients["viewer"].post("/api/sessions/", {"profile": session.profile_id}, format="json").status_code == 403


def test_maintainers_type_into_a_session(clients, session):
    maintainer = clients["maintainer"]
    response = maintainer.post(f"/api/sessions/{session.pk}/send-keys/", {"text": "[noconfirm] hi", "enter": True},
                               format="json")  # fmt: skip
    assert response.status_code == 200, response.json()
    wait_for(lambda: "Task complete" in screen_text(maintainer, session))
    event = Event.objects.get(type="session.keys_sent")
    assert event.payload["keys"] == ["Enter"] and event.payload["text_length"] == len("[noconfirm] hi")
    assert "hi" not in str(event.payload.get("text", ""))  # typed text is not stored


def test_bad_send_keys_input_is_a_400(clients, session):
    maintainer = clients["maintainer"]
    url = f"/api/sessions/{session.pk}/send-keys/"
    assert maintainer.post(url, {}, format="json").status_code == 400
    assert maintainer.post(url, {"keys": ["Enter; kill-server"]}, format="json").status_code == 400
    assert maintainer.post(url, {"keys": "Enter"}, format="json").status_code == 400


def test_stop_and_restart(clients, session):
    maintainer = clients["maintainer"]
    stopped = maintainer.post(f"/api/sessions/{session.pk}/stop/", {"reason": "done for today"}, format="json")
    assert stopped.status_code == 200 and stopped.json()["state"] == "stopped"
    typed = maintainer.post(f"/api/sessions/{session.pk}/send-keys/", {"keys": ["Enter"]}, format="json")
    assert typed.status_code == 409
    restarted = maintainer.post(f"/api/sessions/{session.pk}/restart/", {}, format="json")
    assert restarted.status_code == 200 and restarted.json()["state"] == "starting"
    wait_for(lambda: AgentSession.objects.get(pk=session.pk).state == S.IDLE, step=Supervisor().step)
    assert AgentSession.objects.get(pk=session.pk).restarts == 1


def test_bots_see_only_sessions_working_on_their_projects(clients, session, project, other_project):
    assert clients["agent"].get("/api/sessions/").json()["count"] == 0
    task = Task.objects.create(project=project, title="t", executor="agent", status="running")
    AgentSession.objects.filter(pk=session.pk).update(task=task)
    assert clients["agent"].get("/api/sessions/").json()["count"] == 1
    assert clients["agent"].get(f"/api/sessions/{session.pk}/screen/").status_code == 200
    Task.objects.filter(pk=task.pk).update(project=other_project)
    assert clients["agent"].get(f"/api/sessions/{session.pk}/screen/").status_code == 404


def test_pages_show_the_panel_and_controls_by_role(client, maintainer, viewer, session):
    client.force_login(viewer)
    panel = client.get("/sessions/").content.decode()
    assert session.name in panel and "badge state-idle" in panel
    detail = client.get(f"/sessions/{session.pk}/").content.decode()
    assert 'id="read-only"' in detail and 'id="send-keys"' not in detail
    client.force_login(maintainer)
    assert 'id="send-keys"' in client.get(f"/sessions/{session.pk}/").content.decode()
    assert client.get("/sessions/999999/").status_code == 404


def test_the_panel_shows_alerts(client, viewer, session):
    AgentSession.objects.filter(pk=session.pk).update(state=S.WAITING_CONFIRMATION, alert="git push --force?")
    client.force_login(viewer)
    panel = client.get("/sessions/").content.decode()
    assert "Waiting for a person" in panel and "git push --force?" in panel


def test_metrics_count_sessions_by_profile_and_state(clients, session):
    AgentSession.objects.filter(pk=session.pk).update(alert="Allow?", state=S.WAITING_CONFIRMATION)
    text = clients["admin"].get("/metrics").content.decode()
    assert 'architect_agent_sessions{profile="claude",state="waiting_confirmation"} 1.0' in text
    assert "architect_agent_session_alerts 1.0" in text


def test_the_demo_has_an_agent_task_for_the_bash_pool(admin_user):
    from projects.demo import seed_demo

    seed_demo(admin_user)
    task = Task.objects.get(title="Say hello from an agent session")
    assert (task.executor, task.status, task.metadata) == ("agent", "ready", {"agent_profile": "bash"})


def test_starting_a_session_of_a_missing_program_is_refused(clients, fake_profile):
    fake_profile.command = "not-installed-agent"
    fake_profile.save()
    response = clients["maintainer"].post("/api/sessions/", {"profile": fake_profile.pk}, format="json")
    assert response.status_code == 409 and "not installed" in response.json()["detail"]
