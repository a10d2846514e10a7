"""Pages: the autopilot (goals, runs and their controls) and the review queue.

Server-rendered from the selectors; the buttons call the API (so permissions and errors are the
API's), and the pages refresh their content when autopilot, review or task events arrive.
"""

from django.http import Http404
from django.shortcuts import render

from architect import roles
from autopilot import selectors
from autopilot.services.runs import run_spent
from projects.models import Event


def _last_event_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _common(request) -> dict:
    return {"can_manage": roles.can_manage(request.user), "last_event_id": _last_event_id()}


def autopilot_home(request):
    runs = list(selectors.run_list(request.user).order_by("-id")[:50])
    goals = selectors.goal_overview(request.user)
    active_goals = {run.goal_id for run in runs if run.status in ("planning", "awaiting_approval", "running", "paused")}
    for goal in goals:
        goal["has_active_run"] = goal["id"] in active_goals
    return render(request, "autopilot/home.html", {**_common(request), "runs": runs, "goals": goals})


def run_detail(request, pk: int):
    run = selectors.run_list(request.user).filter(pk=pk).first()
    if run is None:
        raise Http404("No such run.")
    overview = selectors.goal_overview(request.user, goal_ids=[run.goal_id])
    context = {
        **_common(request),
        "run": run,
        "plans": list(selectors.run_plans(run)),
        "tasks": list(selectors.run_tasks(run)),
        "spent": run_spent(run),
        "progress": overview[0] if overview else None,
        "reviews": list(selectors.review_list(request.user).filter(run=run).order_by("-id")[:50]),
    }
    return render(request, "autopilot/run.html", context)


def review_queue(request):
    pending = list(selectors.pending_reviews(request.user)[:100])
    recent = list(selectors.review_list(request.user).exclude(status="pending").order_by("-decided_at", "-id")[:20])
    return render(request, "autopilot/reviews.html", {**_common(request), "pending": pending, "recent": recent})
