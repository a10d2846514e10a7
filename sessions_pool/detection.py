"""Reading an agent's screen: its state, the prompt it waits on, and the tokens it reports.

Pure functions over the pane's lines and a profile's patterns, so they are
tested without tmux. Only the bottom of the screen counts: agents draw what
they are doing now at the bottom, and older lines (an answered question, a
finished spinner) scroll up and must not be read as the current state.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from sessions_pool.models import SessionState

WINDOW = 8  # bottom non-blank lines that decide busy / confirmation / error
IDLE_WINDOW = 3  # an idle prompt must be at the very bottom
PROMPT_LINES = 12  # at most this many lines are taken as a confirmation's text


@dataclass(frozen=True)
class Reading:
    state: str | None  # None: nothing recognised (the caller judges by screen changes)
    prompt: str = ""  # the confirmation's text, when waiting for one
    prompt_line: int = -1  # index of the confirmation's last line in the screen lines


@dataclass(frozen=True)
class Decision:
    action: str  # "answer", "alert"
    keys: tuple[str, ...] = ()
    reason: str = ""


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.MULTILINE)


def matches(patterns, text: str) -> bool:
    return any(_compiled(p).search(text) for p in patterns)


def screen_hash(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:32]


def _bottom(lines: list[str], count: int) -> list[int]:
    """Indexes of the last COUNT non-blank lines, bottom first."""
    found = []
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].strip():
            found.append(index)
            if len(found) == count:
                break
    return found


def _last_match(lines: list[str], indexes: list[int], patterns) -> int:
    return next((i for i in indexes if matches(patterns, lines[i])), -1)


def classify(lines: list[str], profile) -> Reading:
    """The agent's state from the bottom of its screen.

    Busy beats an idle prompt wherever they are (some agents keep their input
    box under the spinner); a confirmation counts only when nothing newer is
    drawn below it, so an answered question scrolling up is not read again.
    """
    window = _bottom(lines, WINDOW)
    confirm = _last_match(lines, window, profile.confirm_patterns)
    busy = _last_match(lines, window, profile.busy_patterns)
    idle = _last_match(lines, _bottom(lines, IDLE_WINDOW), profile.idle_patterns)
    if confirm > max(busy, idle):
        return Reading(SessionState.WAITING_CONFIRMATION, _prompt_text(lines, confirm, profile), confirm)
    if busy >= 0:
        return Reading(SessionState.BUSY)
    if idle >= 0:
        return Reading(SessionState.IDLE)
    if _last_match(lines, window, profile.error_patterns) >= 0:
        return Reading(SessionState.ERROR)
    return Reading(None)


def _prompt_text(lines: list[str], confirm: int, profile) -> str:
    """The confirmation with the context above it (the command or file it asks about).

    It starts after the last busy or idle line above the question, so an older
    exchange higher on the screen is not mistaken for part of this prompt.
    """
    end = max(_bottom(lines, 1) or [confirm])
    start = max(0, confirm - PROMPT_LINES)
    for index in range(confirm - 1, start - 1, -1):
        if matches(profile.busy_patterns, lines[index]) or matches(profile.idle_patterns, lines[index]):
            start = index + 1
            break
    return "\n".join(line.rstrip() for line in lines[start : end + 1]).strip("\n")


def decide(prompt: str, profile) -> Decision:
    """Answer a confirmation only when a rule allows it and no deny pattern matches."""
    for pattern in profile.deny_patterns:
        if _compiled(pattern).search(prompt):
            return Decision("alert", reason=f"denied by {pattern!r}")
    for rule in profile.auto_confirm_rules:
        if _compiled(rule["pattern"]).search(prompt):
            return Decision("answer", tuple(rule["keys"]), reason=f"allowed by {rule['pattern']!r}")
    return Decision("alert", reason="no auto-confirm rule matches")


_SUFFIX = {"": 1, "k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000}


def _number(text: str | None) -> int:
    match = re.fullmatch(r"\s*([\d,]*\.?\d+)\s*([kKmM]?)\s*", text or "")
    if not match:
        return 0
    return int(float(match.group(1).replace(",", "")) * _SUFFIX[match.group(2)])


def token_usage(text: str, profile) -> tuple[int, int]:
    """(prompt, completion) tokens from the last usage line the agent printed, else (0, 0)."""
    for pattern in profile.token_patterns:
        found = list(_compiled(pattern).finditer(text))
        if found:
            groups = found[-1].groupdict()
            return _number(groups.get("prompt")), _number(groups.get("completion"))
    return 0, 0


def finished(text: str, profile) -> bool:
    return any(_compiled(p).search(text) for p in profile.finished_patterns)


def errored(text: str, profile) -> bool:
    """Did the turn end on an error? Only its last lines count: errors the agent met and fixed on the way do not."""
    lines = text.splitlines()
    return _last_match(lines, _bottom(lines, WINDOW), profile.error_patterns) >= 0
