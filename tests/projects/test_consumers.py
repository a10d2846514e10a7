"""/ws/board/ through the real ASGI stack (origin check, session and token auth, relay or Redis)."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client
from rest_framework.authtoken.models import Token

from architect.asgi import application
from projects import relay
from projects.consumers import BoardConsumer
from projects.models import Event
from projects.services import tasks as task_services
from projects.services.events import event_record
from projects.services.tracker import bug_create
from tests.processes import clear_redis_namespace

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1:8000")
WAIT = 5


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """An empty channel layer for each test.

    The in-memory layer's queues belong to one event loop, and each test runs its own. On Redis, a socket
    the server closed (4401) stays in the board group: the events sent to it would pile up, undrained,
    in this process's share of the layer until the next send here, a /health/ probe's, meets ChannelFull.
    """
    channel_layers.backends.clear()
    yield
    clear_redis_namespace()  # the layer's own flush() would close connections bound to finished event loops


def session_headers(user, origin=ORIGIN) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return [origin, (b"cookie", cookie.encode())]


def token_headers(user) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Token {Token.objects.get_or_create(user=user)[0].key}".encode())]


async def connect(headers) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/board/", headers=headers)
    connected, _ = await communicator.connect(timeout=WAIT)
    assert connected
    return communicator


async def receive(communicator) -> dict:
    return json.loads(await communicator.receive_from(timeout=WAIT))


async def receive_events(communicator, count: int) -> list[dict]:
    return [await receive(communicator) for _ in range(count)]


async def resume(communicator, after: int) -> list[dict]:
    """Send resume_after and collect the replay up to the 'resumed' marker."""
    await communicator.send_json_to({"resume_after": after})
    replayed = []
    while (message := await receive(communicator))["type"] != "resumed":
        assert message["type"] != "resync", f"resume_after {after} was refused"
        replayed.append(message)
    return replayed


async def assert_next_is_a_marker(communicator, project_id: int) -> None:
    """Record a marker event in PROJECT_ID: it must be the very next message, so nothing else came before it.

    Events reach a socket in commit order, so this proves an absence without sitting out a timeout.
    """
    marker = await database_sync_to_async(event_record)(actor="test", type="test.marker", project_id=project_id)
    message = await receive(communicator)
    assert (message["type"], message["id"]) == ("test.marker", marker.id), f"{message} came before the marker"


async def close(communicator) -> None:
    await communicator.disconnect()
    await relay.stop()
    # The DB thread's connections would outlive the test and block dropping the PostgreSQL test database.
    await database_sync_to_async(connections.close_all)()


create_task = database_sync_to_async(task_services.task_create)


def run(scenario):
    asyncio.run(asyncio.wait_for(scenario, 30))


def test_anonymous_connection_is_closed_with_4401():
    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/board/", headers=[ORIGIN])
        connected, _ = await communicator.connect(timeout=WAIT)
        assert connected  # accepted so the browser sees the code, then closed
        assert await communicator.receive_output(timeout=WAIT) == {"type": "websocket.close", "code": 4401}

    run(scenario())


def test_user_without_a_role_is_closed_with_4403(db):
    nobody = User.objects.create_user("nobody", password="x")

    headers = session_headers(nobody)

    async def scenario():
        communicator = await connect(headers)
        assert await communicator.receive_output(timeout=WAIT) == {"type": "websocket.close", "code": 4403}

    run(scenario())


def test_unknown_token_is_closed_with_4401(db):
    async def scenario():
        communicator = await connect([(b"authorization", b"Token not-a-real-token")])
        assert await communicator.receive_output(timeout=WAIT) == {"type": "websocket.close", "code": 4401}

    run(scenario())


def test_session_from_a_foreign_origin_is_refused(viewer):
    headers = session_headers(viewer, origin=(b"origin", b"https://evil.example"))

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/board/", headers=headers)
        connected, _ = await communicator.connect(timeout=WAIT)
        assert not connected

    run(scenario())


def test_staff_session_receives_a_task_change_with_its_snapshot(viewer, maintainer, project):
    headers = session_headers(viewer)

    async def scenario():
        communicator = await connect(headers)
        assert await resume(communicator, await latest_id()) == []
        task = await create_task(actor=maintainer, project=project, title="Live one", priority=7)
        message = await receive(communicator)
        assert message["type"] == "task.created"
        assert message["id"] == await latest_id()
        assert message["project"] == project.id
        assert message["payload"]["id"] == task.id
        assert message["payload"]["title"] == "Live one"
        assert message["payload"]["status"] == "backlog"
        assert message["payload"]["priority"] == 7
        await close(communicator)

    run(scenario())


def test_agent_token_hears_only_its_projects(agent, admin_user, project, other_project):
    agent_headers, staff_headers = token_headers(agent), session_headers(admin_user)

    async def scenario():
        agent_socket = await connect(agent_headers)  # no Origin: token clients need none
        staff_socket = await connect(staff_headers)
        for communicator in (agent_socket, staff_socket):
            await resume(communicator, await latest_id())
        await create_task(actor=admin_user, project=other_project, title="Not for the agent")
        await database_sync_to_async(event_record)(actor="system", type="system.notice", payload={"note": "staff"})
        await database_sync_to_async(bug_create)(actor=agent, project=project, title="Agent's bug")

        staff_types = [m["type"] for m in await receive_events(staff_socket, 3)]
        assert staff_types == ["task.created", "system.notice", "bug.created"]
        agent_message = await receive(agent_socket)
        assert (agent_message["type"], agent_message["project"]) == ("bug.created", project.id)
        await assert_next_is_a_marker(agent_socket, project.id)
        await close(agent_socket)
        await close(staff_socket)

    run(scenario())


def test_resume_replays_missed_events_in_order_then_goes_live_without_duplicates(admin_user, project):
    before = event_record(actor="test", type="test.mark", project_id=project.id).id
    missed = [task_services.task_create(actor=admin_user, project=project, title=f"missed {i}") for i in range(5)]

    headers = session_headers(admin_user)

    async def scenario():
        communicator = await connect(headers)
        replayed = await resume(communicator, before)
        assert [m["payload"]["id"] for m in replayed] == [task.id for task in missed]
        assert [m["id"] for m in replayed] == sorted(m["id"] for m in replayed)
        live_task = await create_task(actor=admin_user, project=project, title="after resume")
        message = await receive(communicator)
        assert message["payload"]["id"] == live_task.id
        # The relay/Redis also saw the 5 replayed events: none may come twice.
        await assert_next_is_a_marker(communicator, project.id)
        await close(communicator)

    run(scenario())


def test_resume_from_a_pruned_id_asks_for_resync(admin_user, project):
    for i in range(3):
        task_services.task_create(actor=admin_user, project=project, title=f"old {i}")
    Event.objects.filter(id__lt=Event.objects.order_by("-id").first().id).delete()

    headers = session_headers(admin_user)

    async def scenario():
        communicator = await connect(headers)
        await communicator.send_json_to({"resume_after": 0})
        assert await receive(communicator) == {"type": "resync"}
        await close(communicator)

    run(scenario())


def test_resume_from_an_id_this_outbox_never_had_asks_for_resync(admin_user, project):
    task_services.task_create(actor=admin_user, project=project, title="one")

    headers = session_headers(admin_user)

    async def scenario():
        communicator = await connect(headers)
        await communicator.send_json_to({"resume_after": 10**9})
        assert await receive(communicator) == {"type": "resync"}
        await close(communicator)

    run(scenario())


@pytest.mark.parametrize("text", ["not json", "[]", '{"resume_after": -1}', '{"resume_after": "5"}', "{}"])
def test_bad_client_messages_get_an_error_not_a_crash(viewer, text):
    headers = session_headers(viewer)

    async def scenario():
        communicator = await connect(headers)
        await communicator.send_to(text_data=text)
        message = await receive(communicator)
        assert message["type"] == "error"
        assert await resume(communicator, 0) == []  # still usable
        await close(communicator)

    run(scenario())


def test_an_event_committed_but_never_broadcast_is_repaired_from_the_outbox(admin_user, project, monkeypatch):
    """A publish lost between commit and channel layer (crash, Redis blip) still reaches the client."""
    monkeypatch.setattr(BoardConsumer, "tick_seconds", 0.2)
    monkeypatch.setattr(BoardConsumer, "repair_after_seconds", 0.3)

    def commit_unpublished_then_published():
        lost = Event.objects.create(actor_label="system", type="task.note", project=project, payload={"n": 1})
        event_record(actor="system", type="task.note", project_id=project.id, payload={"n": 2})
        return lost.id

    headers = session_headers(admin_user)

    async def scenario():
        communicator = await connect(headers)
        await resume(communicator, await latest_id())
        lost_id = await database_sync_to_async(commit_unpublished_then_published)()
        received = await receive_events(communicator, 2)
        assert sorted(m["id"] for m in received) == [lost_id, lost_id + 1]
        assert await communicator.receive_nothing(timeout=1)
        await close(communicator)

    run(scenario())


def test_logging_out_elsewhere_closes_the_socket_with_4401(viewer, monkeypatch):
    monkeypatch.setattr(BoardConsumer, "tick_seconds", 0.1)
    monkeypatch.setattr(BoardConsumer, "recheck_seconds", 0.2)
    headers = session_headers(viewer)
    session_key = dict(headers)[b"cookie"].decode().split("=", 1)[1]

    async def scenario():
        communicator = await connect(headers)
        await resume(communicator, 0)
        await database_sync_to_async(end_session)(session_key)
        assert await communicator.receive_output(timeout=WAIT) == {"type": "websocket.close", "code": 4401}
        await relay.stop()
        await database_sync_to_async(connections.close_all)()

    run(scenario())


def test_agent_removed_from_a_project_stops_hearing_it(agent, admin_user, project, other_project, monkeypatch):
    monkeypatch.setattr(BoardConsumer, "tick_seconds", 0.05)
    monkeypatch.setattr(BoardConsumer, "recheck_seconds", 0.1)
    other_project.agents.add(agent)

    headers = token_headers(agent)

    async def scenario():
        communicator = await connect(headers)
        await resume(communicator, await latest_id())
        await database_sync_to_async(project.agents.remove)(agent)
        await asyncio.sleep(0.3)  # a recheck happens meanwhile
        await create_task(actor=admin_user, project=project, title="no longer yours")
        await assert_next_is_a_marker(communicator, other_project.id)  # still its project
        await close(communicator)

    run(scenario())


def end_session(session_key: str) -> None:
    from django.contrib.sessions.models import Session

    Session.objects.filter(session_key=session_key).delete()


@database_sync_to_async
def latest_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
