"""The claim: order, filters, and no double claims across real processes."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from projects.engine.claim import claim_next, claimable
from projects.engine.dispatcher import Dispatcher
from projects.models import Task, TaskStatus
from tests import processes
from tests.projects.factories import bulk_ready_tasks, make_task


def claim(executors=("shell",), skills=None, **kwargs):
    return claim_next(runner="r", executors=executors, skills=skills, **kwargs)


def test_claims_by_priority_then_age(project):
    old_low = make_task(project, title="old low", status=TaskStatus.READY, priority=2)
    high = make_task(project, title="high", status=TaskStatus.READY, priority=8)
    young_high = make_task(project, title="young high", status=TaskStatus.READY, priority=8)
    assert [claim().pk for _ in range(3)] == [high.pk, young_high.pk, old_low.pk]
    assert claim() is None


def test_claim_follows_the_order_of_the_claimable_queue(project):
    first = make_task(project, title="a", status=TaskStatus.READY, priority=3)
    blocked_by_first = make_task(project, title="b", status=TaskStatus.READY, priority=9, depends_on=[first])
    later = make_task(project, title="c", status=TaskStatus.READY, priority=3)
    queue = list(claimable(executors=["shell"]).values_list("id", flat=True))
    assert queue == [first.pk, later.pk] and blocked_by_first.pk not in queue
    assert [claim().pk, claim().pk] == queue


def test_claim_takes_a_lease_and_opens_an_attempt(project, settings):
    settings.ARCHITECT_LEASE_SECONDS = 30
    task = make_task(project, status=TaskStatus.READY, repository="/srv/repo", branch="fix-1")
    claimed = claim()
    assert (claimed.status, claimed.claimed_by, claimed.attempts) == (TaskStatus.CLAIMED, "r", 1)
    assert len(claimed.lease_token) == 32
    assert 25 < (claimed.lease_expires_at - timezone.now()).total_seconds() <= 30
    attempt = task.attempt_set.get()
    assert (attempt.number, attempt.outcome, attempt.runner) == (1, "running", "r")
    assert attempt.context["repository"] == "/srv/repo" and attempt.context["branch"] == "fix-1"


def test_claim_matches_executor_kinds(project):
    make_task(project, status=TaskStatus.READY, executor="llm")
    assert claim(executors=["shell"]) is None
    assert claim(executors=["shell", "llm"]).executor == "llm"


def test_task_skills_must_be_a_subset_of_the_runner_skills(project):
    task = make_task(project, status=TaskStatus.READY, skills=["python", "git"])
    assert claim(skills=[]) is None
    assert claim(skills=["python"]) is None
    assert claim(skills=["git", "python", "docker"]).pk == task.pk


def test_skill_matching_looks_past_the_head_of_the_queue(project):
    for i in range(70):
        make_task(project, title=f"needs rust {i}", status=TaskStatus.READY, priority=9, skills=["rust"])
    plain = make_task(project, title="plain", status=TaskStatus.READY, priority=1)
    assert claim(skills=["python"]).pk == plain.pk


def test_not_before_in_the_future_waits(project):
    task = make_task(project, status=TaskStatus.READY, not_before=timezone.now() + timedelta(minutes=5))
    assert claim() is None
    Task.objects.filter(pk=task.pk).update(not_before=timezone.now() - timedelta(seconds=1))
    assert claim().pk == task.pk


def test_claim_can_be_limited_to_projects(project, other_project):
    make_task(other_project, status=TaskStatus.READY)
    assert claim(project_ids=[project.pk]) is None


def test_external_tasks_are_never_dispatched(project, monkeypatch):
    enqueued = []
    monkeypatch.setattr("projects.engine.dispatcher.async_task", lambda *args, **kw: enqueued.append(args))
    external = make_task(project, status=TaskStatus.READY, executor="external")
    shell = make_task(project, status=TaskStatus.READY, executor="shell")
    with django_capture_commits():
        assert Dispatcher(capacity=10, skills=None).step() == 1
    assert [args[1] for args in enqueued] == [shell.pk]
    assert Task.objects.get(pk=external.pk).status == TaskStatus.READY


def test_dispatcher_respects_capacity(project, monkeypatch):
    monkeypatch.setattr("projects.engine.dispatcher.async_task", lambda *args, **kw: None)
    for i in range(5):
        make_task(project, title=f"t{i}", status=TaskStatus.READY)
    dispatcher = Dispatcher(capacity=3, skills=None)
    assert dispatcher.step() == 3
    assert dispatcher.step() == 0  # three still in flight
    assert Task.objects.filter(status=TaskStatus.CLAIMED).count() == 3


def django_capture_commits():
    """Run on_commit callbacks at once (the test's transaction never commits)."""
    from unittest import mock

    return mock.patch("django.db.transaction.on_commit", lambda func, *a, **k: func())


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_eight_processes_claim_two_thousand_tasks_each_exactly_once(project, tmp_path):
    ids = bulk_ready_tasks(project, 2000)
    go = tmp_path / "go"
    claimers = [
        processes.call("tests.projects.engine_claimer:claim_until_empty", f"claimer-{n}", str(go)) for n in range(8)
    ]
    try:
        go.touch()
        outputs = [processes.output(claimer, timeout=100) for claimer in claimers]
    finally:
        for claimer in claimers:
            processes.kill_group(claimer)
    claimed = [task_id for output in outputs for task_id in json.loads(output.strip().splitlines()[-1])]
    assert len(claimed) == 2000 and sorted(claimed) == sorted(ids)  # every task once, none twice
    assert sum(1 for output in outputs if json.loads(output.strip().splitlines()[-1])) >= 2  # really concurrent
    assert Task.objects.filter(status=TaskStatus.CLAIMED, attempts=1).count() == 2000
    assert Task.objects.get(pk=ids[0]).attempt_set.count() == 1
