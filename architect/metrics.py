"""GET /metrics: Prometheus text format, for a token-authenticated scraper.

Apps contribute gauges by adding a collector function to COLLECTORS; each
returns metric families built from a few aggregate queries.
"""

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from architect.permissions import RolePermission


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


class PrometheusRenderer(BaseRenderer):
    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else str(data).encode()


class MetricsView(APIView):
    schema = None
    permission_classes = [RolePermission]
    renderer_classes = [PrometheusRenderer]
    throttle_classes = []

    def get(self, request):
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Registry())
        return Response(generate_latest(registry), content_type="text/plain; version=0.0.4; charset=utf-8")
