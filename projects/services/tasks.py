"""Writes for tasks: create, edit, dependencies and status moves.

Status moves go through `_move` (behind `task_transition`, queue, cancel,
retry and the runner-facing functions), which refuses any move the state
machine in projects.models.task.TRANSITIONS does not allow, releases the
lease when a task stops being active, and blocks or unblocks dependents.
Claiming lives in projects.engine.claim.
"""

from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from architect.errors import IllegalTransition, LeaseLost
from architect.lib.backoff import backoff_delay
from projects.engine import conf
from projects.executors.base import Outcome
from projects.models import Task, TaskAttempt, TaskStatus
from projects.models.task import ACTIVE_STATUSES, FINISHED_STATUSES, TRANSITIONS
from projects.services.events import event_record
from projects.services.snapshots import task_snapshot

EDITABLE_STATUSES_ON_CREATE = {TaskStatus.BACKLOG, TaskStatus.READY}


def task_event(task: Task, *, actor, verb: str, **extra) -> None:
    event_record(
        actor=actor, type=f"task.{verb}", obj=task, project_id=task.project_id, payload={**task_snapshot(task), **extra}
    )


@transaction.atomic
def task_create(*, actor, depends_on: list[Task] | None = None, **fields) -> Task:
    status = fields.get("status", TaskStatus.BACKLOG)
    if status not in EDITABLE_STATUSES_ON_CREATE:
        raise ValidationError({"status": f"A new task starts as backlog or ready, not {status!r}."})
    task = Task(**fields)
    task.full_clean()
    task.save()
    if depends_on:
        _set_dependencies(task, depends_on)
    task_event(task, actor=actor, verb="created")
    if task.status == TaskStatus.READY and depends_on and _problem_dependency(task) is not None:
        task_queue(task, actor=actor, reason="a dependency already failed")
        task.refresh_from_db()
    return task


@transaction.atomic
def task_update(task: Task, *, actor, depends_on: list[Task] | None = None, **fields) -> Task:
    """Edit a task's fields; its status only changes through task_transition."""
    if "status" in fields and fields["status"] != task.status:
        raise ValidationError({"status": "Change the status with a transition (queue, cancel, retry…)."})
    fields.pop("status", None)
    changed = sorted(name for name, value in fields.items() if getattr(task, name) != value)
    for name, value in fields.items():
        setattr(task, name, value)
    task.full_clean()
    task.save()
    if depends_on is not None:
        _set_dependencies(task, depends_on)
        changed.append("depends_on")
    task_event(task, actor=actor, verb="updated", changed=changed)
    return task


@transaction.atomic
def task_delete(task: Task, *, actor) -> None:
    task_event(task, actor=actor, verb="deleted")
    task.delete()


@transaction.atomic
def task_transition(task: Task, *, to: str, actor, reason: str = "", **fields) -> Task:
    """Move TASK to status TO, refusing moves the state machine does not allow.

    The row is re-read under the write lock so two movers cannot both succeed
    from the same starting state.
    """
    task = _locked(task)
    if to in ACTIVE_STATUSES:
        # Only a claim (projects.engine.claim) hands out a lease; a bare status change would strand the task.
        allowed = list(TRANSITIONS[task.status] - ACTIVE_STATUSES)
        raise IllegalTransition(current=task.status, requested=to, allowed=allowed)
    if to == TaskStatus.READY and task.status in (TaskStatus.BACKLOG, TaskStatus.BLOCKED) and not fields:
        return task_queue(task, actor=actor, reason=reason or "queued")
    return _move(task, to=to, actor=actor, reason=reason, **fields)


def _stamp_times(task: Task, status: str) -> None:
    now = timezone.now()
    if status == TaskStatus.RUNNING and task.started_at is None:
        task.started_at = now
    if status in FINISHED_STATUSES:
        task.finished_at = now
    elif status in (TaskStatus.READY, TaskStatus.BACKLOG):
        task.finished_at = None


def _set_dependencies(task: Task, depends_on: list[Task]) -> None:
    check_dependencies(task, depends_on)
    task.depends_on.set(depends_on)


def check_dependencies(task: Task, depends_on) -> None:
    """Refuse dependencies on other projects' tasks and any that would close a cycle."""
    for dependency in depends_on:
        if dependency.project_id != task.project_id:
            raise ValidationError({"depends_on": f"Task {dependency.pk} belongs to another project."})
        if dependency.pk == task.pk or task.pk in _ancestors_of(dependency.pk):
            raise ValidationError({"depends_on": f"Depending on task {dependency.pk} would create a cycle."})


