"""The `llm` executor through the task engine's interface: start, poll, cancel -> Outcome."""

import time
from decimal import Decimal

import pytest

from llmrouting.models import Budget, LLMCall
from projects.executors.base import Run
from projects.executors.registry import get_executor, registered_kinds
from projects.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


def run_for(task: Task, *, attempt: int = 1) -> Run:
    return Run(task_id=task.pk, project_id=task.project_id, attempt=attempt, title=task.title, prompt=task.description,
               repository="", branch="", base_commit="", working_dir="", environment={}, metadata=task.metadata,
               skills=[], timeout_seconds=60)  # fmt: skip


def wait(executor, handle, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while (outcome := executor.poll(handle)) is None:
        assert time.monotonic() < deadline, "executor never finished"
        time.sleep(executor.poll_interval)
    return outcome


def test_llm_is_a_registered_executor():
    assert "llm" in registered_kinds()


def test_the_answer_becomes_the_result_with_tokens_and_cost(make, emulator, project):
    project.description = "A todo app."
    project.save()
    make("openai", price="1")
    emulator.set_reply("Use a dict keyed by id.")
    task = Task.objects.create(project=project, title="Lookup", description="How do I find a task fast?",
                               executor="llm")  # fmt: skip
    executor = get_executor("llm")

    outcome = wait(executor, executor.start(run_for(task)))

    assert outcome.succeeded and outcome.output == "Use a dict keyed by id."
    call = LLMCall.objects.get(task=task)
    assert (outcome.prompt_tokens, outcome.completion_tokens, outcome.cost) == (
        call.prompt_tokens, call.completion_tokens, call.cost,
    )  # fmt: skip
    assert outcome.cost > 0 and outcome.data["model"] == "openai/gpt-4o-mini" and outcome.data["calls"] == [call.pk]
    [seen] = emulator.requests
    system, user = seen["body"]["messages"]
    assert "Alpha" in system["content"] and "A todo app." in system["content"]
    assert user["content"] == "How do I find a task fast?"


def test_a_retried_task_escalates_and_hints_are_honoured(make, emulator, project):
    make("openai", tier="cheap", price="0.1", deployment={"capabilities": ["code"]})
    standard = make("gemini", tier="standard", price="1", deployment={"capabilities": ["code"]})
    make("perplexity", tier="cheap", price="0.1", deployment={"capabilities": ["web"]})
    task = Task.objects.create(project=project, title="t", description="Fix it", executor="llm",
                               metadata={"llm": {"capabilities": ["code"], "max_tokens": 50}})  # fmt: skip
    executor = get_executor("llm")

    outcome = wait(executor, executor.start(run_for(task, attempt=2)))

    assert outcome.data["model"] == standard.model and "escalated 1" in outcome.data["reason"]
    assert emulator.requests[0]["body"]["generationConfig"]["max_output_tokens"] == 50


def test_failed_attempts_roll_up_and_the_failure_is_reported(make, emulator, project):
    make("openai")
    emulator.add_fault("500", times=None)
    task = Task.objects.create(project=project, title="t", description="x", executor="llm")
    executor = get_executor("llm")

    outcome = wait(executor, executor.start(run_for(task)))

    assert not outcome.succeeded and outcome.retryable
    assert "Every deployment tried for this request failed" in outcome.error and "server_error" in outcome.error
    assert LLMCall.objects.filter(task=task).count() == 2


def test_an_exhausted_budget_is_a_final_failure_without_a_call(make, emulator, project):
    make("openai")
    Budget.objects.create(project=project, period="total", limit_usd=Decimal("0"))
    task = Task.objects.create(project=project, title="t", description="x", executor="llm")
    executor = get_executor("llm")

    outcome = wait(executor, executor.start(run_for(task)))

    assert not outcome.succeeded and not outcome.retryable and "budget" in outcome.error
    assert emulator.requests == []


def test_cancel_stops_before_the_next_attempt(make, emulator, project):
    make("openai", timeout_seconds=1.0)
    emulator.add_fault("hang", times=None, hang_seconds=3)
    task = Task.objects.create(project=project, title="t", description="x", executor="llm")
    executor = get_executor("llm")
    handle = executor.start(run_for(task))
    time.sleep(0.2)

    executor.cancel(handle)
    outcome = wait(executor, handle)

    assert not outcome.succeeded and "cancelled" in outcome.error
    assert len(emulator.requests) == 1  # the retry never started


def test_the_task_engine_runs_an_llm_task_end_to_end(make, emulator, project, settings):
    from projects.engine.claim import claim_next
    from projects.engine.runner import run_task
    from projects.models import TaskStatus

    settings.ARCHITECT_LEASE_SECONDS = 30
    make("openai", price="1")
    emulator.set_reply("Here are the release notes.")
    task = Task.objects.create(project=project, title="Notes", description="Write notes", executor="llm",
                               status=TaskStatus.READY)  # fmt: skip

    claimed = claim_next(runner="dispatcher", executors=["llm"])
    run_task(claimed.pk, claimed.lease_token, "worker-1")

    task.refresh_from_db()
    call = LLMCall.objects.get(task=task)
    assert (task.status, task.result) == (TaskStatus.REVIEW, "Here are the release notes.")
    assert (task.prompt_tokens, task.completion_tokens) == (call.prompt_tokens, call.completion_tokens)
    assert task.cost == call.cost.quantize(Decimal("0.000001")) > 0  # Task.cost keeps 6 decimal places
