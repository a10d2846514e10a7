"""The event bus: services publish outbox events here, after commit.

With Redis the channel layer reaches every process. Without it the in-memory
layer only reaches consumers in this same process; the web process's relay
(see projects.relay) broadcasts the events other processes committed.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

BOARD_GROUP = "board"


def project_group(project_id: int) -> str:
    return f"project-{project_id}"


def publish_on_commit(event) -> None:
    """Broadcast EVENT once its transaction commits (never for a rollback)."""
    message = event.as_message()
    transaction.on_commit(lambda: broadcast(message))


def broadcast(message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    envelope = {"type": "event.message", "event": message}
    try:
        async_to_sync(layer.group_send)(BOARD_GROUP, envelope)
    except Exception:
        # Clients resume from the outbox, so a failed broadcast loses nothing.
        logger.warning("Broadcast of event %s failed", message.get("id"), exc_info=True)