def _ancestors_of(task_id: int) -> set[int]:
    """Every task that TASK_ID depends on, directly or not (one query per level)."""
    edges = Task.depends_on.through.objects
    seen: set[int] = set()
    frontier = {task_id}
    while frontier:
        parents = set(edges.filter(from_task_id__in=frontier).values_list("to_task_id", flat=True))
        frontier = parents - seen
        seen |= parents
    return seen


# --- Moves with side effects --------------------------------------------------------------------------------------


def _move(task: Task, *, to: str, actor, reason: str = "", attempt_outcome: str = "", **fields) -> Task:
    """Move a row already locked by the caller; every move is a `task.moved` event.

    Leaving claimed/running releases the lease and closes the open attempt;
    failing or cancelling blocks the dependents; a retry unblocks them.
    """
    if to not in TRANSITIONS[task.status]:
        raise IllegalTransition(current=task.status, requested=to, allowed=list(TRANSITIONS[task.status]))
    previous = task.status
    task.status = to
    for name, value in fields.items():
        setattr(task, name, value)
    if previous in ACTIVE_STATUSES and to not in ACTIVE_STATUSES:
        _release_lease(task, outcome=attempt_outcome or _closing_outcome(to), reason=reason)
    _stamp_times(task, to)
    task.save()
    task_event(task, actor=actor, verb="moved", previous=previous, reason=reason)
    if to in (TaskStatus.FAILED, TaskStatus.CANCELLED):
        _block_dependents(task, actor=actor)
    elif previous in (TaskStatus.FAILED, TaskStatus.CANCELLED) and to in (TaskStatus.READY, TaskStatus.BACKLOG):
        _unblock_dependents(task, actor=actor)
    return task


def _closing_outcome(status: str) -> str:
    if status == TaskStatus.CANCELLED:
        return TaskAttempt.Outcome.CANCELLED
    if status in (TaskStatus.REVIEW, TaskStatus.DONE):
        return TaskAttempt.Outcome.SUCCEEDED
    return TaskAttempt.Outcome.FAILED


def _release_lease(task: Task, *, outcome: str, reason: str) -> None:
    task.claimed_by = ""
    task.lease_expires_at = None
    task.lease_token = ""
    error = "" if outcome == TaskAttempt.Outcome.SUCCEEDED else reason
    task.attempt_set.filter(outcome=TaskAttempt.Outcome.RUNNING).update(
        outcome=outcome, error=error, finished_at=timezone.now()
    )


def _locked(task_or_id) -> Task:
    pk = task_or_id.pk if isinstance(task_or_id, Task) else task_or_id
    return Task.objects.select_for_update().get(pk=pk)


PROBLEM_STATUSES = (TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.BLOCKED)


def _block_dependents(task: Task, *, actor) -> None:
    """Block every waiting task downstream of TASK, naming the dependency that stopped it."""
    reason = f"Dependency #{task.pk} “{task.title}” is {task.status}."
    waiting = task.dependents.select_for_update().filter(status__in=(TaskStatus.BACKLOG, TaskStatus.READY))
    for dependent in waiting:
        _move(dependent, to=TaskStatus.BLOCKED, actor=actor, reason=reason, blocked_reason=reason,
              blocked_from=dependent.status)  # fmt: skip
        _block_dependents(dependent, actor=actor)


def _unblock_dependents(task: Task, *, actor) -> None:
    """Return blocked dependents whose dependencies are all fine again to the status they had."""
    for dependent in task.dependents.select_for_update().filter(status=TaskStatus.BLOCKED):
        if dependent.depends_on.filter(status__in=PROBLEM_STATUSES).exists():
            continue
        _move(dependent, to=dependent.blocked_from or TaskStatus.READY, actor=actor, reason=f"#{task.pk} retried",
              blocked_reason="", blocked_from="")  # fmt: skip
        _unblock_dependents(dependent, actor=actor)


def _problem_dependency(task: Task) -> Task | None:
    return task.depends_on.filter(status__in=PROBLEM_STATUSES).order_by("pk").first()


# --- People: queue, cancel, retry ---------------------------------------------------------------------------------


