"""Milestones and goals close themselves when all their (not cancelled) tasks are done.

Progress is weighted by task estimate (autopilot.selectors.work_progress). Closing goes through the
tracker service, so it is an ordinary `milestone.updated` / `goal.updated` event on the board.
"""

from django.db import transaction
from django.db.models import Q

from autopilot import selectors
from projects.models import Goal, Milestone, WorkStatus
from projects.services import tracker

CLOSABLE = (WorkStatus.OPEN, WorkStatus.IN_PROGRESS)


@transaction.atomic
def close_finished_work(goal: Goal, *, actor="autopilot") -> int:
    """Close GOAL's finished milestones, then GOAL itself once it is finished; how many were closed."""
    closed = 0
    for milestone in Milestone.objects.filter(goal=goal, status__in=CLOSABLE):
        if selectors.work_progress(milestone.tasks.all()).finished:
            tracker.tracker_update(milestone, actor=actor, fields={"status": WorkStatus.DONE})
            closed += 1
    goal.refresh_from_db()
    open_milestones = goal.milestones.filter(status__in=CLOSABLE).exists()
    if goal.status in CLOSABLE and not open_milestones and selectors.goal_progress(goal).finished:
        tracker.tracker_update(goal, actor=actor, fields={"status": WorkStatus.DONE})
        closed += 1
    return closed


def close_all_finished_work(*, actor="autopilot") -> int:
    """Sweep open milestones and goals with tasks (work that never went through a run closes too)."""
    closed = 0
    for milestone in Milestone.objects.filter(goal__isnull=True, status__in=CLOSABLE, tasks__isnull=False).distinct():
        if selectors.work_progress(milestone.tasks.all()).finished:
            tracker.tracker_update(milestone, actor=actor, fields={"status": WorkStatus.DONE})
            closed += 1
    goals = Goal.objects.filter(status__in=CLOSABLE).filter(Q(tasks__isnull=False) | Q(milestones__tasks__isnull=False))
    return closed + sum(close_finished_work(goal, actor=actor) for goal in goals.distinct())
