"""Reads that span models, always scoped to what the user may see."""

from django.db.models import Count, Q, QuerySet, Sum

from architect import roles
from projects.models import Bug, Event, Feature, Goal, Milestone, Project, Secret, Task, TaskStatus


def visible_projects(user) -> QuerySet[Project]:
    if not roles.can_read(user):
        return Project.objects.none()
    if roles.is_agent_only(user):
        return Project.objects.filter(agents=user)
    return Project.objects.all()


def scoped_to_projects(queryset: QuerySet, user, field: str = "project") -> QuerySet:
    """QUERYSET limited to rows whose FIELD is a project USER may read."""
    if not roles.can_read(user):
        return queryset.none()
    if roles.is_agent_only(user):
        return queryset.filter(**{f"{field}__agents": user})
    return queryset


def project_list(user) -> QuerySet[Project]:
    return visible_projects(user).select_related("owner").prefetch_related("agents")


def goal_list(user) -> QuerySet[Goal]:
    return scoped_to_projects(Goal.objects.all(), user)


def milestone_list(user) -> QuerySet[Milestone]:
    # Cancelled tasks (rejected or replaced work) do not count towards progress.
    counted = ~Q(tasks__status=TaskStatus.CANCELLED)
    return (
        scoped_to_projects(Milestone.objects.all(), user)
        .annotate(
            estimate_total=Sum("tasks__estimate", filter=counted),
            estimate_done=Sum("tasks__estimate", filter=Q(tasks__status=TaskStatus.DONE)),
            task_count=Count("tasks", filter=counted),
        )
        .order_by("due_date", "id")  # Meta.ordering does not apply to aggregate queries
    )


def feature_list(user) -> QuerySet[Feature]:
    return scoped_to_projects(Feature.objects.all(), user)


def bug_list(user) -> QuerySet[Bug]:
    return scoped_to_projects(Bug.objects.all(), user)


def task_list(user) -> QuerySet[Task]:
    return (
        scoped_to_projects(Task.objects.all(), user)
        .select_related("project", "assignee")
        .prefetch_related("depends_on")
    )


def event_list(user, *, after: int | None = None) -> QuerySet[Event]:
    events = Event.objects.all()
    if roles.is_agent_only(user):
        events = events.filter(project__agents=user)
    elif not roles.can_read(user):
        return events.none()
    if after is not None:
        events = events.filter(id__gt=after)
    return events.order_by("id")


def secret_list(user) -> QuerySet[Secret]:
    if roles.is_agent_only(user):
        return Secret.objects.none()
    return scoped_to_projects(Secret.objects.all(), user).select_related("project")


def milestone_progress(milestone) -> float:
    """Share of estimated work done, from the list annotations (0.0 with no tasks)."""
    total = getattr(milestone, "estimate_total", None) or 0
    done = getattr(milestone, "estimate_done", None) or 0
    return round(done / total, 4) if total else 0.0
