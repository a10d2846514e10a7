"""Prometheus gauges for the autopilot: runs by status and the review queue."""

from prometheus_client.core import GaugeMetricFamily


def collect():
    from django.db.models import Count

    from autopilot.models import AutopilotRun, ReviewItem

    runs = GaugeMetricFamily("architect_autopilot_runs", "Autopilot runs by status.", labels=["status"])
    for row in AutopilotRun.objects.values("status").annotate(n=Count("id")).order_by():
        runs.add_metric([row["status"]], row["n"])
    yield runs
    items = GaugeMetricFamily("architect_reviews", "Review items by status.", labels=["status"])
    for row in ReviewItem.objects.values("status").annotate(n=Count("id")).order_by():
        items.add_metric([row["status"]], row["n"])
    yield items
