"""The live feed's rules, kept out of the consumer: who hears what, exactly once, and from where to resume."""

import time
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.db.models import Max, Min
from django.utils.crypto import constant_time_compare
from rest_framework.authtoken.models import Token

from architect import roles
from projects import selectors
from projects.models import Event, ExecutorKind, TaskStatus
from projects.models.task import FINISHED_STATUSES
from projects.services.snapshots import task_snapshot

REPLAY_BATCH = 500
# Ids below the newest one sent that may still arrive late (PostgreSQL commits out of id order);
# a wider gap is remembered only for its top part, where in-flight transactions are.
MAX_TRACKED_GAP = 5000


@dataclass(frozen=True)
class Access:
    """What one connection may read: everything (staff) or some projects (agents)."""

    staff: bool
    project_ids: frozenset[int] = frozenset()

    def may_read(self, project_id: int | None) -> bool:
        return self.staff or project_id in self.project_ids


def access_for(user) -> Access | None:
    """USER's read access, from fresh rows (None: no role that reads the board)."""
    if not roles.can_read(user):
        return None
    if roles.is_agent_only(user):
        return Access(staff=False, project_ids=frozenset(user.agent_projects.values_list("pk", flat=True)))
    return Access(staff=True)


def reload_user(user):
    """USER re-read from the database with roles uncached (None if gone)."""
    return get_user_model().objects.filter(pk=user.pk, is_active=True).first()


def session_still_valid(session_key: str | None, user) -> bool:
    """True while the session that opened the socket exists, is unexpired and still logs in USER."""
    if not session_key:
        return False
    data = import_module(settings.SESSION_ENGINE).SessionStore(session_key).load()
    if str(data.get(SESSION_KEY)) != str(user.pk) or BACKEND_SESSION_KEY not in data:
        return False
    # A password change ends other sessions, as it does for pages.
    return constant_time_compare(data.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash())


def token_still_valid(token_key: str, user) -> bool:
    return Token.objects.filter(key=token_key, user_id=user.pk).exists()


def resume_point_lost(after: int) -> bool:
    """True when events after AFTER may have been pruned, or AFTER comes from another outbox."""
    bounds = Event.objects.aggregate(low=Min("id"), high=Max("id"))
    if bounds["high"] is None:
        return after != 0
    # Retention deletes a prefix of ids and always keeps the newest event.
    return after < bounds["low"] - 1 or after > bounds["high"]


def replay_batch(user, after: int) -> list[dict]:
    return [event.as_message() for event in selectors.event_list(user, after=after)[:REPLAY_BATCH]]


def visible_messages(user, ids: list[int]) -> list[dict]:
    return [event.as_message() for event in selectors.event_list(user).filter(id__in=ids)]


class DeliveryLog:
    """The event ids one connection has sent, so each goes out exactly once.

    Anything at or below the newest id sent is dropped, except ids skipped on
    the way up (`missing`): those may still arrive late, or be repaired from
    the outbox, and are sent when they do.
    """

    def __init__(self):
        self.first_id: int | None = None
        self.last_id: int | None = None
        self.missing: dict[int, float] = {}

    def accept(self, event_id: int) -> bool:
        if self.last_id is None:
            self.first_id = self.last_id = event_id
            return True
        if event_id > self.last_id:
            self._remember_gap(self.last_id + 1, event_id)
            self.last_id = event_id
            return True
        return self.missing.pop(event_id, None) is not None

    def resume_from(self, after: int) -> None:
        """The client has everything up to AFTER; anything newer it has not had from us is due."""
        if self.last_id is None:
            self.first_id = self.last_id = after
        elif after < self.first_id:
            self._remember_gap(after + 1, self.first_id)

    def overdue(self, older_than: float) -> list[int]:
        cutoff = time.monotonic() - older_than
        return sorted(event_id for event_id, since in self.missing.items() if since <= cutoff)

    def forget(self, ids: list[int]) -> None:
        for event_id in ids:
            self.missing.pop(event_id, None)

    def _remember_gap(self, start: int, stop: int) -> None:
        now = time.monotonic()
        for event_id in range(max(start, stop - MAX_TRACKED_GAP), stop):
            self.missing[event_id] = now


EXECUTOR_LABELS = {"llm": "LLM"}  # the model's choice label reads "Llm"
FINISHED_ON_BOARD = 200  # done/failed/cancelled cards shown at first; live events add newer ones


def board_state(user) -> dict:
    """What /board/ renders before going live: the outbox position first, so replay covers the rest."""
    last_event_id = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    tasks = selectors.task_list(user)
    open_tasks = list(tasks.exclude(status__in=FINISHED_STATUSES))
    finished = list(tasks.filter(status__in=FINISHED_STATUSES).order_by("-updated_at")[:FINISHED_ON_BOARD])
    return {
        "last_event_id": last_event_id,
        "tasks": [task_snapshot(task) for task in open_tasks + finished],
        "projects": {project.pk: project.name for project in selectors.visible_projects(user).only("pk", "name")},
        "statuses": [{"value": value, "label": label} for value, label in TaskStatus.choices],
        "executors": [
            {"value": value, "label": EXECUTOR_LABELS.get(value, label)} for value, label in ExecutorKind.choices
        ],
        "can_manage": roles.can_manage(user),
    }
