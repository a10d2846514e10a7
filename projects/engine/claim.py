"""The one way work is handed out: claim the next ready task, atomically.

Ready means status 'ready', every dependency done and `not_before` passed.
Order is priority (10 first), then age. Two claimers never get the same task:

- PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED LIMIT 1, so concurrent claimers
  lock different rows instead of queueing behind one another;
- SQLite: the transaction starts with BEGIN IMMEDIATE (settings), so claimers
  are serialised by the write lock; the UPDATE is still conditional on
  status='ready' and its row count checked, so correctness never rests on
  the transaction mode alone.
"""

import functools
import json
import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from projects.engine import conf
from projects.models import Task, TaskAttempt, TaskStatus
from projects.services.tasks import task_event

CANDIDATE_PAGE = 64


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
    with transaction.atomic():
        if settings.IS_POSTGRES:
            _commit_without_waiting_for_disk()
            task = _claim_postgres(executors, skills, project_ids, runner=runner, lease=lease)
        else:
            candidates = claimable(executors=executors, project_ids=project_ids)
            task = _claim_sqlite(candidates, skills, runner=runner, lease=lease)
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


def _claim_postgres(executors, skills, project_ids, *, runner: str, lease: float) -> Task | None:
    """One statement: lock the first claimable row no one else holds, take it, return it.

    The same conditions as `claimable`, written out once as SQL because this is
    the hot path: building the ORM query cost more than running it.
    """
    assignments, params = _claim_assignments(runner=runner, lease=lease)
    params += [executors, timezone.now()]
    if skills is not None:
        params.append(json.dumps(skills))
    if project_ids is not None:
        params.append(list(project_ids))
    sql = _postgres_claim_sql(assignments, skills is not None, project_ids is not None)
    claimed = list(Task.objects.raw(sql, params))
    return claimed[0] if claimed else None


@functools.cache
def _postgres_claim_sql(assignments: str, by_skills: bool, by_projects: bool) -> str:
    columns = ", ".join(connection.ops.quote_name(f.column) for f in Task._meta.concrete_fields)
    edges = Task.depends_on.through._meta.db_table
    return f"""
        UPDATE projects_task SET {assignments} WHERE id = (
            SELECT t.id FROM projects_task t
            WHERE t.status = 'ready' AND t.executor = ANY(%s) AND (t.not_before IS NULL OR t.not_before <= %s)
              {"AND t.skills <@ %s::jsonb" if by_skills else ""}
              {"AND t.project_id = ANY(%s)" if by_projects else ""}
              AND NOT EXISTS (
                  SELECT 1 FROM {edges} d JOIN projects_task dep ON dep.id = d.to_task_id
                  WHERE d.from_task_id = t.id AND dep.status <> 'done')
            ORDER BY t.priority DESC, t.created_at, t.id
            LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING {columns}
    """  # noqa: S608  (no user input in the text; values are parameters)


def _claim_assignments(*, runner: str, lease: float) -> tuple[str, list]:
    now = timezone.now()
    values = {
        "status": TaskStatus.CLAIMED,
        "claimed_by": runner,
        "lease_token": uuid.uuid4().hex,
        "lease_expires_at": now + timedelta(seconds=lease),
        "progress": 0,
        "progress_note": "",
        "updated_at": now,
    }
    # The text never varies (so the PostgreSQL statement is built once); only the values do.
    sql = ", ".join(f"{name} = %s" for name in values) + ", attempts = attempts + 1"
    return sql, list(values.values())


def _claim_sqlite(candidates: QuerySet[Task], skills: list[str] | None, *, runner: str, lease: float) -> Task | None:
    task_id = _next_sqlite(candidates, skills)
    if task_id is None or not _take(task_id, runner=runner, lease=lease):
        return None
    return Task.objects.get(pk=task_id)


def _next_sqlite(candidates: QuerySet[Task], skills: list[str] | None) -> int | None:
    # SQLite's JSON has no "contained by": check skills here, page by page, in claim order.
    offered = None if skills is None else set(skills)
    offset = 0
    while True:
        page = list(candidates.values_list("id", "skills")[offset : offset + CANDIDATE_PAGE])
        for task_id, wanted in page:
            if offered is None or set(wanted or ()) <= offered:
                return task_id
        if len(page) < CANDIDATE_PAGE:
            return None
        offset += CANDIDATE_PAGE


def _take(task_id: int, *, runner: str, lease: float) -> bool:
    """The conditional UPDATE: only a row still 'ready' is taken; the row count says whether we won."""
    assignments, params = _claim_assignments(runner=runner, lease=lease)
    table = Task._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE id = %s AND status = %s",  # noqa: S608
                       [*params, task_id, TaskStatus.READY])  # fmt: skip
        return cursor.rowcount == 1


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
            [task.pk, runner, TaskAttempt.Outcome.RUNNING, json.dumps(run_context(task)), timezone.now(), task.pk],
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
