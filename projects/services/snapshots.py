"""What an event carries about the object it describes (never secrets)."""

from projects.models import Project, Task


def task_snapshot(task: Task) -> dict:
    return {
        "id": task.pk,
        "project": task.project_id,
        "title": task.title,
        "status": task.status,
        "priority": task.priority,
        "executor": task.executor,
        "assignee": task.assignee.get_username() if task.assignee_id else "",
        "claimed_by": task.claimed_by,
        "attempts": task.attempts,
        "max_attempts": task.max_attempts,
        "cost": str(task.cost),
        "goal": task.goal_id,
        "milestone": task.milestone_id,
        "last_error": task.last_error[-500:],
        "progress": task.progress,
        "blocked_reason": task.blocked_reason,
        "not_before": task.not_before.isoformat() if task.not_before else None,
    }


def object_snapshot(obj) -> dict:
    if isinstance(obj, Task):
        return task_snapshot(obj)
    snapshot = {"id": obj.pk}
    for field in ("name", "slug", "title", "status", "severity", "priority"):
        if hasattr(obj, field):
            snapshot[field] = getattr(obj, field)
    project_id = obj.pk if isinstance(obj, Project) else getattr(obj, "project_id", None)
    snapshot["project"] = project_id
    return snapshot


def project_id_of(obj) -> int | None:
    return obj.pk if isinstance(obj, Project) else getattr(obj, "project_id", None)
