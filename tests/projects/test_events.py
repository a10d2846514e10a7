"""Every service write appends its event in the same transaction."""

import pytest
from django.db import transaction

from projects.models import Event, Goal, Task
from projects.services import tasks as task_services
from projects.services import tracker
from tests.projects import factories


def test_create_writes_one_event_with_a_snapshot(api, project):
    response = api.post("/api/goals/", {"project": project.id, "title": "Launch"}, format="json")
    assert response.status_code == 201
    event = Event.objects.get(type="goal.created")
    assert event.object_id == str(response.json()["id"])
    assert event.project_id == project.id
    assert event.payload["title"] == "Launch"
    assert event.actor_label == "alice-admin"


def test_invalid_write_leaves_neither_row_nor_event(project):
    before = Event.objects.count()
    with pytest.raises(Exception):  # noqa: B017 (the type is the model's validation error)
        tracker.goal_create(actor="test", project=project, title="")
    assert Goal.objects.count() == 0
    assert Event.objects.count() == before


def test_failure_after_the_write_rolls_back_row_and_event(project):
    before = Event.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        factories.make_task(project, title="doomed")
        raise RuntimeError("the surrounding operation failed")
    assert not Task.objects.filter(title="doomed").exists()
    assert Event.objects.count() == before


def test_failing_event_write_rolls_back_the_row(project, monkeypatch):
    def broken_create(**kwargs):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(Event.objects, "create", broken_create)
    with pytest.raises(RuntimeError):
        task_services.task_create(actor="test", project=project, title="half-written?")
    assert not Task.objects.filter(title="half-written?").exists()


def test_events_api_returns_what_came_after_an_id(api, project):
    factories.make_task(project, title="one")
    marker = Event.objects.latest("id").id
    factories.make_task(project, title="two")
    factories.make_task(project, title="three")
    body = api.get(f"/api/events/?after={marker}").json()
    assert [row["payload"]["title"] for row in body["results"]] == ["two", "three"]
    assert all(row["id"] > marker for row in body["results"])


def test_delete_records_the_deleted_object(api, project):
    task = factories.make_task(project, title="bye")
    assert api.delete(f"/api/tasks/{task.pk}/").status_code == 204
    event = Event.objects.get(type="task.deleted")
    assert event.payload["title"] == "bye"
