"""The autopilot demo in a real browser, as a new user meets it after `make run`.

Real daphne, qcluster, dispatcher and autopilot-loop processes on the test database, the offline
demo provider, and Chromium: start the demo goal from /autopilot/, approve the plan, watch the
results reach /reviews/ (one approved by the demo rule), approve the rest there, and see the run
complete — without reloading a page by hand.
"""

import re

import pytest
from playwright.sync_api import expect

from autopilot.models import AutopilotRun, ReviewItem
from llmrouting.catalog import seed_defaults
from llmrouting.models import Deployment, DeploymentHealth, Provider
from projects.demo import seed_demo
from projects.models import Task
from tests import processes
from tests.browser import log_in, with_password

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WAIT_MS = 60_000


@pytest.fixture
def stack(daphne):
    """Web, workers, dispatcher and the autopilot loop: what `make run` starts."""
    loops = [processes.manage(*args, log_name=f"autopilot-e2e-{args[0]}.log")
             for args in (["qcluster"], ["dispatcher"], ["autopilot", "--interval", "0.1"])]  # fmt: skip
    yield daphne
    for process in loops:
        processes.kill_group(process)  # nothing to save: the test has checked what it needs


@pytest.fixture
def newcomer(admin_user):
    seed_defaults(Provider, Deployment, DeploymentHealth)  # the demo provider, gone after other tests' flush
    seed_demo(admin_user)
    return with_password(admin_user)


def test_demo_goal_from_start_to_approved_reviews_in_the_browser(stack, newcomer, browser):
    base = stack.url
    page = log_in(browser, base, newcomer, "/autopilot/")
    page.set_default_timeout(WAIT_MS)

    demo_row = page.locator("tr", has_text="Autopilot demo")
    demo_row.get_by_role("button", name="Start autopilot").click()
    run_link = page.locator("tr[data-run] a").first
    expect(run_link).to_be_visible(timeout=WAIT_MS)
    run_link.click()

    # The loop plans it (demo template); the page refreshes itself when the plan arrives.
    run = AutopilotRun.objects.get()
    planned = RunReaches(run, "awaiting_approval")
    processes.wait_for(planned, timeout=WAIT_MS / 1000, message=planned)
    page.get_by_role("button", name="Approve plan").click()
    expect(page.locator("#run-status")).to_have_text(re.compile("running", re.I), timeout=WAIT_MS)

    page.goto(base + "/reviews/")
    for _ in range(2):  # the LLM write-up, then the shell summary that depends on it
        first = page.locator(f'article.ap-review[data-run="{run.pk}"]').first
        expect(first).to_be_visible(timeout=WAIT_MS)
        review = page.locator(f"#{first.get_attribute('id')}")
        review.get_by_role("button", name="Approve").click()
        expect(review).to_have_count(0, timeout=WAIT_MS)

    page.goto(base + f"/autopilot/runs/{run.pk}/")
    completed = RunReaches(run, "completed")
    processes.wait_for(completed, timeout=WAIT_MS / 1000, message=completed)
    expect(page.locator("#run-status")).to_have_text(re.compile("completed", re.I), timeout=WAIT_MS)

    decided = {item.task.autopilot_link.ref: item for item in ReviewItem.objects.filter(run=run)}
    assert decided["t1"].decided_by_rule is not None
    assert decided["t2"].decided_by == newcomer and decided["t3"].decided_by == newcomer


class RunReaches:
    """Whether the run has reached STATUS; printed, how far it got (for a timeout's message)."""

    def __init__(self, run, status: str):
        self.run, self.status = run, status

    def __call__(self) -> bool:
        return AutopilotRun.objects.get(pk=self.run.pk).status == self.status

    def __str__(self) -> str:
        tasks = Task.objects.filter(autopilot_link__run=self.run).order_by("pk")
        states = ", ".join(f"{ref}: {status} ({attempts} attempts)" for ref, status, attempts in
                           tasks.values_list("autopilot_link__ref", "status", "attempts"))  # fmt: skip
        now = AutopilotRun.objects.get(pk=self.run.pk).status
        return f"run {self.run.pk} to be {self.status} (it is {now}); tasks: {states or 'none'}"
