"""API permissions by role, checked per request and per object.

A viewset declares which roles may do what with class attributes; the object
check asks the viewset's `object_project_id` so an agent can touch only the
rows of its own projects (rows of other projects are already invisible to it
through the viewset's queryset, which answers 404).
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from architect import roles

WRITE_ROLES = frozenset({roles.ADMIN, roles.MAINTAINER})


class RolePermission(BasePermission):
    message = "Your role does not allow this action."

    def has_permission(self, request, view) -> bool:
        user_roles = roles.roles_of(request.user)
        if not user_roles:
            return False
        if request.method in SAFE_METHODS:
            return True
        return bool(user_roles & self._roles_for(view))

    def has_object_permission(self, request, view, obj) -> bool:
        if not roles.is_agent_only(request.user):
            return True
        project_id = view.object_project_id(obj) if hasattr(view, "object_project_id") else None
        return project_id is not None and request.user.agent_projects.filter(pk=project_id).exists()

    @staticmethod
    def _roles_for(view) -> frozenset[str]:
        action = getattr(view, "action", None)
        if action == "destroy":
            return frozenset(getattr(view, "delete_roles", WRITE_ROLES))
        allowed = set(getattr(view, "write_roles", WRITE_ROLES))
        if action in getattr(view, "agent_actions", ()):
            allowed.add(roles.AGENT)
        return frozenset(allowed)
