"""The /board/ page: login, what it renders for each role, its own static files."""

import json
import re

import pytest
from django.contrib.staticfiles import finders

from projects.services import tasks as task_services
from projects.services.events import event_record

pytestmark = pytest.mark.django_db


def board_state(response) -> dict:
    match = re.search(rb'<script id="board-state" type="application/json">(.*?)</script>', response.content, re.S)
    assert match, response.content[:500]
    return json.loads(match.group(1))


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get("/board/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/board/"


def test_board_renders_current_tasks_and_the_outbox_position(client, maintainer, project):
    task = task_services.task_create(actor=maintainer, project=project, title="On the board", priority=9)
    last = event_record(actor="test", type="test.mark", project_id=project.id)
    client.force_login(maintainer)
    response = client.get("/board/")
    assert response.status_code == 200
    state = board_state(response)
    assert state["last_event_id"] == last.id
    assert [(t["id"], t["title"], t["status"], t["priority"]) for t in state["tasks"]] == [
        (task.id, "On the board", "backlog", 9)
    ]
    assert state["projects"] == {str(project.id): "Alpha"}
    assert [s["value"] for s in state["statuses"]][:3] == ["backlog", "ready", "claimed"]
    assert "agent" in [e["value"] for e in state["executors"]]
    assert state["can_manage"] is True


def test_viewer_gets_no_action_buttons(client, viewer):
    client.force_login(viewer)
    assert board_state(client.get("/board/"))["can_manage"] is False


def test_agent_sees_only_its_projects(client, agent, admin_user, project, other_project):
    mine = task_services.task_create(actor=admin_user, project=project, title="mine")
    task_services.task_create(actor=admin_user, project=other_project, title="theirs")
    client.force_login(agent)
    state = board_state(client.get("/board/"))
    assert [t["id"] for t in state["tasks"]] == [mine.id]
    assert state["projects"] == {str(project.id): "Alpha"}


def test_board_queries_do_not_grow_with_tasks(client, admin_user, project, django_assert_max_num_queries):
    for i in range(30):
        task_services.task_create(actor=admin_user, project=project, title=f"task {i}")
    client.force_login(admin_user)
    with django_assert_max_num_queries(14):
        response = client.get("/board/")
    assert len(board_state(response)["tasks"]) == 30


def test_page_uses_its_own_static_files_and_no_cdn(client, viewer):
    client.force_login(viewer)
    html = client.get("/board/").content.decode()
    for name in ("projects/board.css", "projects/live.js", "projects/board.js"):
        assert f"/static/{name}" in html
        assert finders.find(name), name
    assert "https://" not in html and "http://cdn" not in html
    assert 'name="csrf-token"' in html
