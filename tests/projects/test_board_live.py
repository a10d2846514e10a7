"""Across processes: changes committed by a shell or a real qcluster reach a client of a real daphne.

The suite runs these in the embedded mode (SQLite, the web process relays the
outbox) and, with DATABASE_URL and REDIS_URL, through PostgreSQL and channels-redis.
"""

import asyncio
import json

import aiohttp
import pytest
from django.db import connections
from django_q.tasks import async_task
from rest_framework.authtoken.models import Token

from projects.models import Event
from projects.services.events import event_record
from tests.processes import manage, manage_shell, stop

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
WAIT = 15


@pytest.fixture
def token(admin_user) -> str:
    return Token.objects.get_or_create(user=admin_user)[0].key


def committed_after(event_id: int) -> list[int]:
    return list(Event.objects.filter(id__gt=event_id).values_list("id", flat=True))


def latest_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


class BoardClient:
    def __init__(self, base_url: str, token: str):
        self.url = base_url.replace("http", "ws", 1) + "/ws/board/"
        self.token = token

    async def __aenter__(self):
        self.session = aiohttp.ClientSession()
        self.socket = await self.session.ws_connect(self.url, headers={"Authorization": f"Token {self.token}"})
        return self

    async def __aexit__(self, *exc):
        await self.socket.close()
        await self.session.close()

    async def receive(self, timeout: float = WAIT) -> dict:
        message = await self.socket.receive(timeout=timeout)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        return json.loads(message.data)

    async def resume(self, after: int) -> list[dict]:
        await self.socket.send_json({"resume_after": after})
        replayed = []
        while (message := await self.receive())["type"] != "resumed":
            assert message["type"] != "resync", f"resume_after {after} was refused"
            replayed.append(message)
        return replayed

    async def assert_next_is_a_marker(self, project_id: int) -> None:
        """Commit a marker event: it must be the very next message, so nothing else came before it.

        Events reach a socket in commit order, so this proves an absence without sitting out a timeout.
        """
        marker = await in_thread(lambda: event_record(actor="test", type="test.marker", project_id=project_id).id)
        message = await self.receive()
        assert (message["type"], message["id"]) == ("test.marker", marker), f"{message} came before the marker"


async def in_thread(function, *args):
    """FUNCTION in a worker thread, closing that thread's DB connection (it would block dropping the test DB)."""

    def call():
        try:
            return function(*args)
        finally:
            connections.close_all()

    return await asyncio.to_thread(call)


def run(scenario):
    asyncio.run(asyncio.wait_for(scenario, 90))


def test_change_committed_in_manage_py_shell_reaches_the_daphne_client(daphne, token, project):
    after = latest_id()

    async def scenario():
        async with BoardClient(daphne.url, token) as client:
            await client.resume(after)
            await in_thread(
                manage_shell,
                "from projects.models import Project; from projects.services.tasks import task_create; "
                f"task_create(actor='shell', project=Project.objects.get(pk={project.id}), title='from a shell')",
            )
            message = await client.receive()
            assert message["type"] == "task.created"
            assert message["payload"]["title"] == "from a shell"
            assert message["actor"] == "shell"
            assert message["id"] == await in_thread(latest_id)

    run(scenario())


def test_change_committed_by_a_qcluster_job_reaches_the_daphne_client(daphne, token, project):
    after = latest_id()
    worker = manage("qcluster", log_name="qcluster-board.log")
    try:

        async def scenario():
            async with BoardClient(daphne.url, token) as client:
                await client.resume(after)
                await in_thread(async_task, "tests.projects.board_jobs.create_task", project.id, "from a worker")
                message = await client.receive(timeout=60)  # includes the cluster's start-up
                assert (message["type"], message["actor"]) == ("task.created", "worker")
                assert message["payload"]["title"] == "from a worker"
                assert message["payload"]["project"] == project.id

        run(scenario())
    finally:
        stop(worker)


def test_reconnect_and_resume_gets_exactly_the_50_changes_committed_meanwhile(daphne, token, project):
    last_seen = event_record(actor="test", type="test.mark", project_id=project.id).id

    async def scenario():
        async with BoardClient(daphne.url, token) as client:
            assert await client.resume(last_seen) == []
        # Disconnected: another process commits 50 changes, one transaction each.
        await in_thread(
            manage_shell,
            "from projects.models import Project; from projects.services import tasks as t; "
            f"p = Project.objects.get(pk={project.id}); "
            "task = t.task_create(actor='shell', project=p, title='change 1'); "
            "[t.task_update(task, actor='shell', title=f'change {n}') for n in range(2, 51)]",
        )
        async with BoardClient(daphne.url, token) as client:
            replayed = await client.resume(last_seen)
            assert [m["payload"]["title"] for m in replayed] == [f"change {n}" for n in range(1, 51)]
            ids = [m["id"] for m in replayed]
            assert ids == sorted(set(ids)) and len(ids) == 50
            assert ids == await in_thread(committed_after, last_seen)
            # The relay (or Redis) also broadcast them while we were away: none may come twice.
            await client.assert_next_is_a_marker(project.id)

    run(scenario())
