"""The runner and the shell executor, in-process: results, context, retries, timeout, cancel, leases."""

import subprocess
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from architect.lib.backoff import backoff_delay
from projects.engine import leases
from projects.engine.claim import claim_next
from projects.engine.runner import run_task
from projects.executors.shell import kill_marked_group
from projects.models import Event, Task, TaskStatus
from projects.services import tasks as task_services
from tests.processes import alive, wait_for
from tests.projects.factories import make_task


@pytest.fixture(autouse=True)
def quick_engine(settings):
    settings.ARCHITECT_LEASE_SECONDS = 5
    settings.ARCHITECT_RETRY_BASE_SECONDS = 10
    settings.ARCHITECT_RETRY_CAP_SECONDS = 60
    settings.ARCHITECT_RETRY_JITTER = 0


def run_next(project, command: str, **fields) -> Task:
    """Create a ready shell task, claim it and run it to its outcome in this process."""
    task = make_task(project, status=TaskStatus.READY, description=command, **fields)
    claimed = claim_next(runner="dispatcher", executors=["shell"])
    assert claimed.pk == task.pk
    run_task(task.pk, claimed.lease_token, "worker-1")
    return Task.objects.get(pk=task.pk)


def test_backoff_doubles_with_jitter_and_is_capped():
    assert [backoff_delay(n, base=10, cap=60, jitter=0) for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 60, 60]
    jittered = [backoff_delay(3, base=10, cap=60, jitter=0.5) for _ in range(200)]
    assert all(20 <= d <= 40 for d in jittered) and len(set(jittered)) > 100
    with pytest.raises(ValueError):
        backoff_delay(0, base=1, cap=1)


def test_a_successful_command_records_output_attempt_and_context(project, tmp_path):
    task = run_next(
        project, 'echo "hello $GREETING from $(pwd)"; echo oops >&2', working_dir=str(tmp_path),
        environment={"GREETING": "bonjour"}, branch="feature-x",
    )  # fmt: skip
    assert task.status == TaskStatus.REVIEW
    assert f"hello bonjour from {tmp_path}" in task.result and "oops" in task.result
    assert task.result_data["exit_status"] == 0 and task.result_data["attempts"] == 1
    assert task.result_data["duration_seconds"] > 0
    attempt = task.attempt_set.get()
    assert (attempt.outcome, attempt.exit_status, attempt.runner) == ("succeeded", 0, "worker-1")
    assert "hello bonjour" in attempt.log
    assert attempt.context["working_dir"] == str(tmp_path) and attempt.context["branch"] == "feature-x"
    moves = Event.objects.filter(type="task.moved", object_id=str(task.pk)).values_list("payload__status", flat=True)
    assert list(moves) == ["claimed", "running", "review"]


def test_the_worker_environment_does_not_leak_into_commands(project, monkeypatch):
    monkeypatch.setenv("DATABASE_PASSWORD_FOR_TEST", "hunter2")
    task = run_next(project, "env")
    assert "hunter2" not in task.result and f"ARCHITECT_TASK_ID={task.pk}" in task.result


def test_needs_review_false_goes_straight_to_done(project):
    assert run_next(project, "true", metadata={"needs_review": False}).status == TaskStatus.DONE


def test_a_git_working_directory_records_the_resulting_commit_and_diff(project, tmp_path):
    git = ["git", "-c", "user.email=a@b", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "app.py").write_text("print(1)\n")
    subprocess.run([*git, "-C", str(tmp_path), "add", "."], check=True)
    subprocess.run([*git, "-C", str(tmp_path), "commit", "-qm", "base"], check=True)
    base = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    task = run_next(project, "echo 'print(2)' >> app.py", working_dir=str(tmp_path), base_commit=base.strip())
    assert task.result_data["commit"] == base.strip()
    assert "+print(2)" in task.result_data["diff"] and "app.py" in task.result_data["diff_stat"]


def test_a_failed_attempt_is_retried_later_with_backoff(project):
    before = timezone.now()
    task = run_next(project, "echo broken; exit 3")
    assert task.status == TaskStatus.READY and task.attempts == 1
    assert "Exit status 3" in task.last_error and "broken" in task.last_error
    assert timedelta(seconds=9) <= task.not_before - before <= timedelta(seconds=11)
    attempt = task.attempt_set.get()
    assert (attempt.outcome, attempt.exit_status) == ("failed", 3)
    assert claim_next(runner="r", executors=["shell"]) is None  # not before the backoff has passed


def test_after_max_attempts_the_task_fails_keeping_the_last_error(project):
    task = make_task(
        project, status=TaskStatus.READY, description="echo try-$ARCHITECT_ATTEMPT; exit 1", max_attempts=3
    )
    for _ in range(3):
        Task.objects.filter(pk=task.pk).update(not_before=None)
        claimed = claim_next(runner="d", executors=["shell"])
        run_task(task.pk, claimed.lease_token, "w")
    task.refresh_from_db()
    assert task.status == TaskStatus.FAILED and task.attempts == 3
    assert "try-3" in task.last_error
    assert list(task.attempt_set.values_list("outcome", flat=True)) == ["failed"] * 3


