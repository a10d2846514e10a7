"""A per-process snapshot of the routing configuration, rebuilt deliberately.

Providers, deployments (with their decrypted keys), policies and the list of budgets change rarely
but are needed on every request, so each process keeps them for at most TTL seconds. Saving or
deleting any of them in this process drops the snapshot at once (model signals: the cache must not
depend on who writes); other processes see the change within TTL. What must be exact on every
request is read fresh: breaker state that is not plain healthy, and the money already spent.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field

from django.db.models.signals import m2m_changed, post_delete, post_save

TTL = 2.0

_lock = threading.Lock()
_snapshot: Snapshot | None = None


@dataclass
class Snapshot:
    deployments: list  # enabled deployments of enabled providers, provider and credential loaded
    keys: dict[int, str]  # provider id -> API key
    policies: dict[int, object] = field(default_factory=dict)  # project id -> RoutingPolicy (allowed_ids set)
    budgets: list = field(default_factory=list)
    loaded_at: float = 0.0


def current() -> Snapshot:
    global _snapshot
    snapshot = _snapshot
    if snapshot is None or time.monotonic() - snapshot.loaded_at > TTL:
        snapshot = _load()
        with _lock:
            _snapshot = snapshot
    return snapshot


def invalidate(*args, **kwargs) -> None:
    global _snapshot
    with _lock:
        _snapshot = None


def deployments_with_health() -> list:
    """Per-request copies of the enabled deployments, each with its breaker state as of now."""
    from llmrouting.models import BreakerState, DeploymentHealth

    snapshot = current()
    # Only breakers that are not plainly healthy are read: usually none, so one tiny query.
    unusual = {
        h.deployment_id: h for h in DeploymentHealth.objects.exclude(state=BreakerState.CLOSED, consecutive_failures=0)
    }
    result = []
    for cached in snapshot.deployments:
        deployment = copy.copy(cached)
        deployment._state = copy.copy(cached._state)
        deployment._state.fields_cache = dict(cached._state.fields_cache)
        deployment.health = unusual.get(cached.pk) or DeploymentHealth(deployment_id=cached.pk)
        result.append(deployment)
    return result


def api_key(provider_id: int) -> str:
    return current().keys.get(provider_id, "")


def policy_for(project_id: int | None):
    from llmrouting.models import RoutingPolicy

    policy = current().policies.get(project_id) if project_id else None
    return policy if policy is not None else RoutingPolicy(project_id=project_id)


def budgets_for(project_id: int | None, provider_ids) -> list:
    """The budgets that apply to a request (their spend is always read fresh)."""
    provider_ids = set(provider_ids)
    return [
        b for b in current().budgets if (project_id and b.project_id == project_id) or b.provider_id in provider_ids
    ]


def _load() -> Snapshot:
    from llmrouting.models import Budget, Deployment, RoutingPolicy

    deployments = list(
        Deployment.objects.filter(enabled=True, provider__enabled=True).select_related(
            "provider", "provider__credential"
        )
    )
    _ensure_health_rows([d.pk for d in deployments])
    keys = {d.provider_id: (d.provider.credential.value if d.provider.credential_id else "") for d in deployments}
    policies = {}
    for policy in RoutingPolicy.objects.prefetch_related("allowed_providers"):
        policy.allowed_ids = {p.pk for p in policy.allowed_providers.all()}
        policies[policy.project_id] = policy
    budgets = list(Budget.objects.select_related("project", "provider"))
    return Snapshot(deployments, keys, policies, budgets, time.monotonic())


def _ensure_health_rows(deployment_ids: list[int]) -> None:
    """Breakers are conditional UPDATEs on existing rows: a deployment made outside the services needs one."""
    from llmrouting.models import DeploymentHealth

    present = set(DeploymentHealth.objects.filter(pk__in=deployment_ids).values_list("pk", flat=True))
    missing = [DeploymentHealth(deployment_id=pk) for pk in deployment_ids if pk not in present]
    if missing:
        DeploymentHealth.objects.bulk_create(missing, ignore_conflicts=True)


def connect_signals() -> None:
    from llmrouting.models import Budget, Deployment, Provider, RoutingPolicy
    from projects.models import Secret

    for model in (Provider, Deployment, RoutingPolicy, Budget, Secret):
        post_save.connect(invalidate, sender=model, dispatch_uid=f"llm-config-save-{model.__name__}")
        post_delete.connect(invalidate, sender=model, dispatch_uid=f"llm-config-delete-{model.__name__}")
    m2m_changed.connect(
        invalidate, sender=RoutingPolicy.allowed_providers.through, dispatch_uid="llm-config-policy-providers"
    )
