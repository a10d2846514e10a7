"""The one way work is handed out: claim the next ready task, atomically.

Ready means status 'ready', every dependency done and `not_before` passed.
Order is priority (10 first), then age. Two claimers never get the same task:

- PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED LIMIT 1, so concurrent claimers
  lock different rows instead of queueing behind one another;
- SQLite: the transaction starts with BEGIN IMMEDIATE (settings), so claimers
  are serialised by the write lock; the UPDATE is still conditional on
  status='ready' and returns the row only when it took it (RETURNING: the
  row-count check), so correctness never rests on the transaction mode alone.
"""

import functools
import json
import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from projects.engine import conf
from projects.models import Task, TaskAttempt, TaskStatus
from projects.services.tasks import task_event

SQLITE_LOCK_RETRIES = 3


def claimable(*, executors: Iterable[str], project_ids: Iterable[int] | None = None) -> QuerySet[Task]:
    """Ready tasks of EXECUTORS that may start now, in claim order (uses task_claim_idx)."""
    unfinished = Task.depends_on.through.objects.filter(from_task_id=OuterRef("pk")).exclude(
        to_task__status=TaskStatus.DONE
    )
    queryset = Task.objects.filter(status=TaskStatus.READY, executor__in=list(executors))
    queryset = queryset.filter(Q(not_before__isnull=True) | Q(not_before__lte=timezone.now()))
    queryset = queryset.filter(~Exists(unfinished))
    if project_ids is not None:
        queryset = queryset.filter(project_id__in=list(project_ids))
    return queryset.order_by("-priority", "created_at", "id")


def claim_next(
    *,
    runner: str,
    executors: Iterable[str],
    skills: Iterable[str] | None = None,
    project_ids: Iterable[int] | None = None,
    lease_seconds: float | None = None,
    actor=None,
) -> Task | None:
    """Claim the next task for RUNNER, or None when nothing is ready.

    SKILLS are what the runner offers: a task qualifies when its skills are a
    subset. None means the runner offers any skill. The claimed task holds a
    lease of LEASE_SECONDS, a fresh lease token and a new running attempt.
    """
    executors = list(executors)
    skills = None if skills is None else sorted(set(skills))
    lease = lease_seconds if lease_seconds is not None else conf.lease_seconds()
    for tries_left in reversed(range(SQLITE_LOCK_RETRIES)):
        try:
            return _claim_once(executors, skills, project_ids, runner=runner, lease=lease, actor=actor)
        except OperationalError as exc:
            # SQLite's lock wait is unfair: under heavy contention a claimer can time out. Try again.
            if settings.IS_POSTGRES or "locked" not in str(exc) or not tries_left:
                raise
    return None


def _claim_once(executors, skills, project_ids, *, runner: str, lease: float, actor) -> Task | None:
    with transaction.atomic():
        if settings.IS_POSTGRES:
            _commit_without_waiting_for_disk()
        task = _take_first(executors, skills, project_ids, runner=runner, lease=lease)
        return None if task is None else _record_claim(task, runner=runner, actor=actor)


