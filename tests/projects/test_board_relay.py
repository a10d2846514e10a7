"""The outbox poller's ordering rules and the per-socket delivery log (no processes, no database)."""

import asyncio
import time

from projects import relay
from projects.live import MAX_TRACKED_GAP, DeliveryLog


def poller(cursor: int, *, wait_at_gaps: bool) -> relay.OutboxPoller:
    async def make():
        return relay.OutboxPoller(relay.Hub(), cursor)

    made = asyncio.run(make())
    made.wait_at_gaps = wait_at_gaps
    return made


def take(feed: relay.OutboxPoller, messages: list[dict]) -> list[int]:
    """What one poll would feed, advancing the cursor as OutboxPoller.step does."""
    taken = []
    for message in feed.in_order(messages):
        taken.append(message["id"])
        feed.cursor = message["id"]
    return taken


def test_poller_waits_at_a_gap_that_postgresql_may_still_fill(monkeypatch):
    feed = poller(10, wait_at_gaps=True)
    assert take(feed, [{"id": 11}, {"id": 13}, {"id": 14}]) == [11]
    assert take(feed, [{"id": 13}]) == []  # 12 may be an open transaction
    later = feed.gap_since + relay.GAP_GRACE_SECONDS
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert take(feed, [{"id": 13}, {"id": 14}]) == [13, 14]  # given up on 12 (rolled back)
    assert feed.cursor == 14


def test_poller_on_sqlite_never_waits_at_gaps():
    feed = poller(0, wait_at_gaps=False)
    assert take(feed, [{"id": 250}, {"id": 252}]) == [250, 252]


def test_delivery_log_sends_each_id_once_and_lets_late_ids_through():
    log = DeliveryLog()
    assert [log.accept(i) for i in (5, 6, 6, 9)] == [True, True, False, True]
    assert sorted(log.missing) == [7, 8]
    assert log.accept(8) is True  # committed late (PostgreSQL): still delivered, once
    assert log.accept(8) is False
    assert log.accept(4) is False  # before this socket's start, never missing


def test_delivery_log_resume_marks_what_came_before_the_first_live_event():
    log = DeliveryLog()
    log.accept(20)
    log.resume_from(15)
    assert [log.accept(i) for i in (16, 17, 18, 19, 20, 21)] == [True, True, True, True, False, True]


def test_delivery_log_overdue_and_bounded_gaps():
    log = DeliveryLog()
    log.accept(1)
    log.accept(3 + MAX_TRACKED_GAP * 2)
    assert len(log.missing) == MAX_TRACKED_GAP
    assert log.overdue(older_than=60) == []
    assert len(log.overdue(older_than=0)) == MAX_TRACKED_GAP
    log.forget(log.overdue(older_than=0))
    assert log.missing == {}
