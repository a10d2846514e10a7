"""The executor plugin interface: how a task's work is started, watched and stopped.

The task engine's runner (projects.engine.runner) drives every executor the
same way, inside a django-q2 job that holds the task's lease:

    handle = executor.start(run)          # begin the work; must not block long
    while (outcome := executor.poll(handle)) is None:
        ...renew the lease, check for cancel and timeout, sleep...
    # on cancel or timeout: executor.cancel(handle), then poll until an outcome

Executors never change Task rows themselves: they report an Outcome and the
runner records it through the services (attempt, result, tokens, cost,
review or done, retry or fail).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class Run:
    """What an executor gets to work with: a snapshot, not the live row."""

    task_id: int
    project_id: int
    attempt: int
    title: str
    prompt: str
    repository: str
    branch: str
    base_commit: str
    working_dir: str
    environment: dict[str, str]
    metadata: dict[str, Any]
    skills: list[str]
    timeout_seconds: int
    log_path: str = ""  # file the executor appends its output to (streamed to the task log)


@dataclass
class Outcome:
    succeeded: bool
    output: str = ""
    error: str = ""
    exit_status: int | None = None
    data: dict[str, Any] = field(default_factory=dict)  # commit, diff, duration, model…
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: Decimal = Decimal("0")
    needs_review: bool = True  # False: a success goes straight to done
    retryable: bool = True  # False: a failure is final whatever attempts remain


class Executor(ABC):
    kind: str = ""
    poll_interval: float = 0.2

    @abstractmethod
    def start(self, run: Run) -> Any:
        """Begin the work and return a handle for poll and cancel."""

    @abstractmethod
    def poll(self, handle: Any) -> Outcome | None:
        """The outcome once the work has ended, else None."""

    @abstractmethod
    def cancel(self, handle: Any) -> None:
        """Stop the work and release what it holds (processes, sessions, worktrees)."""

    # Optional (added by the task engine; the defaults do nothing):

    def describe(self, handle: Any) -> dict[str, Any]:
        """JSON-safe facts about HANDLE (pid, session name…), stored on the attempt for `abandon`."""
        return {}

    @classmethod
    def abandon(cls, state: dict[str, Any]) -> None:
        """Stop work left behind by a runner that died, from what `describe` stored.

        Called by the lease reaper before the task is retried, so a crashed
        attempt's leftovers never run alongside the next attempt.
        """
        return None