@transaction.atomic
def task_queue(task: Task, *, actor, reason: str = "queued") -> Task:
    """Put a backlog or blocked task in the queue (or block it if a dependency already failed)."""
    task = _locked(task)
    problem = _problem_dependency(task)
    if problem is not None:
        why = f"Dependency #{problem.pk} “{problem.title}” is {problem.status}."
        if task.status == TaskStatus.BLOCKED:
            raise IllegalTransition(current=task.status, requested=TaskStatus.READY, allowed=[TaskStatus.CANCELLED])
        return _move(task, to=TaskStatus.BLOCKED, actor=actor, reason=why, blocked_reason=why, blocked_from="ready")
    return _move(task, to=TaskStatus.READY, actor=actor, reason=reason, blocked_reason="", blocked_from="")


@transaction.atomic
def task_cancel(task: Task, *, actor, reason: str = "cancelled") -> Task:
    """Cancel a task; a runner still working on it notices, stops its executor and keeps the log."""
    return _move(_locked(task), to=TaskStatus.CANCELLED, actor=actor, reason=reason)


@transaction.atomic
def task_retry(task: Task, *, actor, reason: str = "retried") -> Task:
    """Send a failed or cancelled task back to the queue with a fresh attempt budget."""
    task = _locked(task)
    if task.status not in (TaskStatus.FAILED, TaskStatus.CANCELLED):
        allowed = [TaskStatus.FAILED, TaskStatus.CANCELLED]
        raise IllegalTransition(current=task.status, requested="retry", allowed=allowed)
    return _move(task, to=TaskStatus.READY, actor=actor, reason=reason, attempts=0, not_before=None)


# --- Runners: start, heartbeat, progress, complete, fail ------------------------------------------------------------


def _held(task_id: int, *, runner: str, lease_token: str = "") -> Task:
    """The locked task, if LEASE_TOKEN (when given) or else RUNNER still holds its lease."""
    task = _locked(task_id)
    # The dispatcher claims with its name and hands the token to a worker, which takes the lease over.
    holder = task.lease_token == lease_token if lease_token else task.claimed_by == runner
    if task.status not in ACTIVE_STATUSES or not holder:
        raise LeaseLost(task)
    return task


def _lease_until(seconds: float | None):
    return timezone.now() + timedelta(seconds=seconds if seconds is not None else conf.lease_seconds())


@transaction.atomic
def task_start(task_id: int, *, runner: str, lease_token: str = "", lease_seconds: float | None = None, actor=None):
    """claimed → running, once, for the lease holder, who becomes RUNNER (a redelivered job gets LeaseLost)."""
    task = _held(task_id, runner=runner, lease_token=lease_token)
    if task.status != TaskStatus.CLAIMED:
        raise LeaseLost(task)
    task.attempt_set.filter(outcome=TaskAttempt.Outcome.RUNNING).update(runner=runner)
    return _move(task, to=TaskStatus.RUNNING, actor=actor or runner, reason="started", claimed_by=runner,
                 lease_expires_at=_lease_until(lease_seconds))  # fmt: skip


def task_heartbeat(task_id: int, *, runner: str, lease_token: str = "", lease_seconds: float | None = None) -> bool:
    """Renew the lease with one conditional UPDATE; False when the runner no longer holds it."""
    held = Task.objects.filter(pk=task_id, status__in=ACTIVE_STATUSES)
    held = held.filter(lease_token=lease_token) if lease_token else held.filter(claimed_by=runner)
    return held.update(lease_expires_at=_lease_until(lease_seconds), updated_at=timezone.now()) == 1


@transaction.atomic
def task_progress(task_id: int, *, runner: str, actor, progress: int | None = None, note: str = "", log: str = ""):
    task = _held(task_id, runner=runner)
    if task.status == TaskStatus.CLAIMED:
        task = _move(task, to=TaskStatus.RUNNING, actor=actor, reason="started")
    if progress is not None:
        task.progress = progress
    task.progress_note = note[:500] if note else task.progress_note
    task.lease_expires_at = _lease_until(None)
    task.full_clean(exclude=["project", "goal", "milestone", "feature", "bug", "assignee"])
    task.save()
    if log:
        attempt = task.attempt_set.filter(outcome=TaskAttempt.Outcome.RUNNING).order_by("-number").first()
        if attempt is not None:
            attempt.log = keep_log_tail(attempt.log + log)
            attempt.save(update_fields=["log"])
    task_event(task, actor=actor, verb="progress", progress=task.progress, note=task.progress_note, log=log[-2000:])
    return task


