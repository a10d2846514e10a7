"""Milestones and goals close themselves when all their (not cancelled) tasks are done.

Progress is weighted by task estimate (autopilot.selectors.work_progress). Closing goes through the
tracker service, so it is an ordinary `milestone.updated` / `goal.updated` event on the board.
"""

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from projects.models import Goal, Milestone, Task, TaskStatus, WorkStatus
from projects.services import tracker

CLOSABLE = (WorkStatus.OPEN, WorkStatus.IN_PROGRESS)
NOT_COUNTED = TaskStatus.CANCELLED


def finished_milestones():
    """Open milestones with counted tasks, all of them done (one query)."""
    counted = Task.objects.filter(milestone=OuterRef("pk")).exclude(status=NOT_COUNTED)
    unfinished = counted.exclude(status=TaskStatus.DONE)
    return Milestone.objects.filter(status__in=CLOSABLE).filter(Exists(counted)).exclude(Exists(unfinished))


def finished_goals():
    """Open goals with counted tasks (their own or their milestones'), all done, and no open milestone."""
    mine = Q(goal=OuterRef("pk")) | Q(milestone__goal=OuterRef("pk"))
    counted = Task.objects.filter(mine).exclude(status=NOT_COUNTED)
    unfinished = counted.exclude(status=TaskStatus.DONE)
    open_milestones = Milestone.objects.filter(goal=OuterRef("pk"), status__in=CLOSABLE)
    goals = Goal.objects.filter(status__in=CLOSABLE).filter(Exists(counted))
    return goals.exclude(Exists(unfinished)).exclude(Exists(open_milestones))


def _close(obj, *, actor) -> None:
    tracker.tracker_update(obj, actor=actor, fields={"status": WorkStatus.DONE})


@transaction.atomic
def close_finished_work(goal: Goal, *, actor="autopilot") -> int:
    """Close GOAL's finished milestones, then GOAL itself once it is finished; how many were closed."""
    milestones = list(finished_milestones().filter(goal=goal))
    for milestone in milestones:
        _close(milestone, actor=actor)
    goals = list(finished_goals().filter(pk=goal.pk))
    for finished in goals:
        _close(finished, actor=actor)
    return len(milestones) + len(goals)


def close_all_finished_work(*, actor="autopilot") -> int:
    """Sweep: close every finished milestone, then every finished goal (work outside runs closes too).

    Reads first and opens a write transaction only when there is something to close.
    """
    closed = 0
    for milestone_id in list(finished_milestones().values_list("pk", flat=True)):
        closed += _close_if_finished(finished_milestones(), milestone_id, actor=actor)
    for goal_id in list(finished_goals().values_list("pk", flat=True)):
        closed += _close_if_finished(finished_goals(), goal_id, actor=actor)
    return closed


@transaction.atomic
def _close_if_finished(candidates, pk: int, *, actor) -> int:
    obj = candidates.select_for_update().filter(pk=pk).first()  # still finished, now under the lock
    if obj is None:
        return 0
    _close(obj, actor=actor)
    return 1
