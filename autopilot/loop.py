"""The run loop: small idempotent steps that move every autopilot run on, from what the database says.

One step: create missing review items (and let the rules approve), plan the runs waiting in
`planning` (one at a time, under a lock so two loops never plan the same run), and advance the
running ones (budget cap, queueing ready tasks in dependency order, completion). Nothing is kept in
memory between steps, so killing every process and starting again carries on where it stopped.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from autopilot.models import AutopilotRun, RunStatus
from autopilot.services import progress, reviews, runs

logger = logging.getLogger(__name__)
PLANNING_LOCK_SECONDS = 15 * 60
SWEEP_EVERY_SECONDS = 5.0


def loop_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _holder_is_dead(locked_by: str) -> bool:
    """True when the planning lock belongs to a process of this host that no longer exists."""
    host, _, pid = locked_by.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class RunLoop:
    name: str = field(default_factory=loop_name)
    last_sweep: float = 0.0

    def step(self) -> bool:
        """One round over every run; True when something changed (so the caller loops again at once)."""
        changed = reviews.collect_waiting() > 0
        changed |= reviews.close_outdated_reviews() > 0
        changed |= self.plan_one()
        running = list(AutopilotRun.objects.filter(status=RunStatus.RUNNING).select_related("goal", "project"))
        views = runs.running_views(running) if running else {}
        for run in running:
            changed |= self._safely(runs.run_advance, run, view=views[run.pk])
        self._maybe_sweep()
        return changed

    def plan_one(self) -> bool:
        run = self.claim_planning()
        if run is None:
            return False
        logger.info("Planning run %s (goal %s)", run.pk, run.goal_id)
        self._safely(runs.run_plan, run)
        return True

    def claim_planning(self) -> AutopilotRun | None:
        """Take the planning lock of the oldest run waiting to be planned (a conditional UPDATE)."""
        now = timezone.now()
        free = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
        for run in AutopilotRun.objects.filter(status=RunStatus.PLANNING).order_by("id")[:20]:
            if not (run.locked_until is None or run.locked_until < now or _holder_is_dead(run.locked_by)):
                continue
            stale = Q(pk=run.pk, status=RunStatus.PLANNING) & (free | Q(locked_by=run.locked_by))
            taken = AutopilotRun.objects.filter(stale).update(
                locked_until=now + timedelta(seconds=PLANNING_LOCK_SECONDS), locked_by=self.name
            )
            if taken == 1:
                run.refresh_from_db()
                return run
        return None

    def _safely(self, function, run, **kwargs) -> bool:
        # One broken run must not stop the others; its error is logged and retried next step.
        try:
            return bool(function(run, **kwargs))
        except Exception:
            logger.exception("Autopilot step %s failed for run %s", function.__name__, run.pk)
            return False

    def _maybe_sweep(self) -> None:
        if time.monotonic() - self.last_sweep >= SWEEP_EVERY_SECONDS:
            self.last_sweep = time.monotonic()
            progress.close_all_finished_work()

    def run_until_idle(self, max_steps: int = 1000) -> int:
        """Step until nothing changes (tests and `--once`); how many steps changed something."""
        changed = 0
        while changed < max_steps and self.step():
            changed += 1
        return changed
