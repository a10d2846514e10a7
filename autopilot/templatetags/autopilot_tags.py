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
