"""The gauges GET /metrics serves (architect/metrics_api.py), in Prometheus' text format.

Apps contribute gauges by adding a collector function to COLLECTORS in
AppConfig.ready; each returns metric families built from a few aggregate
queries. This module stays free of DRF so every process can import it cheaply.
"""

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily


def collect_tracker():
    from django.db.models import Count

    from projects.models import Event, Task

    tasks = GaugeMetricFamily("architect_tasks", "Tasks by status and executor.", labels=["status", "executor"])
    for row in Task.objects.values("status", "executor").annotate(n=Count("id")).order_by():
        tasks.add_metric([row["status"], row["executor"]], row["n"])
    yield tasks
    last = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    yield GaugeMetricFamily("architect_last_event_id", "Id of the newest outbox event.", value=last)


COLLECTORS = [collect_tracker]


class _Registry:
    def collect(self):
        for collector in COLLECTORS:
            yield from collector()


def exposition() -> bytes:
    """Every collector's gauges, now, in Prometheus' text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Registry())
    return generate_latest(registry)
