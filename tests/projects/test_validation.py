"""Bad input gets a clear 4xx answer naming the problem, and writes nothing."""

import pytest

from projects.models import Event, Task
from tests.projects import factories


@pytest.mark.parametrize("priority", [11, -1])
def test_priority_out_of_range_names_the_field(api, project, priority):
    response = api.post("/api/tasks/", {"project": project.id, "title": "x", "priority": priority}, format="json")
    assert response.status_code == 400
    assert "priority" in response.json()
    assert not Task.objects.exists()


def test_dependency_cycle_is_refused(api, project):
    first = factories.make_task(project, title="first")
    second = factories.make_task(project, title="second", depends_on=[first])
    third = factories.make_task(project, title="third", depends_on=[second])
    response = api.patch(f"/api/tasks/{first.pk}/", {"depends_on": [third.pk]}, format="json")
    assert response.status_code == 400
    assert "cycle" in str(response.json()["depends_on"])
    assert list(first.depends_on.all()) == []


def test_self_dependency_is_refused(api, project):
    task = factories.make_task(project)
    response = api.patch(f"/api/tasks/{task.pk}/", {"depends_on": [task.pk]}, format="json")
    assert response.status_code == 400


def test_dependency_on_another_projects_task_is_refused(api, project, other_project):
    foreign = factories.make_task(other_project)
    response = api.post("/api/tasks/", {"project": project.id, "title": "x", "depends_on": [foreign.pk]}, format="json")
    assert response.status_code == 400
    assert "depends_on" in response.json()


def test_illegal_status_change_lists_allowed_moves(api, project):
    task = factories.make_task(project)  # backlog
    response = api.patch(f"/api/tasks/{task.pk}/", {"status": "done"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["current"] == "backlog"
    assert body["allowed"] == ["blocked", "cancelled", "ready"]
    task.refresh_from_db()
    assert task.status == "backlog"


def test_legal_status_change_is_applied_and_recorded(api, project):
    task = factories.make_task(project)
    response = api.patch(f"/api/tasks/{task.pk}/", {"status": "ready"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ready"
    assert Event.objects.filter(type="task.moved", object_id=str(task.pk)).exists()


def test_new_task_cannot_start_in_a_running_state(api, project):
    response = api.post("/api/tasks/", {"project": project.id, "title": "x", "status": "done"}, format="json")
    assert response.status_code == 400
    assert "status" in response.json()


def test_malformed_json_is_a_400(api):
    response = api.generic("POST", "/api/tasks/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_link_to_another_projects_goal_is_refused(api, project, other_project):
    goal = factories.make_goal(other_project)
    response = api.post("/api/tasks/", {"project": project.id, "title": "x", "goal": goal.pk}, format="json")
    assert response.status_code == 400
    assert "goal" in response.json()


def test_environment_must_be_string_values(api, project):
    response = api.post("/api/tasks/", {"project": project.id, "title": "x", "environment": {"A": 1}}, format="json")
    assert response.status_code == 400
    assert "environment" in response.json()


def test_duplicate_project_slug_is_a_400(api, project):
    response = api.post("/api/projects/", {"name": "Again", "slug": project.slug}, format="json")
    assert response.status_code == 400
    assert "slug" in response.json()


def test_events_after_must_be_an_integer(api):
    response = api.get("/api/events/?after=abc")
    assert response.status_code == 400
    assert "after" in response.json()
