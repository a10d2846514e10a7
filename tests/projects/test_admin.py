"""The admin works for every tracker model and writes through the services."""

import pytest

from projects.models import Event, Task
from tests.projects import factories

MODELS = ["project", "goal", "milestone", "feature", "bug", "task", "event", "secret"]


def seed(project) -> dict:
    return {
        "project": project,
        "goal": factories.make_goal(project),
        "milestone": factories.make_milestone(project),
        "feature": factories.make_feature(project),
        "bug": factories.make_bug(project),
        "task": factories.make_task(project),
        "secret": factories.make_secret(project),
        "event": Event.objects.first(),
    }


@pytest.mark.parametrize("model", MODELS)
def test_admin_pages_render(client, admin_user, project, model):
    obj = seed(project)[model]
    client.force_login(admin_user)
    changelist = client.get(f"/admin/projects/{model}/?q=a")
    assert changelist.status_code == 200
    assert client.get(f"/admin/projects/{model}/{obj.pk}/change/").status_code == 200
    if model != "event":
        assert client.get(f"/admin/projects/{model}/add/").status_code == 200


def test_viewer_reads_but_cannot_change_in_admin(client, viewer, project):
    task = factories.make_task(project)
    client.force_login(viewer)
    assert client.get("/admin/projects/task/").status_code == 200
    assert client.get("/admin/projects/task/add/").status_code == 403
    response = client.post(f"/admin/projects/task/{task.pk}/change/", {"title": "hijacked"})
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.title != "hijacked"


def test_admin_add_task_writes_an_event(client, admin_user, project):
    client.force_login(admin_user)
    response = client.post(
        "/admin/projects/task/add/",
        {
            "project": project.pk, "title": "From the admin", "description": "", "status": "backlog",
            "priority": 4, "executor": "shell", "skills": "[]", "estimate": 1, "environment": "{}",
            "metadata": "{}", "max_attempts": 3, "timeout_seconds": 60,
            "attempt_set-TOTAL_FORMS": 0, "attempt_set-INITIAL_FORMS": 0,
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    task = Task.objects.get(title="From the admin")
    assert Event.objects.filter(type="task.created", object_id=str(task.pk)).exists()


def test_admin_rejects_a_dependency_cycle(client, admin_user, project):
    first = factories.make_task(project, title="first")
    second = factories.make_task(project, title="second", depends_on=[first])
    client.force_login(admin_user)
    response = client.post(
        f"/admin/projects/task/{first.pk}/change/",
        {
            "project": project.pk, "title": "first", "description": "", "priority": 4, "executor": "shell",
            "skills": "[]", "estimate": 1, "environment": "{}", "metadata": "{}", "max_attempts": 3,
            "timeout_seconds": 60, "depends_on": [second.pk],
            "attempt_set-TOTAL_FORMS": 0, "attempt_set-INITIAL_FORMS": 0,
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert "cycle" in response.content.decode()
    assert list(first.depends_on.all()) == []


def test_bulk_queue_and_cancel_actions(client, admin_user, project):
    tasks = [factories.make_task(project, title=f"t{i}") for i in range(3)]
    client.force_login(admin_user)
    ids = [t.pk for t in tasks]
    client.post("/admin/projects/task/", {"action": "queue_tasks", "_selected_action": ids})
    assert set(Task.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"ready"}
    client.post("/admin/projects/task/", {"action": "cancel_tasks", "_selected_action": ids})
    assert set(Task.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"cancelled"}
