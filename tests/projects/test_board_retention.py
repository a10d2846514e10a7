"""Event retention: old events go, the newest stays, and resume knows what was pruned."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from architect import schedules
from projects import live, retention
from projects.models import Event
from projects.services.events import event_record

pytestmark = pytest.mark.django_db


def age(event: Event, days: int) -> None:
    Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(days=days))


def test_prunes_events_older_than_the_retention_and_keeps_recent_ones(settings):
    settings.ARCHITECT_EVENT_RETENTION_DAYS = 7
    old = [event_record(actor="t", type="test.old") for _ in range(3)]
    recent = [event_record(actor="t", type="test.recent") for _ in range(2)]
    for event in old:
        age(event, 8)
    assert retention.prune_events() == 3
    assert list(Event.objects.values_list("id", flat=True)) == [e.id for e in recent]


def test_never_prunes_the_newest_event_so_resume_can_tell_what_was_lost():
    events = [event_record(actor="t", type="test.old") for _ in range(3)]
    for event in events:
        age(event, 100)
    assert retention.prune_events(days=1) == 2
    assert list(Event.objects.values_list("id", flat=True)) == [events[-1].id]
    assert live.resume_point_lost(events[0].id)  # its successor was pruned → resync
    assert not live.resume_point_lost(events[1].id)  # everything after it is still there
    assert not live.resume_point_lost(events[2].id)


def test_nothing_to_prune_is_a_no_op():
    assert retention.prune_events(days=1) == 0
    event_record(actor="t", type="test.recent")
    assert retention.prune_events(days=1) == 0
    assert Event.objects.count() == 1


def test_retention_job_is_scheduled_by_setup_schedules():
    assert any(s.func == "projects.retention.prune_events" for s in schedules.SCHEDULES)
    call_command("setup_schedules", stdout=open("/dev/null", "w"))  # noqa: SIM115
    schedule = Schedule.objects.get(func="projects.retention.prune_events")
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 60
