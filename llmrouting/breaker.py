"""A circuit breaker per deployment, shared by every process through conditional UPDATEs.

closed     calls go through; consecutive failures are counted, and at the deployment's
           failure_threshold the breaker opens for cooldown_seconds.
open       no calls until open_until. The first process whose
           `UPDATE … WHERE state='open' AND open_until <= now` changes the row becomes the
           single half-open probe; everyone else keeps skipping the deployment.
half_open  only the probe calls: its success closes the breaker, its failure opens it again.
           A probe that never reports (its process died) is taken over after PROBE_TIMEOUT.

The row count of each UPDATE says who won, so this works the same on SQLite and PostgreSQL
and needs no lock service; with Redis configured the rows stay in the database (one indexed
UPDATE per state change, none on the common closed-and-healthy path — see docs/llm-routing.md).
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from llmrouting.models import BreakerState, Deployment, DeploymentHealth
from projects.services.events import event_record

PROBE_TIMEOUT = timedelta(minutes=5)


def health_of(deployment: Deployment) -> DeploymentHealth:
    try:
        return deployment.health
    except DeploymentHealth.DoesNotExist:
        health, _ = DeploymentHealth.objects.get_or_create(deployment=deployment)
        deployment.health = health
        return health


def may_call(health: DeploymentHealth, now=None) -> bool:
    """Could a call be admitted now (without claiming anything)? Used to filter candidates."""
    now = now or timezone.now()
    if health.state == BreakerState.CLOSED:
        return True
    if health.state == BreakerState.OPEN:
        return health.open_until is None or health.open_until <= now
    return health.probe_started_at is None or health.probe_started_at <= now - PROBE_TIMEOUT


def admit(deployment: Deployment) -> bool:
    """True when this process may call DEPLOYMENT now; claims the half-open probe when due."""
    health = health_of(deployment)
    if health.state == BreakerState.CLOSED:
        return True
    now = timezone.now()
    due = Q(state=BreakerState.OPEN, open_until__lte=now) | Q(state=BreakerState.OPEN, open_until__isnull=True)
    stale_probe = Q(state=BreakerState.HALF_OPEN, probe_started_at__lte=now - PROBE_TIMEOUT)
    claimed = DeploymentHealth.objects.filter(due | stale_probe, pk=deployment.pk).update(
        state=BreakerState.HALF_OPEN, probe_started_at=now
    )
    if claimed:
        health.state, health.probe_started_at = BreakerState.HALF_OPEN, now
        _announce(deployment, BreakerState.HALF_OPEN)
    return bool(claimed)


def record_success(deployment: Deployment) -> None:
    health = health_of(deployment)
    now = timezone.now()
    if health.state == BreakerState.HALF_OPEN:
        closed = DeploymentHealth.objects.filter(pk=deployment.pk, state=BreakerState.HALF_OPEN).update(
            state=BreakerState.CLOSED, consecutive_failures=0, probe_started_at=None, open_until=None,
            last_success_at=now,
        )  # fmt: skip
        if closed:
            health.state, health.consecutive_failures = BreakerState.CLOSED, 0
            _announce(deployment, BreakerState.CLOSED)
    elif health.consecutive_failures:
        # Only a breaker that has counted failures needs a write; the healthy path stays read-only.
        DeploymentHealth.objects.filter(pk=deployment.pk, state=BreakerState.CLOSED).update(
            consecutive_failures=0, last_success_at=now
        )
        health.consecutive_failures = 0


def record_failure(deployment: Deployment, error: str) -> None:
    health = health_of(deployment)
    now = timezone.now()
    reopen_at = now + timedelta(seconds=deployment.cooldown_seconds)
    rows = DeploymentHealth.objects.filter(pk=deployment.pk)
    failure = {
        "consecutive_failures": F("consecutive_failures") + 1,
        "last_error": error[:2000],
        "last_failure_at": now,
    }
    if health.state == BreakerState.HALF_OPEN:
        reopened = rows.filter(state=BreakerState.HALF_OPEN).update(
            state=BreakerState.OPEN, open_until=reopen_at, probe_started_at=None, **failure
        )
        if reopened:
            health.state = BreakerState.OPEN
            _announce(deployment, BreakerState.OPEN)
        return
    rows.filter(state=BreakerState.CLOSED).update(**failure)
    health.consecutive_failures += 1
    opened = rows.filter(state=BreakerState.CLOSED, consecutive_failures__gte=deployment.failure_threshold).update(
        state=BreakerState.OPEN, open_until=reopen_at
    )
    if opened:
        health.state = BreakerState.OPEN
        _announce(deployment, BreakerState.OPEN)


def trip(deployment: Deployment, *, seconds: float, error: str) -> None:
    """Open the breaker for SECONDS now (a provider's Retry-After longer than we wait for)."""
    health = health_of(deployment)
    now = timezone.now()
    until = now + timedelta(seconds=seconds)
    changed = DeploymentHealth.objects.filter(pk=deployment.pk).update(
        state=BreakerState.OPEN, open_until=until, probe_started_at=None, last_error=error[:2000], last_failure_at=now
    )
    if changed and health.state != BreakerState.OPEN:
        health.state = BreakerState.OPEN
        _announce(deployment, BreakerState.OPEN)


def reset(deployment: Deployment, *, actor) -> None:
    """Close the breaker by hand (admin/API), e.g. after fixing a key."""
    with transaction.atomic():
        DeploymentHealth.objects.update_or_create(
            deployment=deployment,
            defaults={"state": BreakerState.CLOSED, "consecutive_failures": 0, "open_until": None,
                      "probe_started_at": None},
        )  # fmt: skip
        event_record(actor=actor, type="llm.breaker", obj=deployment, payload=_payload(deployment, BreakerState.CLOSED))


def _announce(deployment: Deployment, state: str) -> None:
    with transaction.atomic():
        event_record(actor="llmrouting", type="llm.breaker", obj=deployment, payload=_payload(deployment, state))


def _payload(deployment: Deployment, state: str) -> dict:
    return {"deployment": deployment.pk, "model": deployment.model, "state": state}
