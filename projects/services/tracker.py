"""Writes for projects, goals, milestones, features and bugs.

Each write validates the row, saves it and appends its event in one
transaction, so a failing write leaves neither the row nor the event.
"""

from django.db import models, transaction

from projects.models import Bug, Feature, Goal, Milestone, Project
from projects.services.events import event_record
from projects.services.snapshots import object_snapshot, project_id_of


def _record(obj, *, actor, verb: str, changed: list[str] | None = None) -> None:
    payload = object_snapshot(obj)
    if changed is not None:
        payload["changed"] = changed
    event_record(
        actor=actor,
        type=f"{obj._meta.model_name}.{verb}",
        obj=obj,
        project_id=project_id_of(obj),
        payload=payload,
    )


def save_new(model: type[models.Model], *, fields: dict, many: dict | None = None) -> models.Model:
    """Validate and save a new row with its many-to-many links (the caller records the event)."""
    obj = model(**fields)
    obj.full_clean()
    obj.save()
    for name, values in (many or {}).items():
        getattr(obj, name).set(values)
    return obj


def save_changes(obj: models.Model, *, fields: dict, many: dict | None = None) -> list[str]:
    """Validate and save changes to OBJ; return the names of the fields that changed."""
    changed = sorted(name for name, value in fields.items() if getattr(obj, name) != value)
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.full_clean()
    obj.save()
    for name, values in (many or {}).items():
        getattr(obj, name).set(values)
        changed.append(name)
    return changed


@transaction.atomic
def tracker_create(model: type[models.Model], *, actor, fields: dict, many: dict | None = None):
    obj = save_new(model, fields=fields, many=many)
    _record(obj, actor=actor, verb="created")
    return obj


@transaction.atomic
def tracker_update(obj: models.Model, *, actor, fields: dict, many: dict | None = None):
    changed = save_changes(obj, fields=fields, many=many)
    _record(obj, actor=actor, verb="updated", changed=changed)
    return obj


@transaction.atomic
def tracker_delete(obj: models.Model, *, actor) -> None:
    # The event is recorded before the row goes, while its fields still exist.
    _record(obj, actor=actor, verb="deleted")
    obj.delete()


def project_create(*, actor, **fields) -> Project:
    agents = fields.pop("agents", None)
    return tracker_create(Project, actor=actor, fields=fields, many={"agents": agents} if agents is not None else None)


def goal_create(*, actor, **fields) -> Goal:
    return tracker_create(Goal, actor=actor, fields=fields)


def milestone_create(*, actor, **fields) -> Milestone:
    return tracker_create(Milestone, actor=actor, fields=fields)


def feature_create(*, actor, **fields) -> Feature:
    return tracker_create(Feature, actor=actor, fields=fields)


def bug_create(*, actor, **fields) -> Bug:
    return tracker_create(Bug, actor=actor, fields=fields)
