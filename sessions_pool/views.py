"""Pages: the sessions panel and one session's live screen."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from architect import roles
from projects.models import Event
from sessions_pool import selectors
from sessions_pool.models import SessionState


def _readable(request) -> None:
    if not roles.can_read(request.user):
        raise PermissionDenied("Your role does not allow reading sessions.")


def _last_event_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def session_panel(request):
    _readable(request)
    sessions = selectors.session_list(request.user).exclude(state=SessionState.STOPPED)
    context = {
        "sessions": sessions,
        "profiles": selectors.profile_list(request.user).filter(enabled=True),
        "can_manage": roles.can_manage(request.user),
        "last_event_id": _last_event_id(),
    }
    return render(request, "sessions_pool/panel.html", context)


def session_detail(request, pk: int):
    _readable(request)
    session = selectors.session_get(request.user, pk)
    context = {"session": session, "can_manage": roles.can_manage(request.user), "last_event_id": _last_event_id()}
    return render(request, "sessions_pool/detail.html", context)
