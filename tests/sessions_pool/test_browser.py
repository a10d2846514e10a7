"""The sessions pages in a real browser, against real daphne and a real supervisor process.

`manage.py supervise_sessions` (what `make run` starts) fills the pool; the
panel and the session page follow it live over /ws/board/; a maintainer types
into the agent and sees the screen and the alert; a viewer only watches.
"""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from sessions_pool.models import AgentProfile, AgentSession, SessionState
from tests import processes
from tests.browser import log_in, with_password
from tests.processes import Daphne, wait_for
from tests.sessions_pool.conftest import fake_command

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

S = SessionState


@pytest.fixture
def pool_env(tmux_socket) -> dict[str, str]:
    """What the child processes (daphne, the supervisor) need to share this test's tmux server and directories."""
    return {
        "ARCHITECT_TMUX_SOCKET": tmux_socket,
        "ARCHITECT_SESSIONS_DIR": settings.ARCHITECT_SESSIONS_DIR,
        "ARCHITECT_SUPERVISOR_INTERVAL": "0.2",
    }


@pytest.fixture
def pool(db, pool_env):
    AgentProfile.objects.exclude(name="claude").update(enabled=False)
    AgentProfile.objects.filter(name="claude").update(command=fake_command("--think", "0.3"), min_sessions=1)
    supervisor = processes.manage("supervise_sessions", log_name="supervisor-e2e.log", **pool_env)
    yield supervisor
    processes.stop(supervisor)


@pytest.fixture
def pool_daphne(django_db_setup, pool_env):
    server = Daphne().start(**pool_env)
    yield server
    server.stop()


def open_page(browser, base_url: str, user, path: str):
    return log_in(browser, base_url, with_password(user), path, viewport={"width": 1280, "height": 900})


def test_maintainer_drives_a_session_and_sees_the_alert_live(pool, pool_daphne, browser, maintainer, viewer):
    session = wait_for(lambda: AgentSession.objects.filter(state=S.IDLE).first(), timeout=20)
    page = open_page(browser, pool_daphne.url, maintainer, "/sessions/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    row = page.locator(f'tr[data-session="{session.pk}"]')
    expect(row.locator(".badge")).to_have_text("idle")

    row.locator("a").click()
    expect(page.locator("#screen")).to_contain_text("Welcome to Fake Agent", timeout=5000)
    page.fill("#send-text", "[deny] ship it")
    page.click("button[data-enter='1']")
    expect(page.locator("#screen")).to_contain_text("git push --force origin main", timeout=5000)
    # The supervisor (another process) refuses to answer; its alert reaches the page over the socket.
    expect(page.locator("#session-state")).to_have_text("waiting_confirmation", timeout=5000)
    expect(page.locator("#session-alert")).to_contain_text("git push --force origin main")
    assert "Pushed" not in page.locator("#screen").inner_text()

    watcher = open_page(browser, pool_daphne.url, viewer, f"/sessions/{session.pk}/")
    expect(watcher.locator("#screen")).to_contain_text("git push --force origin main", timeout=5000)
    expect(watcher.locator("#read-only")).to_be_visible()
    expect(watcher.locator("#send-keys")).to_have_count(0)
    watcher.goto(pool_daphne.url + "/sessions/")
    expect(watcher.locator("#alerts")).to_contain_text(session.name)
    expect(watcher.locator(f'tr[data-session="{session.pk}"] .alert-text')).to_contain_text("git push --force")

    page.click("button[data-keys='Escape']")  # the person says no
    expect(page.locator("#session-state")).to_have_text("idle", timeout=5000)
    expect(page.locator("#session-alert")).to_be_hidden()
    expect(page.locator("#screen")).not_to_contain_text("Pushed")


def test_stopping_the_supervisor_stops_its_sessions(pool):
    session = wait_for(lambda: AgentSession.objects.filter(state=S.IDLE).first(), timeout=20)
    processes.stop(pool)
    assert AgentSession.objects.get(pk=session.pk).state == S.STOPPED
