"""Autopilot and review events reach the board's websocket (/ws/board/), scoped like every event."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from django.conf import settings

from autopilot.services import runs
from autopilot.services.reviews import review_approve, review_collect
from projects.models import Goal, Task
from projects.services.events import event_record
from tests.projects.test_consumers import close, connect, resume, session_headers, token_headers

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    if not settings.REDIS_URL:
        channel_layers.backends.clear()


def make_events(project, other_project, maintainer) -> None:
    runs.run_start(actor=maintainer, goal=Goal.objects.create(project=project, title="Ours"))
    runs.run_start(actor=maintainer, goal=Goal.objects.create(project=other_project, title="Theirs"))
    task = Task.objects.create(project=project, title="Finished", status="review", attempts=1, result="ok")
    review_approve(review_collect(task), actor=maintainer)


def test_run_and_review_events_reach_staff_and_only_their_projects_agents(project, other_project, maintainer, agent):
    staff_headers, agent_headers = session_headers(maintainer), token_headers(agent)
    # A marker to resume after (0 means "from the very start", which a fresh outbox may refuse as pruned).
    before = event_record(actor="test", type="test.marker").id

    async def scenario():
        staff = await connect(staff_headers)
        bot = await connect(agent_headers)
        await database_sync_to_async(make_events)(project, other_project, maintainer)
        seen_by_staff = [m for m in await resume(staff, before) if m["type"].startswith(("autopilot.", "review."))]
        seen_by_agent = [m for m in await resume(bot, before) if m["type"].startswith(("autopilot.", "review."))]
        await close(staff)
        await close(bot)
        return seen_by_staff, seen_by_agent

    staff_events, agent_events = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert [m["type"] for m in staff_events] == [
        "autopilot.run.started", "autopilot.run.started", "review.created", "review.approved",
    ]  # fmt: skip
    assert [m["type"] for m in agent_events] == ["autopilot.run.started", "review.created", "review.approved"]
    assert agent_events[-1]["payload"]["decided_by"] == maintainer.username
