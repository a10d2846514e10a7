"""Writes for agent profiles and sessions: every change appends its event in the same transaction.

Several processes touch one session (the supervisor loop, the executor inside a
worker job, a maintainer through the API), so writes are narrow conditional
UPDATEs of the fields each one owns, never a save() of a stale row.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import shlex
import shutil
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from architect.errors import DomainError
from projects.services.events import event_record
from sessions_pool import conf, detection, tmux
from sessions_pool.models import AgentProfile, AgentSession, SessionState

S = SessionState
SUPERVISOR = "supervisor"
TAIL_LINES = 20
ACTIVITY_WRITE_SECONDS = 2.0
CRASH_LOOP = "Crash loop"
CRASH_LOOP_SECONDS = 10  # a session that dies this soon after starting,
CRASH_LOOP_RESTARTS = 5  # this many times, is left in error instead of restarted again
PROFILE_FIELDS = {f.name for f in AgentProfile._meta.concrete_fields} - {"id"}


class SessionUnavailable(DomainError):
    pass


# --- Profiles -------------------------------------------------------------------------------------


def _profile_event(profile: AgentProfile, *, actor, verb: str, **extra) -> None:
    payload = {"id": profile.pk, "name": profile.name, "enabled": profile.enabled, **extra}
    event_record(actor=actor, type=f"agent_profile.{verb}", obj=profile, payload=payload)


@transaction.atomic
def profile_create(*, actor, **fields) -> AgentProfile:
    profile = AgentProfile(**fields)
    profile.full_clean()
    profile.save()
    _profile_event(profile, actor=actor, verb="created")
    return profile


@transaction.atomic
def profile_update(profile: AgentProfile, *, actor, **fields) -> AgentProfile:
    unknown = set(fields) - PROFILE_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown field."))
    changed = sorted(name for name, value in fields.items() if getattr(profile, name) != value)
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.full_clean()
    profile.save()
    _profile_event(profile, actor=actor, verb="updated", changed=changed)
    return profile


@transaction.atomic
def profile_delete(profile: AgentProfile, *, actor) -> None:
    if profile.sessions.exclude(state=S.STOPPED).exists():
        raise DomainError("Stop the profile's sessions before deleting it.")
    _profile_event(profile, actor=actor, verb="deleted")
    profile.sessions.all().delete()
    profile.delete()


# --- Session events -------------------------------------------------------------------------------


def session_snapshot(session: AgentSession) -> dict:
    return {
        "id": session.pk,
        "name": session.name,
        "profile": session.profile.name,
        "state": session.state,
        "task": session.task_id,
        "alert": session.alert,
        "restarts": session.restarts,
        "last_lines": session.last_output.splitlines()[-8:],
        "last_activity_at": session.last_activity_at.isoformat() if session.last_activity_at else None,
    }


def _session_event(session: AgentSession, *, actor, verb: str, **extra) -> None:
    project_id = session.task.project_id if session.task_id else None
    payload = {**session_snapshot(session), **extra}
    event_record(actor=actor, type=f"session.{verb}", obj=session, project_id=project_id, payload=payload)


def _reload(session: AgentSession) -> AgentSession:
    return AgentSession.objects.select_related("profile", "task").get(pk=session.pk)


# --- Lifecycle ------------------------------------------------------------------------------------


def _command(profile: AgentProfile, session_name: str) -> str:
    """The pane's command with the profile's environment set by `env` (tmux drops some names, PS1 among them)."""
    environment = {**profile.environment, "ARCHITECT_SESSION": session_name}
    assignments = [f"{key}={value}" for key, value in environment.items()]
    return f"{shlex.join(['env', *assignments])} {profile.command}"


def session_spawn(*, profile: AgentProfile, actor=SUPERVISOR) -> AgentSession:
    """Start a new tmux session running PROFILE's agent in the session's own directory."""
    if not profile.enabled:
        raise DomainError(f"Profile {profile.name!r} is disabled.")
    if not profile_runnable(profile):
        raise DomainError(f"Profile {profile.name!r} runs {profile.command!r}, which is not installed here.")
    name = f"{profile.name}-{secrets.token_hex(3)}"
    home = conf.sessions_dir() / name
    home.mkdir(parents=True, exist_ok=True)
    tmux.new_session(name, command=_command(profile, name), cwd=str(home))
    now = timezone.now()
    with transaction.atomic():
        session = AgentSession.objects.create(
            profile=profile, name=name, home_dir=str(home), workdir=str(home), started_at=now, last_activity_at=now
        )
        _session_event(session, actor=actor, verb="created")
    return session


def session_stop(session: AgentSession, *, actor, reason: str = "") -> AgentSession:
    tmux.kill(session.name)
    with transaction.atomic():
        AgentSession.objects.filter(pk=session.pk).update(state=S.STOPPED, stopped_at=timezone.now(), alert="")
        session = _reload(session)
        _session_event(session, actor=actor, verb="stopped", reason=reason)
    return session


def session_restart(session: AgentSession, *, actor, reason: str = "", expected_restarts: int | None = None):
    """Start the agent afresh in the session's own directory; the current task (if any) is dropped.

    With EXPECTED_RESTARTS, only the first of several processes noticing the same
    crash restarts it; the others get None.
    """
    claim = AgentSession.objects.filter(pk=session.pk)
    if expected_restarts is not None:
        # Automatic restarts never revive a session someone stopped meanwhile.
        claim = claim.filter(restarts=expected_restarts).exclude(state=S.STOPPED)
    with transaction.atomic():
        updated = claim.update(
            state=S.STARTING, restarts=F("restarts") + 1, task=None, workdir=session.home_dir, alert="",
            started_at=timezone.now(), stopped_at=None, turn_started_at=None, turn_start_line=None, last_error=reason,
            screen_hash="", answered_key="", alerted_key="",
        )  # fmt: skip
        if not updated:
            return None
        session = _reload(session)
        _session_event(session, actor=actor, verb="restarted", reason=reason)
    _respawn_or_create(session, cwd=session.home_dir)
    return session


def _respawn_or_create(session: AgentSession, *, cwd: str) -> None:
    Path(cwd).mkdir(parents=True, exist_ok=True)
    command = _command(session.profile, session.name)
    if tmux.exists(session.name):
        tmux.respawn(session.name, command=command, cwd=cwd)
    else:
        tmux.new_session(session.name, command=command, cwd=cwd)


def session_send_keys(session: AgentSession, *, actor, keys: list[str] = (), text: str = "", enter: bool = False):
    """A person typing into the session: TEXT literally, then the tmux KEYS, then Enter if asked."""
    if not session.is_live:
        raise SessionUnavailable(f"Session {session.name} is {session.state}.")
    then = (*keys, "Enter") if enter else tuple(keys)
    try:
        if text:
            tmux.send_text(session.name, text, then=then)
        else:
            tmux.send_keys(session.name, *then)
    except tmux.TmuxError as exc:
        raise ValidationError({"keys": str(exc)}) from exc
    with transaction.atomic():
        # The text itself is not recorded: people type passwords and tokens into terminals.
        _session_event(session, actor=actor, verb="keys_sent", keys=list(then), text_length=len(text))
    return session


# --- Observation ----------------------------------------------------------------------------------


@dataclass
class Observation:
    session: AgentSession
    reading: detection.Reading
    pane: tmux.PaneInfo | None
    crashed: bool = False


def session_observe(session: AgentSession, snapshot: tuple[tmux.PaneInfo, list[str]] | None = None) -> Observation:
    """Read the pane (or use SNAPSHOT), update the session's state, and answer or raise what it waits on."""
    try:
        pane, lines = snapshot or tmux.snapshot(session.name)
    except tmux.TmuxError:
        return _crashed(session, None, "the tmux session is gone")
    if pane.dead:
        return _crashed(session, pane, _exit_reason(session, pane))
    reading = detection.classify(lines, session.profile)
    if reading.state == S.WAITING_CONFIRMATION:
        _handle_confirmation(session, reading, pane)
    _record(session, reading, lines)
    return Observation(session=session, reading=reading, pane=pane)