@transaction.atomic
def task_record_outcome(
    task_id: int, *, runner: str, outcome: Outcome, actor=None, lease_token: str = "", log: str | None = None,
    attempt_outcome: str = "", duration: float | None = None,
) -> Task:  # fmt: skip
    """Record what an attempt produced and move the task on: review/done, a retry later, or failed."""
    task = _held(task_id, runner=runner, lease_token=lease_token)
    actor = actor or runner
    if task.status == TaskStatus.CLAIMED:
        task = _move(task, to=TaskStatus.RUNNING, actor=actor, reason="started")
    _close_attempt(task, outcome, log=log, attempt_outcome=attempt_outcome, duration=duration)
    task.prompt_tokens += outcome.prompt_tokens
    task.completion_tokens += outcome.completion_tokens
    task.cost += Decimal(outcome.cost)
    task.result_data = {**outcome.data, "exit_status": outcome.exit_status, "attempts": task.attempts,
                        "duration_seconds": duration}  # fmt: skip
    if outcome.succeeded:
        task.result, task.last_error, task.progress = outcome.output, "", 100
        done = TaskStatus.REVIEW if outcome.needs_review else TaskStatus.DONE
        return _move(task, to=done, actor=actor, reason="attempt succeeded")
    task.result = outcome.output
    return _after_failure(task, error=outcome.error or "failed", retryable=outcome.retryable, actor=actor)


def _close_attempt(task: Task, outcome: Outcome, *, log, attempt_outcome: str, duration) -> None:
    attempt = task.attempt_set.filter(outcome=TaskAttempt.Outcome.RUNNING).order_by("-number").first()
    if attempt is None:
        return
    ok = TaskAttempt.Outcome.SUCCEEDED if outcome.succeeded else TaskAttempt.Outcome.FAILED
    attempt.outcome = attempt_outcome or ok
    attempt.error = "" if outcome.succeeded else outcome.error
    if log is not None:
        attempt.log = keep_log_tail(log)
    attempt.exit_status = outcome.exit_status
    attempt.prompt_tokens, attempt.completion_tokens = outcome.prompt_tokens, outcome.completion_tokens
    attempt.cost = Decimal(outcome.cost)
    attempt.duration_seconds = duration
    attempt.finished_at = timezone.now()
    attempt.context = {**attempt.context, "result": {k: v for k, v in outcome.data.items() if k != "diff"}}
    attempt.save()


def _after_failure(task: Task, *, error: str, retryable: bool, actor, attempt_outcome: str = "") -> Task:
    """Retry later with backoff while attempts remain, else fail keeping the last error."""
    task.last_error = error
    if retryable and task.attempts < task.max_attempts:
        delay = backoff_delay(
            task.attempts, base=conf.retry_base_seconds(), cap=conf.retry_cap_seconds(), jitter=conf.retry_jitter()
        )
        reason = f"Attempt {task.attempts} of {task.max_attempts} failed; retrying in {delay:.1f}s: {error[:200]}"
        not_before = timezone.now() + timedelta(seconds=delay)
        return _move(task, to=TaskStatus.READY, actor=actor, reason=reason, attempt_outcome=attempt_outcome,
                     not_before=not_before)  # fmt: skip
    reason = f"Failed after {task.attempts} attempt(s): {error[:200]}"
    return _move(task, to=TaskStatus.FAILED, actor=actor, reason=reason, attempt_outcome=attempt_outcome)


def task_complete(task_id: int, *, runner: str, actor, result: str = "", **outcome_fields) -> Task:
    """An outside runner reports success (pull mode)."""
    outcome = Outcome(True, output=result, **outcome_fields)
    return task_record_outcome(task_id, runner=runner, actor=actor, outcome=outcome)


def task_fail(task_id: int, *, runner: str, actor, error: str, retryable: bool = True, **outcome_fields) -> Task:
    """An outside runner reports failure; it is retried with backoff while attempts remain."""
    outcome = Outcome(False, error=error, retryable=retryable, **outcome_fields)
    return task_record_outcome(task_id, runner=runner, actor=actor, outcome=outcome)


@transaction.atomic
def task_expire_lease(task_id: int, *, actor="reaper") -> Task | None:
    """Take back a task whose runner stopped renewing: a failed attempt, then retry or fail."""
    task = _locked(task_id)
    if task.status not in ACTIVE_STATUSES or task.lease_expires_at is None or task.lease_expires_at > timezone.now():
        return None
    error = f"Lease expired: runner {task.claimed_by!r} stopped renewing it (crashed, killed or cut off)."
    return _after_failure(task, error=error, retryable=True, actor=actor,
                          attempt_outcome=TaskAttempt.Outcome.LEASE_EXPIRED)  # fmt: skip


def keep_log_tail(text: str) -> str:
    limit = conf.log_limit_chars()
    return text if len(text) <= limit else "…[earlier output truncated]\n" + text[-limit:]
