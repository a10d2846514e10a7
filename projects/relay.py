"""The outbox relay: in embedded mode, the web process broadcasts what any process committed.

Workers, management commands and `manage.py shell` write Event rows but cannot
reach the web process's in-memory channel layer. The relay, an asyncio task in
the daphne process (started by the first websocket connection), polls the
outbox by id and broadcasts each new event to its groups, in id order.

With SQLite, writers are serialized, so ids become visible in order. With
PostgreSQL (no Redis), a smaller id can commit after a larger one: the relay
holds back at a gap for GAP_GRACE_SECONDS before giving up on it (a rolled
back transaction leaves a permanent gap).
"""

import asyncio
import logging
import time

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from architect import bus
from projects.models import Event

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.1
BATCH = 500
GAP_GRACE_SECONDS = 2.0


class Relay:
    def __init__(self, layer, cursor: int):
        self.layer = layer
        self.cursor = cursor
        self.gap_since: float | None = None
        self.wakeup = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    def wake(self) -> None:
        """Thread-safe: a commit in this process means there is something to read now."""
        self.loop.call_soon_threadsafe(self.wakeup.set)

    async def run(self) -> None:
        bus._local_wakeups.append(self.wake)
        try:
            while True:
                try:
                    more = await self.step()
                except Exception:
                    logger.exception("Event relay step failed; retrying")
                    more = False
                if not more:
                    await self.sleep()
        finally:
            bus._local_wakeups.remove(self.wake)

    async def sleep(self) -> None:
        try:
            await asyncio.wait_for(self.wakeup.wait(), POLL_SECONDS)
        except TimeoutError:
            pass
        self.wakeup.clear()

    async def step(self) -> bool:
        """Broadcast the next batch of committed events; True when there may be more."""
        messages = await fetch_after(self.cursor)
        for message in self.in_order(messages):
            await bus.send_to_groups(self.layer, message)
            self.cursor = message["id"]
        return len(messages) == BATCH and self.gap_since is None

    def in_order(self, messages: list[dict]):
        for message in messages:
            if message["id"] != self.cursor + 1 and not self.gap_expired():
                return
            self.gap_since = None
            yield message

    def gap_expired(self) -> bool:
        now = time.monotonic()
        if self.gap_since is None:
            self.gap_since = now
        return now - self.gap_since >= GAP_GRACE_SECONDS


@database_sync_to_async
def fetch_after(cursor: int) -> list[dict]:
    return [event.as_message() for event in Event.objects.filter(id__gt=cursor).order_by("id")[:BATCH]]


@database_sync_to_async
def latest_event_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


_running: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}


async def ensure_started() -> None:
    """Start this process's relay once per event loop (embedded mode only)."""
    if bus.uses_redis():
        return
    loop = asyncio.get_running_loop()
    task = _running.get(loop)
    if task is not None and not task.done():
        return
    _running.pop(loop, None)
    # Placeholder first, so concurrent connections don't start two relays while we read the cursor.
    _running[loop] = loop.create_future()
    try:
        relay = Relay(get_channel_layer(), await latest_event_id())
    except BaseException:
        del _running[loop]
        raise
    _running[loop] = loop.create_task(relay.run(), name="event-relay")
    _forget_closed_loops()


def _forget_closed_loops() -> None:
    for loop in [loop for loop in _running if loop.is_closed()]:
        del _running[loop]


async def stop() -> None:
    """Stop the relay of the running loop (tests)."""
    task = _running.pop(asyncio.get_running_loop(), None)
    if task is not None and not task.done():
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
