"""Template helpers for the autopilot pages: a unified diff as classed lines, progress as a percentage."""

from django import template

register = template.Library()


@register.filter
def diff_lines(diff: str) -> list[tuple[str, str]]:
    """(css class, line) for every line of a unified diff."""
    rows = []
    for line in (diff or "").splitlines():
        if line.startswith(("diff --git", "index ", "+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        rows.append((kind, line))
    return rows


@register.filter
def percent(ratio) -> int:
    try:
        return round(float(ratio) * 100)
    except (TypeError, ValueError):
        return 0


@register.inclusion_tag("autopilot/board_panel.html", takes_context=True)
def autopilot_board_panel(context):
    """Active runs with their goal's progress and the review queue's size, for the board.

    The board can show it with `{% load autopilot_tags %}{% autopilot_board_panel %}`.
    """
    from autopilot import selectors
    from autopilot.models import ACTIVE_RUN_STATUSES

    user = context["request"].user
    active = list(selectors.run_list(user).filter(status__in=ACTIVE_RUN_STATUSES).order_by("-id")[:10])
    progress = {row["id"]: row for row in selectors.goal_overview(user, goal_ids=[r.goal_id for r in active])}
    runs = [{"run": run, "progress": progress.get(run.goal_id)} for run in active]
    return {"runs": runs, "pending": selectors.pending_reviews(user).count()}
