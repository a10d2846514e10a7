"""Fan-out in the web process: one feed of committed events per process, handed to every open socket.

Where the feed comes from depends on the mode:

- Embedded (no REDIS_URL): workers, management commands and `manage.py shell`
  write Event rows but cannot reach this process's memory. The outbox poller
  reads new rows by id (one indexed query every POLL_SECONDS, sooner when a
  commit in this process wakes it) and feeds them in id order.
- Redis: committing processes group_send each event through channels-redis
  (architect.bus). This process listens on the board group with ONE channel
  and fans out locally, so an event costs one Redis round trip per web
  process instead of one per open socket. channels-redis drops messages
  silently when a channel is full, and a publisher can die between commit
  and publish, so a slow backstop poller (every BACKSTOP_SECONDS) also feeds
  events older than BACKSTOP_SETTLE_SECONDS; sockets drop what they already sent.

Both run as an asyncio task in daphne's loop, started by the first websocket
connection (`join`).
"""

import asyncio
import logging
import time
from datetime import timedelta

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.utils import timezone

from architect import bus
from projects.models import Event

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.1
BATCH = 500
# With PostgreSQL a smaller id can commit after a larger one; the poller waits this long
# at a gap before giving up on it (a rolled-back transaction leaves a permanent gap).
GAP_GRACE_SECONDS = 2.0
# channels-redis forgets group members after a day; the listener re-joins well before.
REJOIN_SECONDS = 3600.0
BACKSTOP_SECONDS = 1.0
BACKSTOP_SETTLE_SECONDS = 1.0
RETRY_SECONDS = 1.0


class Hub:
    """The open board sockets of this process (one per event loop)."""

    def __init__(self):
        self.consumers: set = set()
        self.feeder: asyncio.Future | None = None

    async def fanout(self, message: dict) -> None:
        """MESSAGE is a bus envelope: id, project and the JSON text, encoded once."""
        for consumer in list(self.consumers):
            try:
                await consumer.offer(message["id"], message.get("project"), message["text"])
            except Exception:
                logger.exception("Delivering event %s to a board socket failed", message["id"])


class OutboxPoller:
    """Feeds committed events by id. SETTLE > 0 (the Redis backstop) only takes events that old, skipping gaps."""

    def __init__(self, hub: Hub, cursor: int, *, interval: float = POLL_SECONDS, settle: float = 0.0):
        self.hub = hub
        self.cursor = cursor
        self.interval = interval
        self.settle = settle
        # SQLite commits one writer at a time, so ids become visible in order and a gap is
        # for good (rows deleted); PostgreSQL may still be committing a smaller id.
        self.wait_at_gaps = not settle and connection.vendor != "sqlite"
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
                    logger.exception("Outbox poll failed; retrying")
                    more = False
                if not more:
                    await self.sleep()
        finally:
            bus._local_wakeups.remove(self.wake)

    async def sleep(self) -> None:
        try:
            await asyncio.wait_for(self.wakeup.wait(), self.interval)
        except TimeoutError:
            pass
        self.wakeup.clear()

    async def step(self) -> bool:
        """Feed the next batch of committed events; True when there may be more right away."""
        messages = await fetch_after(self.cursor, self.settle)
        for message in self.in_order(messages):
            await self.hub.fanout(bus.envelope(message))
            self.cursor = message["id"]
        return len(messages) == BATCH and self.gap_since is None

    def in_order(self, messages: list[dict]):
        for message in messages:
            if message["id"] != self.cursor + 1 and self.wait_at_gaps and not self.gap_expired():
                return
            self.gap_since = None
            yield message

    def gap_expired(self) -> bool:
        now = time.monotonic()
        if self.gap_since is None:
            self.gap_since = now
        return now - self.gap_since >= GAP_GRACE_SECONDS


