"""How the engine is wired in: the dispatcher command, `make run`'s process list, the reaper schedule, the admin."""

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from architect import processes, schedules
from projects import jobs
from projects.engine.claim import claim_next
from projects.models import Task, TaskStatus
from projects.services import tasks as task_services
from tests.projects.factories import make_task


def test_make_run_starts_the_dispatcher_and_setup_schedules_creates_the_reaper(db):
    assert any(p.name == "dispatcher" and p.args[-1] == "dispatcher" for p in processes.all_processes("h", 1))
    reaper = next(s for s in schedules.SCHEDULES if s.name == "task-lease-reaper")
    assert reaper.func == "projects.jobs.reap_leases"
    call_command("setup_schedules", stdout=StringIO())
    from django_q.models import Schedule

    assert Schedule.objects.get(name="task-lease-reaper").func == "projects.jobs.reap_leases"


def test_the_reaper_job_takes_back_expired_tasks(project):
    task = make_task(project, status=TaskStatus.READY)
    claim_next(runner="gone", executors=["shell"])
    Task.objects.filter(pk=task.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=5))
    assert jobs.reap_leases() == 1
    assert Task.objects.get(pk=task.pk).status == TaskStatus.READY


def test_dispatcher_command_once_claims_and_enqueues_jobs_by_task_id(project, monkeypatch):
    enqueued = []
    monkeypatch.setattr(
        "projects.engine.dispatcher.async_task", lambda func, *args, **kw: enqueued.append((func, args))
    )
    monkeypatch.setattr("django.db.transaction.on_commit", lambda func, *a, **k: func())
    task = make_task(project, status=TaskStatus.READY, description="true")
    out = StringIO()
    call_command("dispatcher", "--once", "--capacity", "5", stdout=out)
    task.refresh_from_db()
    assert "Dispatched 1 task(s)" in out.getvalue()
    assert enqueued == [("projects.jobs.run_task", (task.pk, task.lease_token))]
    assert task.status == TaskStatus.CLAIMED
    # The job body, run here instead of on a worker:
    assert jobs.run_task(task.pk, task.lease_token) == TaskStatus.REVIEW


def test_admin_retry_action_requeues_failed_tasks(client, admin_user, project):
    task = make_task(project, status=TaskStatus.READY, max_attempts=1)
    claim_next(runner="r", executors=["shell"])
    task_services.task_fail(task.pk, runner="r", actor="r", error="boom")
    client.force_login(admin_user)
    response = client.post(
        "/admin/projects/task/", {"action": "retry_tasks", "_selected_action": [task.pk]}, follow=True
    )
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.status == TaskStatus.READY and task.attempts == 0 and task.last_error == "boom"
    page = client.get(f"/admin/projects/task/{task.pk}/change/")
    assert b"boom" in page.content  # the attempt and its error are shown on the task page