def _exit_reason(session: AgentSession, pane: tmux.PaneInfo) -> str:
    if pane.exit_status is None:
        time.sleep(0.05)  # tmux marks the pane dead a moment before it has reaped the exit status
        with contextlib.suppress(tmux.TmuxError):
            pane = tmux.snapshot(session.name)[0]
    if pane.exit_status is None:
        return "the agent exited (killed by a signal, or its status is unknown)"
    return f"the agent exited with status {pane.exit_status}"


def _crashed(session: AgentSession, pane, reason: str) -> Observation:
    if session.state == S.STOPPED:
        return Observation(session, detection.Reading(S.STOPPED), pane)
    if session.state == S.ERROR and session.last_error.startswith(CRASH_LOOP):
        return Observation(session, detection.Reading(S.ERROR), pane, crashed=True)
    if _crash_looping(session):
        _give_up(session, reason)
        return Observation(session, detection.Reading(S.ERROR), pane, crashed=True)
    restarted = session_restart(session, actor=SUPERVISOR, reason=reason, expected_restarts=session.restarts)
    return Observation(restarted or _reload(session), detection.Reading(S.ERROR), pane, crashed=True)


def _crash_looping(session: AgentSession) -> bool:
    """Dies again right after each restart: restarting it every tick would only burn CPU."""
    young = session.started_at and (timezone.now() - session.started_at).total_seconds() < CRASH_LOOP_SECONDS
    return bool(young and session.restarts >= CRASH_LOOP_RESTARTS)