async def join_redis_group():
    """Listen on the board group before any socket goes live, so nothing published after is missed."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(bus.BOARD_GROUP, channel)
    return layer, channel


async def listen_to_redis(hub: Hub, layer, channel: str) -> None:
    """Receive into a local queue and fan out from it, so a slow fan-out never fills the Redis channel."""
    queue: asyncio.Queue = asyncio.Queue()
    fanout = asyncio.create_task(drain(hub, queue))
    try:
        await receive_forever(layer, channel, queue)
    finally:
        fanout.cancel()
        await leave_redis_group(layer, channel)


async def leave_redis_group(layer, channel: str) -> None:
    # Best effort, also while shutting down: an unreachable Redis must not hold the process.
    try:
        await asyncio.wait_for(layer.group_discard(bus.BOARD_GROUP, channel), 1.0)
    except (Exception, asyncio.CancelledError):
        logger.debug("Could not leave the board group on shutdown", exc_info=True)


async def receive_forever(layer, channel: str, queue: asyncio.Queue) -> None:
    joined_at = 0.0  # (re)join at once: after a restart the membership may have lapsed
    while True:
        try:
            if time.monotonic() - joined_at > REJOIN_SECONDS:
                await layer.group_add(bus.BOARD_GROUP, channel)
                joined_at = time.monotonic()
            message = await layer.receive(channel)
        except asyncio.CancelledError:
            raise
        except Exception:
            if asyncio.current_task().cancelling():
                raise
            logger.warning("Receiving board events from Redis failed; retrying", exc_info=True)
            await asyncio.sleep(RETRY_SECONDS)
            continue
        if message.get("type") == bus.MESSAGE_TYPE:
            queue.put_nowait(message)


async def drain(hub: Hub, queue: asyncio.Queue) -> None:
    while True:
        await hub.fanout(await queue.get())


async def redis_feed(hub: Hub, layer, channel: str, cursor: int) -> None:
    backstop = OutboxPoller(hub, cursor, interval=BACKSTOP_SECONDS, settle=BACKSTOP_SETTLE_SECONDS)
    await asyncio.gather(
        keep_running("redis listener", lambda: listen_to_redis(hub, layer, channel)),
        keep_running("outbox backstop", backstop.run),
    )


async def keep_running(name: str, start) -> None:
    """Restart START when it ends: a dead feed would silently starve every socket of this process.

    channels-redis can leak a CancelledError from another task's receive into ours; only a
    cancellation of this task itself stops the loop.
    """
    while True:
        try:
            await start()
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():
                raise
            logger.warning("Board feed %s was cancelled from outside; restarting", name)
        except Exception:
            if asyncio.current_task().cancelling():
                return  # failed while being stopped: stop
            logger.exception("Board feed %s failed; restarting", name)
        await asyncio.sleep(RETRY_SECONDS)


@database_sync_to_async
def fetch_after(cursor: int, settle: float = 0.0) -> list[dict]:
    events = Event.objects.filter(id__gt=cursor)
    if settle:
        events = events.filter(created_at__lt=timezone.now() - timedelta(seconds=settle))
    return [event.as_message() for event in events.order_by("id")[:BATCH]]


@database_sync_to_async
def latest_event_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


async def join(consumer) -> Hub:
    """Register CONSUMER for live events, starting this loop's feed if it is not running."""
    hub = _hub_for_running_loop()
    if hub.feeder is None or hub.feeder.done():
        await _start_feeder(hub)
    hub.consumers.add(consumer)
    return hub


def leave(consumer) -> None:
    hub = _hubs.get(asyncio.get_running_loop())
    if hub is not None:
        hub.consumers.discard(consumer)


def _hub_for_running_loop() -> Hub:
    for loop in [loop for loop in _hubs if loop.is_closed()]:
        del _hubs[loop]
    return _hubs.setdefault(asyncio.get_running_loop(), Hub())


async def _start_feeder(hub: Hub) -> None:
    loop = asyncio.get_running_loop()
    # A placeholder first, so connections arriving meanwhile don't start a second feed.
    hub.feeder = loop.create_future()
    try:
        if bus.uses_redis():
            feed = redis_feed(hub, *await join_redis_group(), await latest_event_id())
        else:
            feed = OutboxPoller(hub, await latest_event_id()).run()
    except BaseException:
        hub.feeder = None
        raise
    hub.feeder = loop.create_task(feed, name="board-feed")


async def stop() -> None:
    """Stop the running loop's feed (tests)."""
    hub = _hubs.pop(asyncio.get_running_loop(), None)
    if hub is None or hub.feeder is None or hub.feeder.done():
        return
    hub.feeder.cancel()
    try:
        await hub.feeder
    except asyncio.CancelledError:
        pass
