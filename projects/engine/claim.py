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

import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
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
        candidates = claimable(executors=executors, project_ids=project_ids)
        task_id = _lock_next_postgres(candidates, skills) if settings.IS_POSTGRES else _next_sqlite(candidates, skills)
        if task_id is None or not _take(task_id, runner=runner, lease=lease):
            return None
        return _record_claim(task_id, runner=runner, actor=actor)


def _lock_next_postgres(candidates: QuerySet[Task], skills: list[str] | None) -> int | None:
    if skills is not None:
        candidates = candidates.filter(skills__contained_by=skills)
    return candidates.select_for_update(skip_locked=True).values_list("id", flat=True).first()


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
    now = timezone.now()
    taken = Task.objects.filter(pk=task_id, status=TaskStatus.READY).update(
        status=TaskStatus.CLAIMED,
        claimed_by=runner,
        lease_token=uuid.uuid4().hex,
        lease_expires_at=now + timedelta(seconds=lease),
        attempts=F("attempts") + 1,
        progress=0,
        progress_note="",
        updated_at=now,
    )
    return taken == 1


def _record_claim(task_id: int, *, runner: str, actor) -> Task:
    task = Task.objects.get(pk=task_id)
    number = TaskAttempt.objects.filter(task_id=task_id).count() + 1
    TaskAttempt.objects.create(task=task, number=number, runner=runner, context=run_context(task))
    task_event(task, actor=actor or runner, verb="moved", previous=TaskStatus.READY, reason="claimed")
    return task


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
