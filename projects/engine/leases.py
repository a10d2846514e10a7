"""The lease reaper: take back tasks whose runner stopped renewing.

A runner renews its lease while it works (projects.engine.runner); one that
crashes, is killed or loses the database stops renewing, the lease runs out,
and the reaper records a failed attempt (`lease_expired`) and sends the task
to a retry with backoff — or fails it when no attempts remain. Before that it
asks the executor to stop whatever the dead runner left behind.
"""

import logging

from django.utils import timezone

from projects.executors.registry import executor_class
from projects.models import Task, TaskAttempt
from projects.models.task import ACTIVE_STATUSES
from projects.services.tasks import task_expire_lease

logger = logging.getLogger(__name__)
BATCH = 200


def expired_task_ids(limit: int = BATCH) -> list[int]:
    # Uses task_lease_idx (status, lease_expires_at).
    expired = Task.objects.filter(status__in=ACTIVE_STATUSES, lease_expires_at__lt=timezone.now())
    return list(expired.order_by("lease_expires_at").values_list("id", flat=True)[:limit])


def reap_expired() -> int:
    """Return expired tasks to the queue (or fail them); how many were taken back."""
    reaped = 0
    for task_id in expired_task_ids():
        _abandon_leftovers(task_id)
        if task_expire_lease(task_id) is not None:
            reaped += 1
    if reaped:
        logger.warning("Reaped %d task(s) whose lease expired", reaped)
    return reaped


def _abandon_leftovers(task_id: int) -> None:
    attempt = TaskAttempt.objects.filter(task_id=task_id, outcome=TaskAttempt.Outcome.RUNNING).order_by("-number")
    attempt = attempt.select_related("task").first()
    state = (attempt.context or {}).get("handle") if attempt else None
    if not state:
        return
    try:
        executor_class(attempt.task.executor).abandon(state)
    except Exception:  # noqa: BLE001  (a plugin's cleanup must not stop the reaper)
        logger.exception("Could not stop the leftovers of task %s attempt %s", task_id, attempt.number)
