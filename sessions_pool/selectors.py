"""Reads for profiles and sessions, scoped to what the user may see."""

from __future__ import annotations

from collections import Counter

from django.db.models import QuerySet

from architect import roles
from projects.models import Task, TaskStatus
from sessions_pool.models import AgentProfile, AgentSession, SessionState

DEMAND_STATUSES = (TaskStatus.READY, TaskStatus.CLAIMED, TaskStatus.RUNNING)


def profile_list(user) -> QuerySet[AgentProfile]:
    # Profiles are workspace configuration: people see them, bot accounts do not.
    if not roles.can_read(user) or roles.is_agent_only(user):
        return AgentProfile.objects.none()
    return AgentProfile.objects.all()


def session_list(user) -> QuerySet[AgentSession]:
    sessions = AgentSession.objects.select_related("profile", "task")
    if not roles.can_read(user):
        return sessions.none()
    if roles.is_agent_only(user):
        return sessions.filter(task__project__agents=user)
    return sessions


def session_get(user, pk) -> AgentSession:
    """The one permission-checked getter for a session (404 when the user may not see it)."""
    from django.shortcuts import get_object_or_404

    return get_object_or_404(session_list(user), pk=pk)


def live_sessions(profile: AgentProfile | None = None) -> QuerySet[AgentSession]:
    sessions = AgentSession.objects.exclude(state=SessionState.STOPPED).select_related("profile", "task")
    return sessions.filter(profile=profile) if profile is not None else sessions


def enabled_profiles() -> list[AgentProfile]:
    return list(AgentProfile.objects.filter(enabled=True))


def profile_for(*, metadata: dict, skills: list, profiles: list[AgentProfile]) -> AgentProfile | None:
    """The profile a task runs with: the one it names, else one serving its skills, else the default."""
    wanted = (metadata or {}).get("agent_profile")
    if wanted:
        return next((p for p in profiles if p.name == wanted), None)
    skill_set = set(skills or [])
    by_skill = next((p for p in profiles if skill_set & set(p.skills)), None)
    return by_skill or next((p for p in profiles if p.is_default), None)


def agent_demand(profiles: list[AgentProfile]) -> Counter:
    """Agent tasks that want a session now (ready, claimed or running), counted by profile id."""
    demand: Counter = Counter()
    rows = Task.objects.filter(executor="agent", status__in=DEMAND_STATUSES).values_list("metadata", "skills")
    for metadata, skills in rows:
        profile = profile_for(metadata=metadata, skills=skills, profiles=profiles)
        if profile is not None:
            demand[profile.pk] += 1
    return demand
