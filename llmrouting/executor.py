"""The `llm` executor: a task's prompt (plus project context) sent through the router.

The call runs in a thread so start() returns at once; poll() reports the Outcome with the
answer as the task result and the tokens and cost of every attempt. Hints come from
`task.metadata["llm"]`: tier, capabilities, max_tokens, kind.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from django.db import close_old_connections, connection

from architect.errors import DomainError
from llmrouting.budgets import BudgetExhausted
from llmrouting.router import LLMRequest, LLMResult, NoEligibleDeployment, route
from projects.executors.base import Executor, Outcome, Run
from projects.executors.registry import register
from projects.models import Project

SYSTEM_TEMPLATE = (
    "You work on the software project {name}.{description}{repository}\n"
    "Answer the task precisely; say what you assumed."
)


@dataclass
class Handle:
    thread: threading.Thread | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome | None = None


@register
class LLMExecutor(Executor):
    kind = "llm"
    poll_interval = 0.1

    def start(self, run: Run) -> Handle:
        handle = Handle()
        handle.thread = threading.Thread(
            target=self._work, args=(run, handle), name=f"llm-task-{run.task_id}", daemon=True
        )
        handle.thread.start()
        return handle

    def poll(self, handle: Handle) -> Outcome | None:
        return None if handle.thread.is_alive() else handle.outcome

    def cancel(self, handle: Handle) -> None:
        # An HTTP request in flight finishes (bounded by the provider timeout); no new attempt starts.
        handle.stop.set()
        handle.thread.join(timeout=0.5)

    def _work(self, run: Run, handle: Handle) -> None:
        close_old_connections()
        try:
            handle.outcome = outcome_of(route(request_for(run, cancelled=handle.stop.is_set)))
        except DomainError as exc:
            final = isinstance(exc, BudgetExhausted | NoEligibleDeployment)
            handle.outcome = Outcome(succeeded=False, error=_describe(exc), retryable=not final, data=exc.details)
            _add_spend(handle.outcome, exc)
        except Exception as exc:  # noqa: BLE001 (a bug must fail the task, not leave the runner polling)
            handle.outcome = Outcome(succeeded=False, error=f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()


def request_for(run: Run, *, cancelled=lambda: False) -> LLMRequest:
    hints = (run.metadata or {}).get("llm", {}) if isinstance(run.metadata, dict) else {}
    return LLMRequest(
        prompt=_prompt(run),
        system=_system(run.project_id),
        project_id=run.project_id,
        task_id=run.task_id,
        kind=str(hints.get("kind", "task")),
        min_tier=str(hints.get("tier", "")),
        capabilities=tuple(hints.get("capabilities", ())),
        max_tokens=hints.get("max_tokens"),
        escalation=max(0, run.attempt - 1),
        actor="executor:llm",
        cancelled=cancelled,
    )


def outcome_of(result: LLMResult) -> Outcome:
    deployment = result.deployment
    return Outcome(
        succeeded=True,
        output=result.text,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cost=result.cost,
        data={
            "model": deployment.model,
            "provider": deployment.provider.name,
            "simulated": deployment.provider.simulated,
            "tier": deployment.tier,
            "request": str(result.request_id),
            "calls": [c.pk for c in result.calls],
            "reason": result.reason,
        },
    )


def _prompt(run: Run) -> str:
    return run.prompt if run.prompt.strip() else run.title


def _system(project_id: int) -> str:
    project = Project.objects.filter(pk=project_id).values("name", "description", "repository").first() or {}
    description = f"\n{project['description']}" if project.get("description") else ""
    repository = f"\nRepository: {project['repository']}" if project.get("repository") else ""
    return SYSTEM_TEMPLATE.format(name=project.get("name", "?"), description=description, repository=repository)


def _describe(exc: DomainError) -> str:
    failures = exc.details.get("failures") or exc.details.get("excluded")
    return exc.message + ("\n" + "\n".join(f"- {line}" for line in failures) if failures else "")


def _add_spend(outcome: Outcome, exc: DomainError) -> None:
    """Failed attempts may still have cost money (tokens billed before an error): roll them up too."""
    request = exc.details.get("request")
    if not request:
        return
    from django.db.models import Sum

    from llmrouting.models import LLMCall

    totals = LLMCall.objects.filter(request_id=request).aggregate(
        p=Sum("prompt_tokens"), c=Sum("completion_tokens"), cost=Sum("cost")
    )
    outcome.prompt_tokens, outcome.completion_tokens = totals["p"] or 0, totals["c"] or 0
    outcome.cost = totals["cost"] or outcome.cost
