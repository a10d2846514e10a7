"""The supervisor loop: watch every session, answer what may be answered, and size the pools.

Each step is small and returns whether more work is waiting, so the loop
sleeps only when idle and a SIGTERM stops it between steps. Idle panes cost
one `tmux list-panes` per tick: a pane is captured only when it printed
something since the last look (tmux's activity time) or when it is starting.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import timedelta

from django.db import close_old_connections
from django.utils import timezone

from sessions_pool import selectors, services, tmux
from sessions_pool.models import AgentSession, SessionState

logger = logging.getLogger(__name__)
S = SessionState
FULL_LOOK_SECONDS = 10.0  # every pane is read at least this often, whatever tmux says about activity


class Supervisor:
    def __init__(self, *, interval: float = 0.5):
        self.interval = interval
        self.stopping = False
        self.captured_at: dict[str, int] = {}  # session name → unix second of our last capture
        self.warned: set[str] = set()

    def run(self, *, keep_sessions: bool = False) -> None:
        self.reconcile()
        while not self.stopping:
            close_old_connections()
            more = self.step()
            if not more:
                time.sleep(self.interval)
        if not keep_sessions:
            self.stop_all()

    def step(self) -> bool:
        more = False
        # One read of the live sessions per step, shared by the parts (the loop's main cost is the ORM).
        sessions = list(selectors.live_sessions().select_related(None).select_related("profile"))
        for part in (self.observe_sessions, self.restart_stuck, self.scale_pools):
            try:
                more = part(sessions) or more
            except Exception:  # noqa: BLE001  (one bad step must not stop the loop)
                logger.exception("Supervisor step %s failed", part.__name__)
        return more

    def observe_sessions(self, sessions: list[AgentSession]) -> bool:
        panes = tmux.list_panes()
        due = [s for s in sessions if self._worth_a_look(s, panes.get(s.name))]
        # Live panes are read together in one tmux call; missing or dead ones one by one (they restart).
        alive = [s.name for s in due if s.name in panes and not panes[s.name].dead]
        try:
            screens = tmux.snapshots(alive)
        except tmux.TmuxError:
            screens = {}  # a pane went away meanwhile: read each on its own this time
        now = int(time.time())
        for session in due:
            self.captured_at[session.name] = now
            services.session_observe(session, screens.get(session.name))
        return False

    def _worth_a_look(self, session: AgentSession, pane) -> bool:
        if pane is None or pane.dead or session.state == S.STARTING:
            return True
        if session.state == S.BUSY and session.task_id is None:
            return True  # released by an executor that did not see the prompt come back
        last = self.captured_at.get(session.name, 0)
        # Activity times are whole seconds: a change in the second of our last look may be newer than it.
        return pane.activity >= last - 1 or time.time() - last >= FULL_LOOK_SECONDS

    def restart_stuck(self, sessions: list[AgentSession]) -> bool:
        now = timezone.now()
        for session in (s for s in sessions if s.state == S.STARTING):
            limit = timedelta(seconds=session.profile.startup_timeout_seconds)
            if session.started_at and now - session.started_at > limit:
                reason = f"no prompt within {session.profile.startup_timeout_seconds}s of starting"
                services.session_restart(session, actor=services.SUPERVISOR, reason=reason,
                                         expected_restarts=session.restarts)  # fmt: skip
        return False

    def scale_pools(self, sessions: list[AgentSession]) -> bool:
        profiles = selectors.enabled_profiles()
        demand = selectors.agent_demand(profiles)
        live = defaultdict(list)
        for session in sessions:
            if session.state != S.STOPPED:
                live[session.profile_id].append(session)
        for profile in profiles:
            self._scale(profile, live.pop(profile.pk, []), demand[profile.pk])
        for sessions in live.values():  # profiles disabled since: let their idle sessions go
            for session in sessions:
                if session.task_id is None:
                    services.session_stop(session, actor=services.SUPERVISOR, reason="profile disabled")
        return False

    def _scale(self, profile, sessions: list[AgentSession], demand: int) -> None:
        if not services.profile_runnable(profile):
            if profile.name not in self.warned:
                logger.warning(
                    "Profile %s: %r is not installed here; no sessions started.", profile.name, profile.command
                )
                self.warned.add(profile.name)
            return
        missing = services.pool_target(profile, demand) - len(sessions)
        for _ in range(max(0, missing)):
            services.session_spawn(profile=profile)
        for session in services.pool_reapable(profile, sessions, demand):
            reason = f"idle for more than {profile.idle_timeout_seconds}s"
            services.session_stop(session, actor=services.SUPERVISOR, reason=reason)
            self.captured_at.pop(session.name, None)

    def reconcile(self) -> None:
        """On start: forget tmux sessions no row knows (the rows whose tmux is gone restart on first look)."""
        known = set(selectors.live_sessions().values_list("name", flat=True))
        for name in tmux.list_panes():
            if name not in known:
                tmux.kill(name)

    def stop_all(self) -> None:
        for session in selectors.live_sessions():
            services.session_stop(session, actor=services.SUPERVISOR, reason="supervisor stopped")
