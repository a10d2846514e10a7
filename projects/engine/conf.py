"""Engine tunables: Django settings first, then the environment, then defaults.

Tests and benchmarks shorten leases and backoff through the environment
(ARCHITECT_LEASE_SECONDS…) so worker processes they start see the same values.
"""

import os
import socket

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _number(name: str, default: float, minimum: float = 0) -> float:
    value = getattr(settings, name, None)
    if value is None:
        raw = os.environ.get(name, "").strip()
        try:
            value = float(raw) if raw else default
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from exc
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return float(value)


def lease_seconds() -> float:
    """How long a runner may go without renewing before the reaper takes the task back."""
    return _number("ARCHITECT_LEASE_SECONDS", 60, minimum=0.5)


def dispatch_lease_seconds() -> float:
    """Lease of a dispatched task still waiting in the job queue for a free worker."""
    return _number("ARCHITECT_DISPATCH_LEASE_SECONDS", max(300.0, lease_seconds()), minimum=0.5)


def retry_base_seconds() -> float:
    return _number("ARCHITECT_RETRY_BASE_SECONDS", 10)


def retry_cap_seconds() -> float:
    return _number("ARCHITECT_RETRY_CAP_SECONDS", 600)


def retry_jitter() -> float:
    return _number("ARCHITECT_RETRY_JITTER", 0.2)


def dispatch_capacity() -> int:
    """Tasks the dispatcher keeps claimed or running at once (default: two per worker)."""
    return int(_number("ARCHITECT_DISPATCH_CAPACITY", 2 * settings.Q_CLUSTER.get("workers", 2), minimum=1))


def dispatch_interval() -> float:
    return _number("ARCHITECT_DISPATCH_INTERVAL", 0.25, minimum=0.01)


def dispatcher_skills() -> list[str] | None:
    """Skills the local workers offer; None (the default, '*') means any."""
    raw = os.environ.get("ARCHITECT_DISPATCHER_SKILLS", "*").strip()
    if raw == "*":
        return None
    return [item.strip() for item in raw.split(",") if item.strip()]


def log_limit_chars() -> int:
    return int(_number("ARCHITECT_TASK_LOG_LIMIT", 200_000, minimum=1000))


def hostname() -> str:
    return socket.gethostname()
