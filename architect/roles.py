"""The four roles are Django groups; this module names them and reads them.

admin, maintainer and viewer are workspace-wide (they see every project);
an agent is a bot account that sees only the projects it is attached to.
"""

from django.contrib.auth.models import AnonymousUser, User

ADMIN = "admin"
MAINTAINER = "maintainer"
VIEWER = "viewer"
AGENT = "agent"
ALL_ROLES = (ADMIN, MAINTAINER, VIEWER, AGENT)
STAFF_ROLES = (ADMIN, MAINTAINER, VIEWER)


def roles_of(user: User | AnonymousUser) -> frozenset[str]:
    """The user's roles, cached on the user object for the request."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_architect_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True)) & set(ALL_ROLES)
        if user.is_superuser:
            names.add(ADMIN)
        cached = frozenset(names)
        user._architect_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def is_agent_only(user) -> bool:
    """True for bot accounts, whose reads are limited to their projects."""
    roles = roles_of(user)
    return AGENT in roles and not (roles & set(STAFF_ROLES))


def can_read(user) -> bool:
    return bool(roles_of(user))


def can_manage(user) -> bool:
    """Maintainers and admins change the tracker, run work and review it."""
    return has_role(user, ADMIN, MAINTAINER)
