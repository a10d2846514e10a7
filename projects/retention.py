"""Outbox retention: a scheduled job deletes events older than ARCHITECT_EVENT_RETENTION_DAYS.

It deletes a prefix of ids and always keeps the newest event, which is what
projects.live.resume_point_lost relies on to tell a client its resume point
is gone (it then reloads) rather than silently skipping what was pruned.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from projects.models import Event

logger = logging.getLogger(__name__)


def prune_events(*, days: int | None = None) -> int:
    """Delete events older than DAYS (default: the setting); returns how many were deleted."""
    cutoff = timezone.now() - timedelta(days=days if days is not None else settings.ARCHITECT_EVENT_RETENTION_DAYS)
    newest = Event.objects.order_by("-id").values_list("id", flat=True).first()
    if newest is None:
        return 0
    last_old = Event.objects.filter(created_at__lt=cutoff, id__lt=newest).order_by("-id").values_list("id", flat=True)
    through = last_old.first()
    if through is None:
        return 0
    deleted, _ = Event.objects.filter(id__lte=through).delete()
    logger.info("Pruned %d events up to id %d (older than %s)", deleted, through, cutoff.isoformat())
    return deleted
