"""Writes for tasks: create, edit, dependencies and status moves.

Status moves go through `task_transition`, which refuses any move the state
machine in projects.models.task.TRANSITIONS does not allow.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from architect.errors import IllegalTransition
from projects.models import Task, TaskStatus
from projects.models.task import FINISHED_STATUSES, TRANSITIONS
from projects.services.events import event_record
from projects.services.snapshots import task_snapshot

EDITABLE_STATUSES_ON_CREATE = {TaskStatus.BACKLOG, TaskStatus.READY}


def task_event(task: Task, *, actor, verb: str, **extra) -> None:
    event_record(
        actor=actor, type=f"task.{verb}", obj=task, project_id=task.project_id, payload={**task_snapshot(task), **extra}
    )


@transaction.atomic
def task_create(*, actor, depends_on: list[Task] | None = None, **fields) -> Task:
    status = fields.get("status", TaskStatus.BACKLOG)
    if status not in EDITABLE_STATUSES_ON_CREATE:
        raise ValidationError({"status": f"A new task starts as backlog or ready, not {status!r}."})
    task = Task(**fields)
    task.full_clean()
    task.save()
    if depends_on:
        _set_dependencies(task, depends_on)
    task_event(task, actor=actor, verb="created")
    return task


@transaction.atomic
def task_update(task: Task, *, actor, depends_on: list[Task] | None = None, **fields) -> Task:
    """Edit a task's fields; its status only changes through task_transition."""
    if "status" in fields and fields["status"] != task.status:
        raise ValidationError({"status": "Change the status with a transition (queue, cancel, retry…)."})
    fields.pop("status", None)
    changed = sorted(name for name, value in fields.items() if getattr(task, name) != value)
    for name, value in fields.items():
        setattr(task, name, value)
    task.full_clean()
    task.save()
    if depends_on is not None:
        _set_dependencies(task, depends_on)
        changed.append("depends_on")
    task_event(task, actor=actor, verb="updated", changed=changed)
    return task


@transaction.atomic
def task_delete(task: Task, *, actor) -> None:
    task_event(task, actor=actor, verb="deleted")
    task.delete()


@transaction.atomic
def task_transition(task: Task, *, to: str, actor, reason: str = "", **fields) -> Task:
    """Move TASK to status TO, refusing moves the state machine does not allow.

    The row is re-read under the write lock so two movers cannot both succeed
    from the same starting state.
    """
    task = Task.objects.select_for_update().get(pk=task.pk)
    if to not in TRANSITIONS[task.status]:
        raise IllegalTransition(current=task.status, requested=to, allowed=list(TRANSITIONS[task.status]))
    previous = task.status
    task.status = to
    for name, value in fields.items():
        setattr(task, name, value)
    _stamp_times(task, to)
    task.save()
    task_event(task, actor=actor, verb="moved", previous=previous, reason=reason)
    return task


def _stamp_times(task: Task, status: str) -> None:
    now = timezone.now()
    if status == TaskStatus.RUNNING and task.started_at is None:
        task.started_at = now
    if status in FINISHED_STATUSES:
        task.finished_at = now
    elif status in (TaskStatus.READY, TaskStatus.BACKLOG):
        task.finished_at = None


def _set_dependencies(task: Task, depends_on: list[Task]) -> None:
    check_dependencies(task, depends_on)
    task.depends_on.set(depends_on)


def check_dependencies(task: Task, depends_on) -> None:
    """Refuse dependencies on other projects' tasks and any that would close a cycle."""
    for dependency in depends_on:
        if dependency.project_id != task.project_id:
            raise ValidationError({"depends_on": f"Task {dependency.pk} belongs to another project."})
        if dependency.pk == task.pk or task.pk in _ancestors_of(dependency.pk):
            raise ValidationError({"depends_on": f"Depending on task {dependency.pk} would create a cycle."})


def _ancestors_of(task_id: int) -> set[int]:
    """Every task that TASK_ID depends on, directly or not (one query per level)."""
    edges = Task.depends_on.through.objects
    seen: set[int] = set()
    frontier = {task_id}
    while frontier:
        parents = set(edges.filter(from_task_id__in=frontier).values_list("to_task_id", flat=True))
        frontier = parents - seen
        seen |= parents
    return seen
