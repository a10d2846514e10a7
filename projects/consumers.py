"""/ws/board/: every event the user may read, live, exactly once, with resume.

Protocol (JSON text frames):
- server → client: events `{"id": <event id>, "type": "task.moved", ...}` in id order, each once;
  `{"type": "resumed", "last_id": <id>}` after a replay; `{"type": "resync"}` when the resume
  point was pruned (reload the page); `{"type": "error", "detail": ...}` for a bad request.
- client → server: `{"resume_after": <id>}` replays what came after that id, then goes live.
- close codes: 4401 not logged in or the session/token ended; 4403 no role that reads the board.
"""

import asyncio
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from architect import bus
from projects import live, relay

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class BoardConsumer(AsyncWebsocketConsumer):
    # No channel-layer channel per socket: events arrive through this process's hub (projects.relay),
    # which costs one Redis receive per event per process, not one per socket.
    channel_layer_alias = None
    # How often to repair gaps, and how old a gap must be before asking the outbox.
    tick_seconds = 1.0
    repair_after_seconds = 1.0
    # How often to re-check that the session or token and the user's access still hold.
    recheck_seconds = 60.0

    async def connect(self):
        self.access = None
        self.log = live.DeliveryLog()
        # Hold live events until the client says where to resume from, so they come after the replay.
        self.replaying = True
        self.pending: list[tuple[int, int | None, str]] = []
        self.resumed_once = False
        self.watcher = None
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return await self.refuse(CLOSE_UNAUTHENTICATED)
        self.access = await database_sync_to_async(live.access_for)(user)
        if self.access is None:
            return await self.refuse(CLOSE_FORBIDDEN)
        await relay.join(self)
        await self.accept()
        self.watcher = asyncio.create_task(self.watch())

    async def refuse(self, code: int) -> None:
        # Accept first: a close before the handshake reaches the browser as 1006, not as CODE.
        await self.accept()
        await self.close(code=code)

    async def disconnect(self, code):
        relay.leave(self)
        if self.watcher is not None:
            self.watcher.cancel()

    async def receive(self, text_data=None, bytes_data=None):
        after = parse_resume(text_data)
        if after is None:
            await self.send_json({"type": "error", "detail": 'Send {"resume_after": <event id>}.'})
            return
        await self.resume(after)

    async def resume(self, after: int) -> None:
        """Replay from the outbox; live events arriving meanwhile wait in `pending`, then go through the log."""
        self.resumed_once = True
        if await database_sync_to_async(live.resume_point_lost)(after):
            await self.send_json({"type": "resync"})
            return
        self.replaying = True
        try:
            await self.replay(after)
        finally:
            await self.go_live()
        await self.send_json({"type": "resumed", "last_id": self.log.last_id or after})

    async def replay(self, after: int) -> None:
        self.log.resume_from(after)
        cursor = after
        while True:
            batch = await database_sync_to_async(live.replay_batch)(self.scope["user"], cursor)
            for message in batch:
                await self.deliver(message["id"], message.get("project"), bus.dumps(message))
            if len(batch) < live.REPLAY_BATCH:
                return
            cursor = batch[-1]["id"]

    async def go_live(self) -> None:
        # More may arrive while these are sent; stay in replay mode until none is left.
        while self.pending:
            await self.deliver(*self.pending.pop(0))
        self.replaying = False

    async def offer(self, event_id: int, project_id: int | None, text: str) -> None:
        """A live event from this process's feed (projects.relay)."""
        if self.replaying:
            self.pending.append((event_id, project_id, text))
        else:
            await self.deliver(event_id, project_id, text)

    async def deliver(self, event_id: int, project_id: int | None, text: str) -> None:
        if self.access is not None and self.access.may_read(project_id) and self.log.accept(event_id):
            await self.send(text_data=text)

    async def send_json(self, content: dict) -> None:
        await self.send(text_data=json.dumps(content))

    async def watch(self) -> None:
        """Repair delivery gaps every tick; re-check the login now and then."""
        since_check = 0.0
        try:
            await asyncio.sleep(self.tick_seconds)
            if not self.resumed_once:
                await self.go_live()  # a client that never resumes gets live events from here on
            while True:
                await asyncio.sleep(self.tick_seconds)
                await self.repair_gaps()
                since_check += self.tick_seconds
                if since_check >= self.recheck_seconds:
                    since_check = 0.0
                    await self.recheck()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("Board connection watcher failed; closing so the client reconnects")
            await self.close()

    async def repair_gaps(self) -> None:
        """Send events that were committed but never broadcast to us (a lost or late publish)."""
        overdue = self.log.overdue(self.repair_after_seconds)
        if not overdue:
            return
        found = await database_sync_to_async(live.visible_messages)(self.scope["user"], overdue)
        for message in found:
            await self.deliver(message["id"], message.get("project"), bus.dumps(message))
        self.log.forget(overdue)

    async def recheck(self) -> None:
        status, access = await database_sync_to_async(self.current_access)()
        if status:
            await self.close(code=status)
            return
        self.access = access

    def current_access(self) -> tuple[int | None, live.Access | None]:
        user = live.reload_user(self.scope["user"])
        if user is None or not self.credentials_valid(user):
            return CLOSE_UNAUTHENTICATED, None
        access = live.access_for(user)
        return (CLOSE_FORBIDDEN, None) if access is None else (None, access)

    def credentials_valid(self, user) -> bool:
        token = self.scope.get("auth_token")
        if token:
            return live.token_still_valid(token, user)
        session = self.scope.get("session")
        return live.session_still_valid(getattr(session, "session_key", None), user)


def parse_resume(text: str | None) -> int | None:
    try:
        data = json.loads(text or "")
    except ValueError:
        return None
    after = data.get("resume_after") if isinstance(data, dict) else None
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        return None
    return after