def _give_up(session: AgentSession, reason: str) -> None:
    error = f"{CRASH_LOOP} after {session.restarts} restarts; last: {reason}. Fix the profile, then restart it."
    with transaction.atomic():
        AgentSession.objects.filter(pk=session.pk).update(state=S.ERROR, last_error=error, task=None)
        previous = session.state
        session.state, session.last_error, session.task_id = S.ERROR, error, None
        _session_event(session, actor=SUPERVISOR, verb="alert", prompt="", reason=error, previous=previous)


def _next_state(session: AgentSession, reading: detection.Reading, changed: bool) -> str:
    if reading.state is not None:
        return reading.state
    if session.state == S.STARTING:
        return S.STARTING
    return S.BUSY if changed else session.state


def _record(session: AgentSession, reading: detection.Reading, lines: list[str]) -> None:
    digest = detection.screen_hash(lines)
    changed = digest != session.screen_hash
    state = _next_state(session, reading, changed)
    if state == session.state and not _worth_writing(session, changed):
        return
    fields = {"state": state, "screen_hash": digest, "last_output": _tail(lines)}
    if changed:
        fields["last_activity_at"] = timezone.now()
    if state == S.BUSY and session.turn_started_at:
        fields["turn_seen_busy"] = True
    if state != S.WAITING_CONFIRMATION:
        fields["alert"] = ""
    with transaction.atomic():
        # Never overwrite a stop or restart another process made since our read.
        AgentSession.objects.filter(pk=session.pk, restarts=session.restarts).exclude(state=S.STOPPED).update(**fields)
        previous = session.state
        for name, value in fields.items():
            setattr(session, name, value)
        if state != previous:
            _session_event(session, actor=SUPERVISOR, verb="state", previous=previous)


def _worth_writing(session: AgentSession, changed: bool) -> bool:
    """A new screen in the same state is written at most every ACTIVITY_WRITE_SECONDS (spinners redraw 10×/s)."""
    if not changed:
        return False
    if session.state == S.BUSY and session.turn_started_at and not session.turn_seen_busy:
        return True
    last = session.last_activity_at
    return last is None or (timezone.now() - last).total_seconds() >= ACTIVITY_WRITE_SECONDS


def _tail(lines: list[str]) -> str:
    kept = [line.rstrip() for line in lines if line.strip()]
    return "\n".join(kept[-TAIL_LINES:])


def _prompt_key(reading: detection.Reading, pane: tmux.PaneInfo) -> str:
    """Identifies one appearance of one prompt: its text and where it is in the scrollback."""
    position = pane.history_size + reading.prompt_line
    return hashlib.sha256(f"{position}\n{reading.prompt}".encode()).hexdigest()[:32]


def _handle_confirmation(session: AgentSession, reading: detection.Reading, pane: tmux.PaneInfo) -> None:
    decision = detection.decide(reading.prompt, session.profile)
    key = _prompt_key(reading, pane)
    if decision.action == "answer":
        _answer(session, reading, decision, key)
    else:
        _alert(session, reading, decision, key)


def _answer(session, reading, decision, key: str) -> None:
    with transaction.atomic():
        claimed = AgentSession.objects.filter(pk=session.pk).exclude(answered_key=key).update(answered_key=key)
        if not claimed:
            return  # another process answered this prompt already
        tmux.send_keys(session.name, *decision.keys)
        session.answered_key = key
        _session_event(
            session, actor=SUPERVISOR, verb="auto_confirmed", prompt=reading.prompt, keys=list(decision.keys),
            rule=decision.reason,
        )  # fmt: skip


def _alert(session, reading, decision, key: str) -> None:
    with transaction.atomic():
        claimed = (
            AgentSession.objects.filter(pk=session.pk)
            .exclude(alerted_key=key)
            .update(alerted_key=key, alert=reading.prompt, state=S.WAITING_CONFIRMATION)
        )
        if not claimed:
            return
        previous = session.state
        session.alerted_key, session.alert, session.state = key, reading.prompt, S.WAITING_CONFIRMATION
        _session_event(session, actor=SUPERVISOR, verb="alert", prompt=reading.prompt, reason=decision.reason,
                       previous=previous)  # fmt: skip


# --- Dispatch -------------------------------------------------------------------------------------


