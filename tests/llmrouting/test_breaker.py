"""The circuit breaker: closed -> open -> half-open (one probe) -> closed, within and across processes."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from llmrouting import breaker
from llmrouting.models import BreakerState, Deployment, DeploymentHealth
from llmrouting.router import LLMRequest, route
from tests.processes import python as run_child


def state_of(deployment) -> str:
    return DeploymentHealth.objects.get(pk=deployment.pk).state


def fresh(deployment) -> Deployment:
    return Deployment.objects.select_related("provider", "health").get(pk=deployment.pk)


@pytest.mark.django_db
def test_failures_open_the_breaker_and_routing_skips_it(make, emulator):
    sick = make("openai", price="0.1", deployment={"failure_threshold": 2, "cooldown_seconds": 60})
    healthy = make("gemini", price="1")
    emulator.add_fault("500", provider="openai", times=None)

    route(LLMRequest(prompt="first"))  # two failed tries on openai (retries=1), then gemini
    assert state_of(sick) == BreakerState.OPEN
    emulator.clear()

    assert route(LLMRequest(prompt="second")).deployment == healthy
    assert emulator.requests_for(provider="openai") == []


@pytest.mark.django_db
def test_half_open_admits_a_single_probe_whose_success_closes(make, emulator):
    deployment = make("openai", deployment={"failure_threshold": 1, "cooldown_seconds": 0.2})
    breaker.record_failure(fresh(deployment), "boom")
    assert state_of(deployment) == BreakerState.OPEN
    assert not breaker.admit(fresh(deployment))  # still cooling down

    time.sleep(0.25)
    first, second = fresh(deployment), fresh(deployment)  # two callers that read the row at once
    assert [breaker.admit(first), breaker.admit(second)] == [True, False]
    assert state_of(deployment) == BreakerState.HALF_OPEN

    breaker.record_success(first)
    assert state_of(deployment) == BreakerState.CLOSED
    assert DeploymentHealth.objects.get(pk=deployment.pk).consecutive_failures == 0


@pytest.mark.django_db
def test_a_failed_probe_reopens_for_another_cooldown(make):
    deployment = make("openai", deployment={"failure_threshold": 1, "cooldown_seconds": 30})
    DeploymentHealth.objects.filter(pk=deployment.pk).update(state="open", open_until=timezone.now())
    probe = fresh(deployment)
    assert breaker.admit(probe)

    breaker.record_failure(probe, "still down")

    health = DeploymentHealth.objects.get(pk=deployment.pk)
    assert health.state == BreakerState.OPEN and health.open_until > timezone.now() + timedelta(seconds=25)


@pytest.mark.django_db
def test_a_stale_probe_is_taken_over(make):
    deployment = make("openai")
    DeploymentHealth.objects.filter(pk=deployment.pk).update(
        state="half_open", probe_started_at=timezone.now() - breaker.PROBE_TIMEOUT - timedelta(seconds=1)
    )
    assert breaker.admit(fresh(deployment))


CHILD = """
import sys, time
from llmrouting import breaker
from llmrouting.models import Deployment
deployment = Deployment.objects.select_related("provider", "health").get(pk={pk})
action = "{action}"
if action == "fail":
    for _ in range(deployment.failure_threshold):
        breaker.record_failure(deployment, "down in the child")
    print("failed")
elif action == "race":
    while time.time() < {start}:
        time.sleep(0.001)
    print("probe" if breaker.admit(deployment) else "skip")
elif action == "succeed":
    breaker.record_success(deployment)
    print(Deployment.objects.get(pk={pk}).health.state)
"""


def child(deployment, action: str, start: float = 0.0):
    return run_child(CHILD.format(pk=deployment.pk, action=action, start=start))


def output(process) -> str:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out.strip()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_breaker_state_is_shared_across_processes(make):
    deployment = make("openai", deployment={"failure_threshold": 2, "cooldown_seconds": 30})

    # closed -> open, decided in another process, seen here
    assert output(child(deployment, "fail")) == "failed"
    assert state_of(deployment) == BreakerState.OPEN
    assert not breaker.admit(fresh(deployment))

    # open -> half-open: once the cooldown is over, two processes and this one race; exactly one probes
    DeploymentHealth.objects.filter(pk=deployment.pk).update(open_until=timezone.now())
    start = time.time() + 0.5  # forked children are ready in tens of ms
    racers = [child(deployment, "race", start) for _ in range(2)]
    while time.time() < start:
        time.sleep(0.001)
    here = "probe" if breaker.admit(fresh(deployment)) else "skip"
    results = [output(p) for p in racers] + [here]
    assert results.count("probe") == 1, results
    assert state_of(deployment) == BreakerState.HALF_OPEN

    # half-open -> closed: the probe's success, from another process, closes it for everyone
    DeploymentHealth.objects.filter(pk=deployment.pk).update(probe_started_at=timezone.now())
    assert output(child(deployment, "succeed")) == "closed"
    assert breaker.admit(fresh(deployment))
