"""Crash recovery with real processes: a qcluster worker is SIGKILLed in the middle of a shell task."""

import os
import signal

import pytest

from projects.models import Task, TaskStatus
from tests import processes
from tests.projects.factories import make_task

SHORT_LEASES = {
    "ARCHITECT_LEASE_SECONDS": "2",
    "ARCHITECT_RETRY_BASE_SECONDS": "0.2",
    "ARCHITECT_RETRY_JITTER": "0",
    "ARCHITECT_DISPATCH_LEASE_SECONDS": "30",
    "ARCHITECT_DISPATCH_INTERVAL": "0.1",
}


@pytest.fixture
def engine_processes(tmp_path):
    """A real dispatcher and a real qcluster against the test database, with short leases."""
    started = [
        processes.manage(name, log_name=f"crash-{name}.log", **SHORT_LEASES) for name in ("qcluster", "dispatcher")
    ]
    yield tmp_path
    for process in started:
        processes.stop(process)


def parent_of(pid: int) -> int:
    return int(processes.stat_fields(pid)[1])


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_loses_its_lease_and_the_task_is_retried_and_finishes(project, engine_processes):
    out, pidfile = engine_processes / "out.txt", engine_processes / "sh.pid"
    # Only the first attempt lingers: long enough to outlive its worker, if nothing stopped it.
    command = f'echo "started $ARCHITECT_ATTEMPT" >> {out}; echo $$ > {pidfile}.$ARCHITECT_ATTEMPT; ' \
              f'[ "$ARCHITECT_ATTEMPT" = 1 ] && sleep 30; echo "finished $ARCHITECT_ATTEMPT" >> {out}'  # fmt: skip
    task = make_task(project, status=TaskStatus.READY, description=command, metadata={"needs_review": False})

    first_shell = processes.wait_for(lambda: _read_int(f"{pidfile}.1"), timeout=60, message="attempt 1 to start")
    worker = parent_of(first_shell)
    assert Task.objects.get(pk=task.pk).status == TaskStatus.RUNNING
    os.kill(worker, signal.SIGKILL)

    processes.wait_for(lambda: Task.objects.get(pk=task.pk).status == TaskStatus.DONE, timeout=60, message="the retry")
    task.refresh_from_db()
    attempts = list(task.attempt_set.order_by("number").values_list("outcome", flat=True))
    assert attempts == ["lease_expired", "succeeded"] and task.attempts == 2
    assert "Lease expired" in task.attempt_set.get(number=1).error
    # The dead worker's command was stopped before the retry: its work never finished, the retry's did once.
    assert out.read_text().splitlines() == ["started 1", "started 2", "finished 2"]
    assert not processes.alive(first_shell), "the first attempt's command is still running"


def _read_int(path: str) -> int | None:
    try:
        return int(open(path).read().strip())
    except (OSError, ValueError):
        return None
