"""The runner: the django-q2 job body that drives one executor through one attempt.

It holds the task's lease while the executor works: it renews the lease,
copies new output to the attempt's log, notices a cancel (the attempt is
closed under it) or a lost lease, enforces the timeout, and finally records
the outcome through the services, which pick review/done, a retry or failure.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from architect.errors import LeaseLost
from projects.engine import conf
from projects.engine.gitresult import git_result
from projects.executors.base import Executor, Outcome, Run
from projects.executors.registry import get_executor
from projects.models import Task, TaskAttempt
from projects.services import tasks as task_services
from projects.services.events import event_record

logger = logging.getLogger(__name__)
LOG_FLUSH_SECONDS = 1.0
CANCEL_WAIT_SECONDS = 10.0
FIRST_PAUSE_SECONDS = 0.002


def runner_name() -> str:
    return f"worker@{conf.hostname()}:{os.getpid()}"


@dataclass
class Attempt:
    """What the runner tracks while one attempt runs."""

    task: Task
    attempt: TaskAttempt
    runner: str
    lease_token: str
    run: Run
    started: float = field(default_factory=time.monotonic)
    log_offset: int = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


def run_task(task_id: int, lease_token: str, runner: str) -> str:
    """Run the attempt that claim gave LEASE_TOKEN; a stale job (reaped, cancelled) does nothing."""
    current = _begin(task_id, lease_token, runner)
    if current is None:
        return "stale"
    executor = get_executor(current.task.executor)
    try:
        handle = executor.start(current.run)
    except Exception as exc:  # noqa: BLE001  (a bad command or workdir fails the task, not the worker)
        logger.info("Task %s could not start: %s", task_id, exc)
        return _finish(current, Outcome(False, error=f"Could not start: {exc}", exit_status=None))
    _remember_handle(current, executor.describe(handle))
    try:
        outcome = _drive(current, executor, handle)
    except Exception as exc:  # noqa: BLE001  (a plugin bug fails this attempt, not the worker)
        logger.exception("Executor %s failed while running task %s", current.task.executor, task_id)
        _cancel_quietly(executor, handle)
        outcome = Outcome(False, error=f"Executor error: {exc}")
    if outcome is None:
        _flush_log(current)
        return "lost"
    return _finish(current, outcome)


def _begin(task_id: int, lease_token: str, runner: str) -> Attempt | None:
    try:
        task = task_services.task_start(task_id, runner=runner, lease_token=lease_token)
    except (LeaseLost, Task.DoesNotExist):
        return None
    attempt = task.attempt_set.filter(outcome=TaskAttempt.Outcome.RUNNING).order_by("-number").first()
    if attempt is None:
        return None
    return Attempt(task, attempt, runner, lease_token, build_run(task, attempt))


def build_run(task: Task, attempt: TaskAttempt) -> Run:
    log_dir = Path(settings.DATA_DIR) / "logs" / "tasks"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"task-{task.pk}-attempt-{attempt.number}.log"
    log_path.write_bytes(b"")
    return Run(
        task_id=task.pk, project_id=task.project_id, attempt=attempt.number, title=task.title,
        prompt=task.description, repository=task.repository, branch=task.branch, base_commit=task.base_commit,
        working_dir=task.working_dir, environment=dict(task.environment), metadata=dict(task.metadata),
        skills=list(task.skills), timeout_seconds=task.timeout_seconds, log_path=str(log_path),
    )  # fmt: skip


def _remember_handle(current: Attempt, state: dict) -> None:
    if state:
        context = {**current.attempt.context, "handle": state, "runner": current.runner}
        TaskAttempt.objects.filter(pk=current.attempt.pk).update(context=context)
        current.attempt.context = context


def _drive(current: Attempt, executor: Executor, handle) -> Outcome | None:
    """Poll until an outcome; None when the task was taken away (cancelled or reaped)."""
    renew_every = min(conf.lease_seconds() / 3, 5.0)
    next_renew, next_flush = time.monotonic() + renew_every, time.monotonic() + LOG_FLUSH_SECONDS
    pause = FIRST_PAUSE_SECONDS
    while (outcome := executor.poll(handle)) is None:
        now = time.monotonic()
        if current.elapsed > current.run.timeout_seconds + 1:
            return _stop(executor, handle, timed_out=True)
        if now >= next_flush:
            next_flush = now + LOG_FLUSH_SECONDS
            if not _flush_log(current):
                return _stop(executor, handle, timed_out=False)
        if now >= next_renew:
            next_renew = now + renew_every
            renewed = task_services.task_heartbeat(
                current.task.pk, runner=current.runner, lease_token=current.lease_token
            )
            if not renewed:
                return _stop(executor, handle, timed_out=False)
        # Short work finishes in milliseconds: look again soon, then back off to the executor's interval.
        time.sleep(pause)
        pause = min(pause * 2, executor.poll_interval)
    return outcome


def _cancel_quietly(executor: Executor, handle) -> None:
    try:
        executor.cancel(handle)
    except Exception:  # noqa: BLE001
        logger.exception("Executor %s could not cancel", executor.kind)


def _stop(executor: Executor, handle, *, timed_out: bool) -> Outcome | None:
    executor.cancel(handle)
    deadline = time.monotonic() + CANCEL_WAIT_SECONDS
    outcome = executor.poll(handle)
    while outcome is None and time.monotonic() < deadline:
        time.sleep(executor.poll_interval)
        outcome = executor.poll(handle)
    if not timed_out:
        return None
    outcome = outcome or Outcome(False)
    outcome.succeeded = False
    outcome.error = outcome.error or "Timed out; the executor was stopped."
    outcome.data["timed_out"] = True
    return outcome


def _flush_log(current: Attempt) -> bool:
    """Copy the log to the attempt; False when the attempt was closed under us (cancel, reaper)."""
    open_attempt = TaskAttempt.objects.filter(pk=current.attempt.pk, outcome=TaskAttempt.Outcome.RUNNING)
    chunk = _read_from(current.run.log_path, current.log_offset)
    if not chunk:
        return open_attempt.exists()
    current.log_offset += len(chunk.encode())
    log = task_services.keep_log_tail(_read_from(current.run.log_path, 0))
    if open_attempt.update(log=log) == 0:
        TaskAttempt.objects.filter(pk=current.attempt.pk).update(log=log)
        return False
    payload = {"id": current.task.pk, "attempt": current.attempt.number, "chunk": chunk[-2000:]}
    event_record(actor=current.runner, type="task.log", obj=current.task, project_id=current.task.project_id,
                 payload=payload)  # fmt: skip
    return True


def _read_from(path: str, offset: int) -> str:
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _finish(current: Attempt, outcome: Outcome) -> str:
    task = current.task
    repository = current.run.repository
    workdir = current.run.working_dir or (repository if repository and Path(repository).is_dir() else "")
    if "commit" not in outcome.data:
        outcome.data.update(git_result(workdir, task.base_commit))
    if task.metadata.get("needs_review") is False:
        outcome.needs_review = False
    attempt_outcome = TaskAttempt.Outcome.TIMED_OUT if outcome.data.get("timed_out") else ""
    try:
        task = task_services.task_record_outcome(
            task.pk, runner=current.runner, lease_token=current.lease_token, outcome=outcome,
            log=_read_from(current.run.log_path, 0), attempt_outcome=attempt_outcome,
            duration=round(current.elapsed, 3),
        )  # fmt: skip
    except (LeaseLost, Task.DoesNotExist):
        _flush_log(current)
        return "lost"
    _drop_log_file(current.run.log_path)
    return task.status


def _drop_log_file(path: str) -> None:
    """The attempt row now holds the log; keep the file only when the row had to truncate it."""
    try:
        if os.path.getsize(path) <= conf.log_limit_chars():
            os.unlink(path)
    except OSError:
        pass
