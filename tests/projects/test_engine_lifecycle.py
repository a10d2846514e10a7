"""Task lifecycle: legal moves, dependencies, blocking and unblocking, every move an event."""

import pytest

from architect.errors import IllegalTransition
from projects.engine.claim import claim_next
from projects.models import Event, Task, TaskStatus
from projects.services import tasks as task_services
from tests.projects.factories import make_task


def claim(**kwargs):
    return claim_next(runner="r", executors=["shell"], skills=None, **kwargs)


def fail_for_good(task):
    """Claim TASK and report a non-retryable failure."""
    claimed = claim()
    assert claimed.pk == task.pk
    return task_services.task_fail(task.pk, runner="r", actor="r", error="boom", retryable=False)


def test_queue_moves_backlog_to_ready_and_records_the_move(project):
    task = make_task(project)
    task_services.task_queue(task, actor="mia")
    task.refresh_from_db()
    assert task.status == TaskStatus.READY
    event = Event.objects.filter(type="task.moved", object_id=str(task.pk)).last()
    assert event.payload["previous"] == "backlog" and event.payload["status"] == "ready"


def test_illegal_moves_are_refused_with_the_allowed_ones(project):
    task = make_task(project, status=TaskStatus.READY)
    with pytest.raises(IllegalTransition) as refused:
        task_services.task_transition(task, to=TaskStatus.DONE, actor="mia")
    assert "done" in refused.value.message and "cancelled" in refused.value.details["allowed"]
    # Only a claim hands out a lease, so nobody sets claimed/running by hand.
    with pytest.raises(IllegalTransition):
        task_services.task_transition(task, to=TaskStatus.CLAIMED, actor="mia")
    with pytest.raises(IllegalTransition):
        task_services.task_retry(task, actor="mia")


def test_a_dependent_is_claimable_only_once_its_dependencies_are_done(project):
    first = make_task(project, title="first", status=TaskStatus.READY, priority=1)
    second = make_task(project, title="second", status=TaskStatus.READY, priority=9, depends_on=[first])
    assert claim().pk == first.pk  # the higher-priority dependent waits
    assert claim() is None
    task_services.task_complete(first.pk, runner="r", actor="r", needs_review=False)
    assert Task.objects.get(pk=first.pk).status == TaskStatus.DONE
    assert claim().pk == second.pk


def test_a_failed_dependency_blocks_dependents_transitively_and_a_retry_unblocks_them(project):
    base = make_task(project, title="base", status=TaskStatus.READY)
    middle = make_task(project, title="middle", status=TaskStatus.READY, depends_on=[base])
    leaf = make_task(project, title="leaf", depends_on=[middle])  # backlog
    fail_for_good(base)
    middle.refresh_from_db()
    leaf.refresh_from_db()
    assert (middle.status, leaf.status) == (TaskStatus.BLOCKED, TaskStatus.BLOCKED)
    assert f"#{base.pk}" in middle.blocked_reason and "failed" in middle.blocked_reason
    assert f"#{middle.pk}" in leaf.blocked_reason
    task_services.task_retry(Task.objects.get(pk=base.pk), actor="mia")
    middle.refresh_from_db()
    leaf.refresh_from_db()
    # Each returns to where it was: the queued one to ready, the backlog one to backlog.
    assert (middle.status, leaf.status) == (TaskStatus.READY, TaskStatus.BACKLOG)
    assert middle.blocked_reason == ""


def test_cancelling_a_dependency_blocks_dependents(project):
    base = make_task(project, status=TaskStatus.READY)
    dependent = make_task(project, status=TaskStatus.READY, depends_on=[base])
    task_services.task_cancel(base, actor="mia", reason="not needed")
    dependent.refresh_from_db()
    assert dependent.status == TaskStatus.BLOCKED and "cancelled" in dependent.blocked_reason


def test_queueing_a_task_whose_dependency_failed_blocks_it(project):
    base = make_task(project, status=TaskStatus.READY)
    fail_for_good(base)
    later = make_task(project, depends_on=[Task.objects.get(pk=base.pk)])
    task_services.task_queue(later, actor="mia")
    later.refresh_from_db()
    assert later.status == TaskStatus.BLOCKED and f"#{base.pk}" in later.blocked_reason


def test_dependency_cycles_are_refused(api, project):
    a = make_task(project, title="a")
    b = make_task(project, title="b", depends_on=[a])
    response = api.patch(f"/api/tasks/{a.pk}/", {"depends_on": [b.pk]}, format="json")
    assert response.status_code == 400 and "cycle" in str(response.json()["depends_on"])


def test_cancel_of_a_claimed_task_closes_its_attempt_and_releases_the_lease(project):
    task = make_task(project, status=TaskStatus.READY)
    claim()
    task_services.task_cancel(task, actor="mia")
    task.refresh_from_db()
    attempt = task.attempt_set.get()
    assert (task.status, task.claimed_by, task.lease_token) == (TaskStatus.CANCELLED, "", "")
    assert attempt.outcome == "cancelled" and attempt.finished_at is not None
