"""Login enforcement for pages; the API authenticates through DRF instead."""

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from rest_framework.views import APIView


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Every page needs login unless its view is marked @login_not_required.

    DRF views are skipped here because token clients must get a 401/403 JSON
    answer from DRF, not a redirect to the login page; DRF's default
    permission (architect.permissions.RolePermission) refuses anonymous users.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        view_class = getattr(view_func, "cls", None)
        if view_class is not None and issubclass(view_class, APIView):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