def _commit_without_waiting_for_disk() -> None:
    """Let PostgreSQL acknowledge this claim before its WAL reaches disk.

    A claim is safe to lose: if the server crashes right after, the task is
    simply still ready (and a job already enqueued for it finds a stale lease
    token and does nothing). Waiting for the flush cost ~20 ms per claim here.
    Scoped to this transaction with SET LOCAL; other writes stay synchronous.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _take_first(executors, skills, project_ids, *, runner: str, lease: float) -> Task | None:
    """One conditional UPDATE: take the first claimable row (still 'ready') and return it, or None.

    The conditions are those of `claimable`, written out as SQL because this is
    the hot path: building the ORM query cost more than running it.
    """
    adapt = connection.ops.adapt_datetimefield_value
    now = timezone.now()
    values = {
        "status": TaskStatus.CLAIMED,
        "claimed_by": runner,
        "lease_token": uuid.uuid4().hex,
        "lease_expires_at": adapt(now + timedelta(seconds=lease)),
        "progress": 0,
        "progress_note": "",
        "updated_at": adapt(now),
    }
    params = [*values.values(), *_listed(executors), adapt(now)]
    if skills is not None:
        params.append(json.dumps(skills))
    if project_ids is not None:
        project_ids = list(project_ids) or [0]
        params += _listed(project_ids)
    sql = _claim_sql(
        settings.IS_POSTGRES, len(executors), skills is not None, None if project_ids is None else len(project_ids)
    )
    claimed = list(Task.objects.raw(sql, params))
    return claimed[0] if claimed else None


def _listed(values) -> list:
    # PostgreSQL takes one array parameter; SQLite one parameter per item.
    return [list(values)] if settings.IS_POSTGRES else list(values)


@functools.cache
def _claim_sql(postgres: bool, executors: int, by_skills: bool, projects: int | None) -> str:
    def among(count: int) -> str:
        return "= ANY(%s)" if postgres else f"IN ({', '.join(['%s'] * count)})"

    if postgres:
        skills = "t.skills <@ %s::jsonb"
    else:  # every skill the task wants is among those offered
        skills = (
            "NOT EXISTS (SELECT 1 FROM json_each(t.skills) w WHERE w.value NOT IN (SELECT value FROM json_each(%s)))"
        )
    table = Task._meta.db_table
    columns = ", ".join(connection.ops.quote_name(f.column) for f in Task._meta.concrete_fields)
    edges = Task.depends_on.through._meta.db_table
    assignments = (
        "status = %s, claimed_by = %s, lease_token = %s, lease_expires_at = %s, progress = %s, "
        "progress_note = %s, updated_at = %s, attempts = attempts + 1"
    )
    return f"""
        UPDATE {table} SET {assignments} WHERE status = 'ready' AND id = (
            SELECT t.id FROM {table} t
            WHERE t.status = 'ready' AND t.executor {among(executors)}
              AND (t.not_before IS NULL OR t.not_before <= %s)
              {f"AND {skills}" if by_skills else ""}
              {f"AND t.project_id {among(projects)}" if projects is not None else ""}
              AND NOT EXISTS (
                  SELECT 1 FROM {edges} d JOIN {table} dep ON dep.id = d.to_task_id
                  WHERE d.from_task_id = t.id AND dep.status <> 'done')
            ORDER BY t.priority DESC, t.created_at, t.id
            LIMIT 1 {"FOR UPDATE SKIP LOCKED" if postgres else ""})
        RETURNING {columns}
    """  # noqa: S608  (no user input in the text; every value is a parameter)


def _record_claim(task: Task, *, runner: str, actor) -> Task:
    _open_attempt(task, runner=runner)
    task_event(task, actor=actor or runner, verb="moved", previous=TaskStatus.READY, reason="claimed")
    return task


def _open_attempt(task: Task, *, runner: str) -> None:
    """Insert the running attempt, numbered after the task's last one, in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {TaskAttempt._meta.db_table}
                (task_id, number, runner, outcome, error, log, context, prompt_tokens, completion_tokens, cost,
                 started_at)
                SELECT %s, COALESCE(MAX(number), 0) + 1, %s, %s, '', '', %s, 0, 0, 0, %s
                FROM {TaskAttempt._meta.db_table} WHERE task_id = %s""",  # noqa: S608
            [
                task.pk,
                runner,
                TaskAttempt.Outcome.RUNNING,
                json.dumps(run_context(task)),
                connection.ops.adapt_datetimefield_value(timezone.now()),
                task.pk,
            ],  # fmt: skip
        )


def run_context(task: Task) -> dict:
    """What an attempt runs with, recorded before it starts (environment values are not secret by contract)."""
    return {
        "repository": task.repository,
        "branch": task.branch,
        "base_commit": task.base_commit,
        "working_dir": task.working_dir,
        "environment": task.environment,
        "executor": task.executor,
        "host": conf.hostname(),
    }
