"""The event bus: services publish outbox events here, after commit.

Two modes, chosen by REDIS_URL:

- With Redis, the committing process (web, worker, shell) sends the event to
  the channel layer itself; channels-redis reaches every web process.
- Embedded (no Redis), the in-memory layer cannot leave the process, so the
  web process's relay (projects.relay) reads the outbox and broadcasts every
  committed event in id order. Publishing here only wakes that relay when the
  change was made in the web process itself.

Either way a consumer also replays from the outbox on resume, so a broadcast
that never arrives is recovered rather than lost.
"""

import asyncio
import json
import logging
import os
import threading

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

# Staff (admin, maintainer, viewer) read everything: they listen on BOARD_GROUP.
# Agents listen only on their projects' groups; events without a project are staff-only.
BOARD_GROUP = "board"
MESSAGE_TYPE = "board.event"  # handled by BoardConsumer.board_event

PUBLISH_TIMEOUT_SECONDS = 5.0

# Called with no argument after a commit in this process (embedded mode); the relay sets it.
_local_wakeups: list = []


def project_group(project_id: int) -> str:
    return f"project-{project_id}"


def groups_for(project_id: int | None) -> list[str]:
    return [BOARD_GROUP, project_group(project_id)] if project_id else [BOARD_GROUP]


def envelope(message: dict) -> dict:
    """The channel-layer message: serialized once, so N clients cost N sends, not N encodes."""
    return {"type": MESSAGE_TYPE, "id": message["id"], "project": message.get("project"), "text": dumps(message)}


def dumps(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"), default=str)


def uses_redis() -> bool:
    return bool(settings.REDIS_URL)


def publish_on_commit(event) -> None:
    """Broadcast EVENT once its transaction commits (never for a rollback)."""
    if uses_redis():
        message = event.as_message()
        transaction.on_commit(lambda: broadcast(message))
    else:
        transaction.on_commit(wake_local_relay)


def broadcast(message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        future = asyncio.run_coroutine_threadsafe(send_to_groups(layer, message), _publisher_loop())
        future.result(timeout=PUBLISH_TIMEOUT_SECONDS)
    except Exception:
        # Clients repair gaps and resume from the outbox, so a failed broadcast loses nothing.
        logger.warning("Broadcast of event %s failed", message.get("id"), exc_info=True)


async def send_to_groups(layer, message: dict) -> None:
    packed = envelope(message)
    for group in groups_for(message.get("project")):
        await layer.group_send(group, packed)


_publisher = {"pid": None, "loop": None}
_publisher_lock = threading.Lock()


def _publisher_loop() -> asyncio.AbstractEventLoop:
    """This process's publishing loop, in a thread of its own.

    async_to_sync would build a new loop, and so a new Redis connection, for
    every event; one long-lived loop keeps the connection warm. Recreated after
    a fork (django-q2 forks its workers), since threads do not survive one.
    """
    with _publisher_lock:
        if _publisher["pid"] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="event-publisher", daemon=True).start()
            _publisher.update(pid=os.getpid(), loop=loop)
        return _publisher["loop"]


def wake_local_relay() -> None:
    for wake in list(_local_wakeups):
        wake()