def session_claim(*, profile: AgentProfile, task_id: int) -> AgentSession | None:
    """Give an idle session of PROFILE to the task; least recently used first, so work spreads out."""
    idle = AgentSession.objects.filter(profile=profile, state=S.IDLE, task__isnull=True)
    for pk in idle.order_by("last_activity_at", "id").values_list("pk", flat=True)[:10]:
        with transaction.atomic():
            claimed = AgentSession.objects.filter(pk=pk, state=S.IDLE, task__isnull=True).update(
                task_id=task_id, state=S.BUSY, turn_started_at=None, turn_start_line=None, turn_seen_busy=False
            )
            if claimed:
                session = _reload(AgentSession(pk=pk))
                _session_event(session, actor=SUPERVISOR, verb="assigned", previous=S.IDLE)
                return session
    return None


def session_move(session: AgentSession, *, workdir: str) -> bool:
    """Restart the agent in WORKDIR unless it already runs there; True when it was restarted."""
    if session.workdir == workdir:
        return False
    fields = {"state": S.STARTING, "workdir": workdir, "screen_hash": "", "started_at": timezone.now()}
    AgentSession.objects.filter(pk=session.pk).update(**fields)
    for name, value in fields.items():
        setattr(session, name, value)
    _respawn_or_create(session, cwd=workdir)
    return True


def session_submit(session: AgentSession, *, prompt: str) -> AgentSession:
    """Type PROMPT into the session's agent and mark the start of the turn."""
    profile = session.profile
    text = profile.prompt_template.replace("{prompt}", prompt)
    if profile.submit_mode == AgentProfile.Submit.PASTE:
        pane = tmux.paste_text(session.name, text, then=tuple(profile.submit_keys))
    else:
        pane = tmux.send_text(session.name, " ".join(text.splitlines()), then=tuple(profile.submit_keys))
    now = timezone.now()
    fields = {"turn_started_at": now, "turn_start_line": pane.cursor_line, "turn_seen_busy": False, "state": S.BUSY}
    with transaction.atomic():
        AgentSession.objects.filter(pk=session.pk).update(last_activity_at=now, **fields)
        for name, value in fields.items():
            setattr(session, name, value)
        _session_event(session, actor=SUPERVISOR, verb="prompted", prompt=prompt[:500])
    return session


def session_interrupt(session: AgentSession) -> None:
    keys = session.profile.interrupt_keys or ["C-c"]
    try:
        tmux.send_keys(session.name, *keys)
    except tmux.TmuxError:
        pass  # the session is gone: nothing left to interrupt


def session_turn_text(session: AgentSession, pane: tmux.PaneInfo | None = None) -> str:
    """What the pane shows from the line the turn's prompt was typed on (PANE: a fresh read to save one)."""
    if session.turn_start_line is None:
        return ""
    return "\n".join(tmux.capture_from(session.name, session.turn_start_line, pane=pane)).rstrip()


def session_release(session: AgentSession, *, task_id: int, prompt_tokens: int = 0, completion_tokens: int = 0):
    """The task is over: the session goes back to the pool (if it still serves that task)."""
    with transaction.atomic():
        released = AgentSession.objects.filter(pk=session.pk, task_id=task_id).update(
            task=None, turn_started_at=None, turn_start_line=None, turn_seen_busy=False,
            last_activity_at=timezone.now(), prompt_tokens=F("prompt_tokens") + prompt_tokens,
            completion_tokens=F("completion_tokens") + completion_tokens,
        )  # fmt: skip
        if released:
            session = _reload(session)
            _session_event(session, actor=SUPERVISOR, verb="released", released_task=task_id)
    return session


def profile_runnable(profile: AgentProfile) -> bool:
    """Is the profile's program installed here? (Seeded profiles exist whether or not it is.)"""
    try:
        program = shlex.split(profile.command)[0]
    except (ValueError, IndexError):
        return False
    return shutil.which(program) is not None


# --- Pool -----------------------------------------------------------------------------------------


def pool_target(profile: AgentProfile, demand: int) -> int:
    return max(profile.min_sessions, min(profile.max_sessions, demand))


def pool_reapable(profile: AgentProfile, live: list[AgentSession], demand: int) -> list[AgentSession]:
    """Idle sessions to stop: those past the idle timeout (oldest first), never below min or demand;
    and any idle ones above max when max was lowered."""
    excess = len(live) - pool_target(profile, demand)
    if excess <= 0:
        return []
    cutoff = timezone.now() - timedelta(seconds=profile.idle_timeout_seconds)
    idle = sorted((s for s in live if s.state == S.IDLE and s.task_id is None), key=_activity)
    stale = [s for s in idle if s.last_activity_at and s.last_activity_at < cutoff]
    over_max = [s for s in idle if s not in stale][: max(0, len(live) - profile.max_sessions)]
    return [*stale, *over_max][:excess]


def _activity(session: AgentSession):
    return session.last_activity_at or timezone.now()
