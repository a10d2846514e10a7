"""The autopilot demo in a real browser, as a new user meets it after `make run`.

Real daphne, qcluster, dispatcher and autopilot-loop processes on the test database, the offline
demo provider, and Chromium: start the demo goal from /autopilot/, approve the plan, watch the
results reach /reviews/ (one approved by the demo rule), approve the rest there, and see the run
complete — without reloading a page by hand.
"""

import os
import re
import secrets
import signal
import sys

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from playwright.sync_api import expect, sync_playwright

from autopilot.models import AutopilotRun, ReviewItem
from llmrouting.catalog import seed_defaults
from llmrouting.models import Deployment, DeploymentHealth, Provider
from projects.demo import seed_demo
from tests.projects.live_processes import Daphne, start

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
PASSWORD = "autopilot-e2e-" + secrets.token_hex(4)
WAIT_MS = 60_000


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def stack(django_db_setup):
    """Web, workers, dispatcher and the autopilot loop: what `make run` starts."""
    daphne = Daphne().start()
    loops = [start([sys.executable, "manage.py", *args], f"autopilot-e2e-{args[0]}.log")
             for args in (["qcluster"], ["dispatcher"], ["autopilot", "--interval", "0.1"])]  # fmt: skip
    yield daphne
    for process in loops:
        os.killpg(process.pid, signal.SIGKILL)  # nothing to save: the test has checked what it needs
        process.wait(timeout=10)
    daphne.stop()


@pytest.fixture
def newcomer(admin_user):
    seed_defaults(Provider, Deployment, DeploymentHealth)  # the demo provider, gone after other tests' flush
    admin_user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt(), iterations=1000)
    admin_user.save(update_fields=["password"])
    seed_demo(admin_user)
    return admin_user


def test_demo_goal_from_start_to_approved_reviews_in_the_browser(stack, newcomer):
    base = stack.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(base + "/autopilot/")
        page.fill("input[name=username]", newcomer.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page).to_have_url(base + "/autopilot/", timeout=WAIT_MS)

        demo_row = page.locator("tr", has_text="Autopilot demo")
        demo_row.get_by_role("button", name="Start autopilot").click()
        run_link = page.locator("tr[data-run] a").first
        expect(run_link).to_be_visible(timeout=WAIT_MS)
        run_link.click()

        # The loop plans it (demo template); the page refreshes itself when the plan arrives.
        page.get_by_role("button", name="Approve plan").click()
        expect(page.locator("#run-status")).to_have_text(re.compile("running", re.I), timeout=WAIT_MS)

        run = AutopilotRun.objects.get()
        page.goto(base + "/reviews/")
        for _ in range(2):  # the LLM write-up, then the shell summary that depends on it
            first = page.locator(f'article.ap-review[data-run="{run.pk}"]').first
            expect(first).to_be_visible(timeout=WAIT_MS)
            review = page.locator(f"#{first.get_attribute('id')}")
            review.get_by_role("button", name="Approve").click()
            expect(review).to_have_count(0, timeout=WAIT_MS)

        page.goto(base + f"/autopilot/runs/{run.pk}/")
        expect(page.locator("#run-status")).to_have_text(re.compile("completed", re.I), timeout=WAIT_MS)
        browser.close()
        connection.close()  # ORM calls inside Playwright's greenlet opened a connection of their own

    decided = {item.task.autopilot_link.ref: item for item in ReviewItem.objects.filter(run=run)}
    assert decided["t1"].decided_by_rule is not None
    assert decided["t2"].decided_by == newcomer and decided["t3"].decided_by == newcomer
