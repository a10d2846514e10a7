"""Prometheus gauges for the session pool."""

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily


def collect_sessions():
    from sessions_pool.models import AgentSession

    sessions = GaugeMetricFamily("architect_agent_sessions", "Agent sessions by profile and state.",
                                 labels=["profile", "state"])  # fmt: skip
    rows = AgentSession.objects.values("profile__name", "state").annotate(n=Count("id")).order_by()
    for row in rows:
        sessions.add_metric([row["profile__name"], row["state"]], row["n"])
    yield sessions
    alerts = AgentSession.objects.exclude(alert="").exclude(state="stopped").count()
    yield GaugeMetricFamily(
        "architect_agent_session_alerts", "Sessions waiting on a prompt for a person.", value=alerts
    )
