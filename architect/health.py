"""GET /health/: is each part Architect needs up? JSON, no login, 503 when not."""

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.http import require_GET

PROBE_TIMEOUT_SECONDS = 2.0


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def check_migrations() -> str:
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return "ok" if not pending else f"{len(pending)} migrations not applied"


def check_channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        return "not configured"

    async def probe():
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "health.probe"})
        await layer.receive(channel)

    async_to_sync(asyncio.wait_for)(probe(), PROBE_TIMEOUT_SECONDS)
    return "ok"


def check_broker() -> str:
    if settings.REDIS_URL:
        import redis

        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=PROBE_TIMEOUT_SECONDS).ping()
        return "ok"
    # The ORM broker is the database itself.
    return check_database()


CHECKS = {
    "database": check_database,
    "migrations": check_migrations,
    "channel_layer": check_channel_layer,
    "broker": check_broker,
}


def run_checks() -> dict[str, str]:
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:  # noqa: BLE001 (a probe reports failures, never raises them)
            results[name] = f"down: {type(exc).__name__}: {exc}"[:300]
    return results


@login_not_required
@require_GET
def health(request):
    results = run_checks()
    healthy = all(value == "ok" for value in results.values())
    body = {"status": "ok" if healthy else "down", "checks": results}
    return JsonResponse(body, status=200 if healthy else 503)
