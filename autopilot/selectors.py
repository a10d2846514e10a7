"""Reads for the autopilot, scoped to what the user may read, and progress weighted by estimate."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum

from architect import roles
from autopilot.models import ApprovalRule, AutopilotRun, Plan, ReviewItem
from projects.models import Goal, Milestone, Task, TaskStatus
from projects.selectors import scoped_to_projects


@dataclass(frozen=True)
class Progress:
    """Done estimate over total estimate; cancelled tasks (rejected, replaced) do not count."""

    done: int
    total: int
    tasks: int

    @property
    def ratio(self) -> float:
        return round(self.done / self.total, 4) if self.total else 0.0

    @property
    def finished(self) -> bool:
        return self.tasks > 0 and self.done == self.total

    def as_dict(self) -> dict:
        return {"done": self.done, "total": self.total, "tasks": self.tasks, "progress": self.ratio}


def work_progress(tasks: QuerySet[Task]) -> Progress:
    counted = tasks.exclude(status=TaskStatus.CANCELLED)
    totals = counted.aggregate(
        total=Sum("estimate"), done=Sum("estimate", filter=Q(status=TaskStatus.DONE)), tasks=Count("pk")
    )
    return Progress(done=totals["done"] or 0, total=totals["total"] or 0, tasks=totals["tasks"])


def goal_tasks(goal: Goal) -> QuerySet[Task]:
    return Task.objects.filter(Q(goal=goal) | Q(milestone__goal=goal)).distinct()


def goal_progress(goal: Goal) -> Progress:
    return work_progress(Task.objects.filter(pk__in=goal_tasks(goal).values("pk")))


def milestone_progress(milestone: Milestone) -> Progress:
    return work_progress(milestone.tasks.all())


def run_list(user) -> QuerySet[AutopilotRun]:
    return scoped_to_projects(AutopilotRun.objects.all(), user).select_related("project", "goal", "created_by")


def run_tasks(run: AutopilotRun) -> QuerySet[Task]:
    return Task.objects.filter(autopilot_link__run=run).select_related("autopilot_link").order_by("pk")


def run_plans(run: AutopilotRun) -> QuerySet[Plan]:
    return run.plans.order_by("-number")


def review_list(user) -> QuerySet[ReviewItem]:
    return scoped_to_projects(ReviewItem.objects.all(), user).select_related(
        "task", "project", "run", "decided_by", "decided_by_rule", "rework_task"
    )


def pending_reviews(user) -> QuerySet[ReviewItem]:
    # Oldest first: the queue order (uses review_status_idx).
    return review_list(user).filter(status=ReviewItem.Status.PENDING).order_by("id")


def rule_list(user) -> QuerySet[ApprovalRule]:
    """Rules are workspace settings: staff read them all, agents none."""
    if roles.is_agent_only(user) or not roles.can_read(user):
        return ApprovalRule.objects.none()
    return ApprovalRule.objects.select_related("project")


def goal_overview(user, *, goal_ids: list[int] | None = None) -> list[dict]:
    """Visible goals with their progress and their milestones' progress, in a fixed number of queries."""
    goals = scoped_to_projects(Goal.objects.all(), user).select_related("project")
    if goal_ids is not None:
        goals = goals.filter(pk__in=goal_ids)
    goals = list(goals)
    milestones = list(Milestone.objects.filter(goal__in=goals).order_by("due_date", "id"))
    rows = Task.objects.filter(Q(goal__in=goals) | Q(milestone__in=milestones)).exclude(status=TaskStatus.CANCELLED)
    tally: dict[tuple[str, int], list[int]] = {}
    milestone_goal = {m.pk: m.goal_id for m in milestones}
    for goal_id, milestone_id, status, estimate in rows.values_list("goal_id", "milestone_id", "status", "estimate"):
        owners = {("g", goal_id), ("g", milestone_goal.get(milestone_id)), ("m", milestone_id)}
        for owner in owners:
            if owner[1] is not None:
                counts = tally.setdefault(owner, [0, 0, 0])
                counts[0] += estimate if status == TaskStatus.DONE else 0
                counts[1] += estimate
                counts[2] += 1

    def progress(key) -> dict:
        return Progress(*tally.get(key, [0, 0, 0])).as_dict()

    by_goal: dict[int, list[dict]] = {}
    for m in milestones:
        by_goal.setdefault(m.goal_id, []).append({"id": m.pk, "title": m.title, "status": m.status,
                                                  **progress(("m", m.pk))})  # fmt: skip
    return [{"id": g.pk, "project": g.project_id, "project_name": g.project.name, "title": g.title,
             "status": g.status, **progress(("g", g.pk)), "milestones": by_goal.get(g.pk, [])}
            for g in goals]  # fmt: skip


def tasks_without_review() -> QuerySet[Task]:
    """Tasks waiting in review whose current attempt has no review item yet (oldest first)."""
    reviewed = ReviewItem.objects.filter(task_id=OuterRef("pk"), attempt=OuterRef("attempts"))
    return Task.objects.filter(status=TaskStatus.REVIEW).filter(~Exists(reviewed)).order_by("updated_at", "pk")
