"""The dispatcher: match ready tasks to worker capacity and enqueue their jobs.

Each step reaps expired leases (at most once a second), then claims up to
the free capacity and enqueues one django-q2 job per claimed task, after the
claim commits. Tasks whose executor is `external` are never dispatched: an
outside agent pulls them through the API.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

from django.db import transaction
from django_q.brokers import get_broker
from django_q.tasks import async_task

from projects.engine import conf, leases
from projects.engine.claim import claim_next
from projects.executors.registry import registered_kinds
from projects.models import ExecutorKind, Task
from projects.models.task import ACTIVE_STATUSES

logger = logging.getLogger(__name__)
REAP_EVERY_SECONDS = 1.0


def dispatchable_kinds() -> list[str]:
    return [kind for kind in registered_kinds() if kind != ExecutorKind.EXTERNAL]


def in_flight(kinds: list[str]) -> int:
    return Task.objects.filter(status__in=ACTIVE_STATUSES, executor__in=kinds).count()


def enqueue(task: Task, broker=None) -> None:
    """Queue the job that runs TASK's claimed attempt, once the claim is committed."""
    task_id, token = task.pk, task.lease_token
    options = {"task_name": f"task-{task_id}"}
    if broker is not None:
        options["broker"] = broker
    transaction.on_commit(lambda: async_task("projects.jobs.run_task", task_id, token, **options))


@dataclass
class Dispatcher:
    capacity: int = field(default_factory=conf.dispatch_capacity)
    skills: list[str] | None = field(default_factory=conf.dispatcher_skills)
    kinds: list[str] = field(default_factory=dispatchable_kinds)
    name: str = field(default_factory=lambda: f"dispatcher@{conf.hostname()}:{os.getpid()}")
    last_reap: float = 0.0
    # One broker connection for the loop: django-q2 opens a new one per job otherwise (~5 ms each).
    broker: object = field(default_factory=get_broker)

    def step(self) -> int:
        """One round: reap, then dispatch up to the free capacity; how many tasks were dispatched."""
        self._maybe_reap()
        free = self.capacity - in_flight(self.kinds)
        dispatched = 0
        while dispatched < free and self.dispatch_one():
            dispatched += 1
        return dispatched

    def dispatch_one(self) -> bool:
        with transaction.atomic():
            task = claim_next(
                runner=self.name, executors=self.kinds, skills=self.skills, lease_seconds=conf.dispatch_lease_seconds()
            )
            if task is None:
                return False
            enqueue(task, self.broker)
        return True

    def _maybe_reap(self) -> None:
        if time.monotonic() - self.last_reap >= REAP_EVERY_SECONDS:
            self.last_reap = time.monotonic()
            leases.reap_expired()
