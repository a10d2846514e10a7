from django.db import models

from architect import bus
from projects.models import Event


def actor_label(actor) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return actor.get_username()


def event_record(
    *,
    actor,
    type: str,
    obj: models.Model | None = None,
    project_id: int | None = None,
    payload: dict | None = None,
) -> Event:
    """Append an outbox event; call inside the transaction of the change it describes."""
    user = actor if actor is not None and not isinstance(actor, str) and actor.is_authenticated else None
    event = Event.objects.create(
        actor=user,
        actor_label=actor_label(actor),
        type=type,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        project_id=project_id,
        payload=payload or {},
    )
    bus.publish_on_commit(event)
    return event
