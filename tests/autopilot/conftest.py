"""Fixtures for the autopilot: the provider emulator behind a priced deployment, and drivers that
run the run loop and the task engine in this process (real executors, real router, real ledger)."""

from decimal import Decimal

import pytest

from autopilot.loop import RunLoop
from llmrouting import config
from llmrouting.catalog import seed_defaults
from llmrouting.models import Deployment, DeploymentHealth, Provider
from llmrouting.router import shared_learner
from projects.engine import runner
from projects.engine.claim import claim_next
from projects.models import Goal, Secret
from tests.fakes.provider_emulator import ProviderEmulator

MODEL = "openai/gpt-4o-mini"
EMULATED = "gpt-4o-mini"


@pytest.fixture(scope="session")
def emulator():
    with ProviderEmulator() as emu:
        yield emu


@pytest.fixture(autouse=True)
def _fresh_routing_state():
    # The router keeps a per-process snapshot of providers for 2 s; each test has other rows.
    config.invalidate()
    shared_learner.reset()
    yield
    config.invalidate()


@pytest.fixture
def seeded_providers(db):
    """The providers the llmrouting data migration seeds (a transactional test's flush removes them)."""
    seed_defaults(Provider, Deployment, DeploymentHealth)
    config.invalidate()


@pytest.fixture
def deployment(db, emulator):
    """An OpenAI-compatible deployment served by the emulator, $1 per million tokens each way."""
    emulator.clear()
    secret = Secret.objects.create(name=f"key-autopilot-{Provider.objects.count()}", value="sk-test")
    provider = Provider.objects.create(
        name="emu-openai",
        kind="openai",
        api_base=emulator.api_base_for("openai"),
        credential=secret,
        enabled=True,
        timeout_seconds=10,
    )
    deployment = Deployment.objects.create(
        provider=provider,
        model=MODEL,
        tier="cheap",
        input_price=Decimal("1"),
        output_price=Decimal("1"),
        capabilities=["code", "json"],
    )
    DeploymentHealth.objects.create(deployment=deployment)
    return deployment


@pytest.fixture
def goal(project):
    return Goal.objects.create(project=project, title="Add a health page", description="GET /health returns ok.")


def plan_json(*tasks, milestones=None) -> dict:
    return {"summary": "test plan", "milestones": milestones or [{"ref": "m1", "title": "First"}], "tasks": list(tasks)}


def task_json(ref, executor="shell", prompt="echo hi", depends_on=(), milestone="m1", **extra) -> dict:
    return {
        "ref": ref,
        "title": f"Task {ref}",
        "prompt": prompt,
        "executor": executor,
        "priority": 5,
        "estimate": extra.pop("estimate", 1),
        "milestone": milestone,
        "depends_on": list(depends_on),
        **extra,
    }


def run_ready_tasks(limit: int = 20) -> int:
    """Claim and run every ready task here, as a worker would (real executors); how many ran."""
    ran = 0
    while ran < limit:
        task = claim_next(runner="test-dispatcher", executors=["shell", "llm"])
        if task is None:
            return ran
        runner.run_task(task.pk, task.lease_token, "test-worker")
        ran += 1
    return ran


def drive(loop: RunLoop | None = None, *, rounds: int = 30) -> RunLoop:
    """Alternate the run loop and the engine until neither has anything left to do."""
    loop = loop or RunLoop()
    for _ in range(rounds):
        changed = loop.run_until_idle()
        ran = run_ready_tasks()
        if not changed and not ran:
            break
    return loop
