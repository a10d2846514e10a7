"""Requests- and tokens-per-minute limits per provider, shared by every process.

Each provider has one RateWindow row per minute. Taking a slot is one conditional UPDATE that only
succeeds while the window has room, so two processes can never both take the last slot. The
previous minute counts in proportion to how much of it still lies within the last 60 seconds (a
sliding-window estimate), so a burst at a minute boundary cannot reach twice the limit and
trigger the provider's own 429.
"""

import math
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import F, Q
from django.utils import timezone

from llmrouting.commits import unflushed_atomic
from llmrouting.models import Provider, RateWindow

WINDOW = timedelta(minutes=1)
KEEP_WINDOWS = timedelta(hours=1)


class RateLimited(Exception):
    def __init__(self, provider: Provider, retry_in: float):
        super().__init__(f"{provider.name} is at its rate limit; room again in {retry_in:.1f} s.")
        self.retry_in = retry_in


@dataclass
class Slot:
    """A taken slot; settle() corrects the token estimate with what the call really used."""

    provider_id: int
    window_start: object
    tokens: int
    tokens_limited: bool = True

    def settle(self, actual_tokens: int) -> None:
        delta = actual_tokens - self.tokens
        if delta and self.tokens_limited:
            _defer(self.provider_id, self.window_start, delta)


# Token corrections not yet written, per provider: (window start, delta). They ride along with this
# process's next slot in the same window (one UPDATE per call instead of two on a hot row); a
# correction for an older window is written on its own when the window moves on. Until then the
# window holds the estimate, which is the larger number, so the limiter errs on the safe side.
_pending: dict[int, tuple[object, int]] = {}
_pending_lock = threading.Lock()


def _defer(provider_id: int, window_start, delta: int) -> None:
    with _pending_lock:
        old = _pending.get(provider_id)
        if old is not None and old[0] == window_start:
            delta += old[1]
            old = None
        _pending[provider_id] = (window_start, delta)
    if old is not None:
        _write(provider_id, *old)


def _take_pending(provider_id: int, window_start) -> int:
    with _pending_lock:
        old = _pending.pop(provider_id, None)
    if old is None:
        return 0
    if old[0] == window_start:
        return old[1]
    _write(provider_id, *old)
    return 0


def _write(provider_id: int, window_start, delta: int) -> None:
    RateWindow.objects.filter(provider_id=provider_id, window_start=window_start).update(tokens=F("tokens") + delta)


def flush() -> None:
    """Write every pending token correction now (tests, and a clean shutdown)."""
    with _pending_lock:
        items = list(_pending.items())
        _pending.clear()
    for provider_id, (window_start, delta) in items:
        _write(provider_id, window_start, delta)


def limited(provider: Provider) -> bool:
    return bool(provider.rpm_limit or provider.tpm_limit)


def acquire(provider: Provider, tokens: int, *, max_wait: float = 0.0) -> Slot | None:
    """Take one request and TOKENS from the provider's minute, waiting up to MAX_WAIT for room.

    None when the provider has no limits. Raises RateLimited when there is no room in time.
    """
    if not limited(provider):
        return None
    deadline = time.monotonic() + max_wait
    while True:
        now = timezone.now()
        slot = _try_take(provider, tokens, now)
        if slot is not None:
            return slot
        retry_in = (_window_start(now) + WINDOW - now).total_seconds() + 0.01
        if time.monotonic() + retry_in > deadline:
            raise RateLimited(provider, retry_in)
        time.sleep(retry_in)


def _try_take(provider: Provider, tokens: int, now) -> Slot | None:
    start = _window_start(now)
    correction = _take_pending(provider.pk, start)
    carried_requests, carried_tokens = _carried(provider, start, now)
    room = Q()
    if provider.rpm_limit:
        room &= Q(requests__lt=provider.rpm_limit - carried_requests)
    if provider.tpm_limit:
        # A single request bigger than the whole limit may still run alone in an empty window.
        room &= Q(tokens__lte=provider.tpm_limit - carried_tokens - tokens - correction) | Q(tokens=0, requests=0)
    for _ in range(2):
        if _take(room, provider, start, tokens + correction):
            return Slot(provider.pk, start, tokens, bool(provider.tpm_limit))
        if RateWindow.objects.filter(provider=provider, window_start=start).exists():
            break
        _open_window(provider, start)
    if correction:
        _defer(provider.pk, start, correction)
    return None


def _take(room: Q, provider: Provider, start, tokens: int) -> bool:
    rows = RateWindow.objects.filter(room, provider=provider, window_start=start)
    with unflushed_atomic():  # a counter lost in a database crash costs nothing
        return bool(rows.update(requests=F("requests") + 1, tokens=F("tokens") + tokens))


# The previous minute no longer changes (but for late token settlements), so each process reads it once.
_previous_counts: dict[tuple[int, object], tuple[int, int]] = {}


def _carried(provider: Provider, start, now) -> tuple[int, int]:
    key = (provider.pk, start)
    if key not in _previous_counts:
        previous = RateWindow.objects.filter(provider=provider, window_start=start - WINDOW).first()
        if len(_previous_counts) > 1000:
            _previous_counts.clear()
        _previous_counts[key] = (previous.requests, previous.tokens) if previous else (0, 0)
    requests, tokens = _previous_counts[key]
    share = 1.0 - (now - start) / WINDOW
    return math.ceil(requests * share - 1e-9), math.ceil(tokens * share - 1e-9)


def _open_window(provider: Provider, start) -> None:
    RateWindow.objects.bulk_create([RateWindow(provider=provider, window_start=start)], ignore_conflicts=True)
    RateWindow.objects.filter(provider=provider, window_start__lt=start - KEEP_WINDOWS).delete()


def _window_start(now):
    return now.replace(second=0, microsecond=0)


def usage(provider: Provider) -> dict:
    """This minute's counts, for the API and admin."""
    row = RateWindow.objects.filter(provider=provider, window_start=_window_start(timezone.now())).first()
    return {"requests": row.requests if row else 0, "tokens": row.tokens if row else 0}
