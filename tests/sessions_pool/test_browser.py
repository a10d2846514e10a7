"""The sessions pages in a real browser, against real daphne and a real supervisor process.

`manage.py supervise_sessions` (what `make run` starts) fills the pool; the
panel and the session page follow it live over /ws/board/; a maintainer types
into the agent and sees the screen and the alert; a viewer only watches.
"""

import secrets
import sys

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from playwright.sync_api import expect, sync_playwright

from sessions_pool.models import AgentProfile, AgentSession, SessionState
from tests.projects.live_processes import Daphne, start, stop
from tests.sessions_pool.conftest import fake_command, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
PASSWORD = "sessions-e2e-" + secrets.token_hex(4)
S = SessionState


@pytest.fixture(autouse=True)
def shared_environment(monkeypatch, tmux_socket, settings):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # The child processes (daphne, the supervisor) must use this test's tmux server and directories.
    monkeypatch.setenv("ARCHITECT_TMUX_SOCKET", tmux_socket)
    monkeypatch.setenv("ARCHITECT_SESSIONS_DIR", settings.ARCHITECT_SESSIONS_DIR)
    monkeypatch.setenv("ARCHITECT_SUPERVISOR_INTERVAL", "0.2")


@pytest.fixture
def pool(db):
    AgentProfile.objects.exclude(name="claude").update(enabled=False)
    AgentProfile.objects.filter(name="claude").update(command=fake_command("--think", "0.3"), min_sessions=1)
    supervisor = start([sys.executable, "manage.py", "supervise_sessions"], "supervisor-e2e.log")
    yield supervisor
    stop(supervisor)


@pytest.fixture
def daphne(django_db_setup):
    server = Daphne().start()
    yield server
    server.stop()


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def with_password(user):
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt(), iterations=1000)
    user.save(update_fields=["password"])
    return user


def log_in(browser, base_url: str, user, path: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base_url + path)
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base_url + path)
    return page


def test_maintainer_drives_a_session_and_sees_the_alert_live(pool, daphne, browser, maintainer, viewer):
    session = wait_for(lambda: AgentSession.objects.filter(state=S.IDLE).first(), timeout=20)
    page = log_in(browser, daphne.url, with_password(maintainer), "/sessions/")
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

    watcher = log_in(browser, daphne.url, with_password(viewer), f"/sessions/{session.pk}/")
    expect(watcher.locator("#screen")).to_contain_text("git push --force origin main", timeout=5000)
    expect(watcher.locator("#read-only")).to_be_visible()
    expect(watcher.locator("#send-keys")).to_have_count(0)
    watcher.goto(daphne.url + "/sessions/")
    expect(watcher.locator("#alerts")).to_contain_text(session.name)
    expect(watcher.locator(f'tr[data-session="{session.pk}"] .alert-text')).to_contain_text("git push --force")

    page.click("button[data-keys='Escape']")  # the person says no
    expect(page.locator("#session-state")).to_have_text("idle", timeout=5000)
    expect(page.locator("#session-alert")).to_be_hidden()
    expect(page.locator("#screen")).not_to_contain_text("Pushed")


def test_stopping_the_supervisor_stops_its_sessions(pool):
    session = wait_for(lambda: AgentSession.objects.filter(state=S.IDLE).first(), timeout=20)
    stop(pool)
    assert AgentSession.objects.get(pk=session.pk).state == S.STOPPED