def test_a_command_that_cannot_start_fails_the_attempt(project):
    task = run_next(project, "true", working_dir="/no/such/dir", max_attempts=1)
    assert task.status == TaskStatus.FAILED and "does not exist" in task.last_error


def test_the_timeout_kills_the_whole_process_group(project, tmp_path):
    pidfile = tmp_path / "child.pid"
    task = run_next(project, f"sleep 30 & echo $! > {pidfile}; wait", timeout_seconds=1, max_attempts=1)
    assert task.status == TaskStatus.FAILED and "Timed out" in task.last_error
    assert task.attempt_set.get().outcome == "timed_out"
    child = int(pidfile.read_text())
    wait_for(lambda: not alive(child), timeout=5, message="the background child to die")


def test_an_executor_that_crashes_fails_the_attempt_not_the_worker(project, monkeypatch):
    from projects.executors import registry
    from projects.executors.base import Executor

    class Broken(Executor):
        kind = "browser"
        cancelled = []

        def start(self, run):
            return "handle"

        def poll(self, handle):
            raise RuntimeError("plugin bug")

        def cancel(self, handle):
            Broken.cancelled.append(handle)

    monkeypatch.setitem(registry._EXECUTORS, "browser", Broken)
    task = make_task(project, status=TaskStatus.READY, executor="browser", max_attempts=1)
    claimed = claim_next(runner="d", executors=["browser"])
    assert run_task(task.pk, claimed.lease_token, "w") == TaskStatus.FAILED
    task.refresh_from_db()
    assert "plugin bug" in task.last_error and Broken.cancelled == ["handle"]


def test_a_stale_job_does_nothing(project):
    task = make_task(project, status=TaskStatus.READY, description="echo hi")
    claimed = claim_next(runner="d", executors=["shell"])
    assert run_task(task.pk, "not-the-token", "w") == "stale"
    run_task(task.pk, claimed.lease_token, "w")
    assert run_task(task.pk, claimed.lease_token, "w") == "stale"  # a redelivered job runs nothing twice
    assert Task.objects.get(pk=task.pk).attempt_set.count() == 1


def test_the_reaper_returns_an_expired_task_to_ready_as_a_failed_attempt(project):
    task = make_task(project, status=TaskStatus.READY, max_attempts=2)
    claim_next(runner="lost-worker", executors=["shell"])
    assert leases.reap_expired() == 0  # lease still valid
    Task.objects.filter(pk=task.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert leases.reap_expired() == 1
    task.refresh_from_db()
    assert (task.status, task.claimed_by, task.lease_token) == (TaskStatus.READY, "", "")
    assert "Lease expired" in task.last_error and task.not_before > timezone.now()
    assert task.attempt_set.get().outcome == "lease_expired"
    # The second expiry uses the last attempt: the task fails.
    Task.objects.filter(pk=task.pk).update(not_before=None)
    claim_next(runner="lost-again", executors=["shell"])
    Task.objects.filter(pk=task.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    leases.reap_expired()
    task.refresh_from_db()
    assert task.status == TaskStatus.FAILED and task.attempts == 2


def test_abandon_kills_only_processes_carrying_the_run_marker(tmp_path):
    marked = subprocess.Popen(["sleep", "30"], env={"ARCHITECT_RUN_MARKER": "7-1"}, start_new_session=True)
    other = subprocess.Popen(["sleep", "30"], env={"ARCHITECT_RUN_MARKER": "7-2"}, start_new_session=True)
    try:
        assert kill_marked_group(other.pid, "7-1") == 0
        assert kill_marked_group(marked.pid, "7-1") == 1
        assert marked.wait(timeout=5) == -9 and other.poll() is None
    finally:
        other.kill()
        other.wait()


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_running_task_stops_its_command(project, tmp_path):
    pidfile = tmp_path / "pid"
    task = make_task(project, status=TaskStatus.READY, description=f"echo $$ > {pidfile}; echo started; sleep 30")
    claimed = claim_next(runner="d", executors=["shell"])
    runner = threading.Thread(target=_run_and_close, args=(task.pk, claimed.lease_token))
    runner.start()
    wait_for(lambda: Task.objects.get(pk=task.pk).status == TaskStatus.RUNNING and pidfile.exists(), timeout=10)
    task_services.task_cancel(Task.objects.get(pk=task.pk), actor="mia")
    runner.join(timeout=15)
    assert not runner.is_alive()
    assert not alive(int(pidfile.read_text()))
    task.refresh_from_db()
    attempt = task.attempt_set.get()
    assert task.status == TaskStatus.CANCELLED and attempt.outcome == "cancelled"
    assert "started" in attempt.log  # the output so far is kept


def _run_and_close(task_id: int, token: str) -> None:
    try:
        run_task(task_id, token, "w")
    finally:
        connection.close()  # the thread's own connection, or the test database cannot be dropped
