"""GET /metrics: the gauges of architect/metrics.py, for a token-authenticated Prometheus scraper."""

from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from architect import metrics
from architect.permissions import RolePermission


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
        return Response(metrics.exposition(), content_type="text/plain; version=0.0.4; charset=utf-8")
