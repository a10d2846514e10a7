"""Decompose a goal into milestones and tasks through the LLM router.

The planner asks once with the project's context and the JSON format; an answer that is not a
valid plan is sent back once with the validation errors; a second invalid answer is refused with
those errors. Every answer is returned as an Attempt so the caller can keep it (as a Plan row).

The offline demo provider only answers with canned sentences, so when the router picked a
simulated deployment and its answer is not a plan, the goal is decomposed by a fixed template
(`demo_plan`): `make run` then shows a whole run without any key, and says so on the plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from architect.errors import DomainError
from autopilot.planning import schema
from projects.models import Bug, Goal, Task

PLAN_KIND = "autopilot.plan"
README_LIMIT = 6000
MAX_ATTEMPTS = 2
SYSTEM = (
    "You are the planner of a software team's autopilot. Break the goal into milestones and small, "
    "independently reviewable tasks. Answer with one JSON object only, no prose, matching this JSON schema:\n"
    "{schema}\n"
    "Rules: refs are short ids (m1, t1…); depends_on lists refs of tasks that must be done first; "
    "executor is one of {executors} — `shell` runs the prompt as a shell command, `llm` sends the prompt to "
    "a language model, `agent` gives it to a coding agent in the repository; priority is 0–10 (10 most urgent); "
    "estimate is the relative size (1 = small); kind names the sort of work (code, docs, test, research). "
    "Do not repeat work listed as already done."
)


@dataclass
class Attempt:
    """One answer of the planner."""

    raw: str
    plan: dict | None
    errors: list[str]
    source: str = ""
    request_id: str | None = None
    cost: Decimal = Decimal("0")

    @property
    def valid(self) -> bool:
        return self.plan is not None and not self.errors


@dataclass
class Outcome:
    attempts: list[Attempt] = field(default_factory=list)
    error: str = ""  # why the retry could not be made (the router refused), after a first invalid answer

    @property
    def plan(self) -> dict | None:
        last = self.attempts[-1] if self.attempts else None
        return last.plan if last is not None and last.valid else None


def plan_goal(goal: Goal, *, done: dict[str, Task] | None = None, actor=None) -> Outcome:
    """Plan GOAL; DONE maps refs of finished tasks to keep (re-planning) to those tasks."""
    done = done or {}
    prompt = goal_prompt(goal, done)
    outcome = Outcome()
    for number in range(MAX_ATTEMPTS):
        if number:
            prompt = retry_prompt(prompt, outcome.attempts[-1])
        try:
            attempt = ask(goal, prompt, known_refs=frozenset(done), actor=actor, escalation=number)
        except DomainError as exc:
            if not outcome.attempts:
                raise
            outcome.error = describe(exc)  # keep the first answer (and what it cost) on record
            break
        outcome.attempts.append(attempt)
        if attempt.valid:
            break
    return outcome


def ask(goal: Goal, prompt: str, *, known_refs: frozenset[str], actor, escalation: int = 0) -> Attempt:
    """One routed call; a retry after an invalid plan asks the router for a stronger tier (ESCALATION)."""
    from llmrouting.router import LLMRequest, route

    request = LLMRequest(
        prompt=prompt, system=system_prompt(), project_id=goal.project_id, kind=PLAN_KIND, max_tokens=4000,
        escalation=escalation, actor=actor or "autopilot", **_json_mode(LLMRequest),
    )  # fmt: skip
    result = route(request)
    plan, errors = schema.parse(result.text)
    source = result.deployment.model
    if plan is None and result.deployment.provider.simulated:
        plan, errors, source = demo_plan(goal), [], f"demo template (answer of simulated {source} was not a plan)"
    if plan is not None:
        errors = schema.validate(plan, known_refs=known_refs)
    return Attempt(result.text, plan, errors, source, str(result.request_id), result.cost)


def _json_mode(request_class) -> dict:
    # Ask for a JSON object where the router can pass it on; the instructions say so either way.
    fields = getattr(request_class, "__dataclass_fields__", {})
    return {"response_format": {"type": "json_object"}} if "response_format" in fields else {}


def describe(exc: DomainError) -> str:
    details = exc.details.get("failures") or exc.details.get("excluded") or []
    return exc.message + "".join(f"\n- {line}" for line in details)


def system_prompt() -> str:
    return SYSTEM.format(schema=json.dumps(schema.PLAN_SCHEMA), executors=", ".join(schema.PLANNABLE_EXECUTORS))


def goal_prompt(goal: Goal, done: dict[str, Task]) -> str:
    project = goal.project
    parts = [f"Project: {project.name}", project.description or "(no description)"]
    features = list(project.features.values_list("title", "status")[:50])
    if features:
        parts.append("Features:\n" + "\n".join(f"- {title} ({status})" for title, status in features))
    bugs = project.bugs.exclude(status__in=[Bug.Status.FIXED, Bug.Status.CLOSED, Bug.Status.WONT_FIX])
    bug_rows = list(bugs.values_list("title", "severity")[:30])
    if bug_rows:
        parts.append("Open bugs:\n" + "\n".join(f"- {title} ({severity})" for title, severity in bug_rows))
    readme = repository_readme(project.repository)
    if readme:
        parts.append("Repository README:\n" + readme)
    if done:
        lines = "\n".join(f"- {ref}: {task.title}" for ref, task in sorted(done.items()))
        parts.append("Already done (keep; you may list these refs in depends_on):\n" + lines)
    parts.append(f"Goal: {goal.title}\n{goal.description}".rstrip())
    return "\n\n".join(parts)


def retry_prompt(prompt: str, previous: Attempt) -> str:
    problems = "\n".join(f"- {error}" for error in previous.errors)
    return (
        f"{prompt}\n\nYour previous answer was not a valid plan:\n{previous.raw[:4000]}\n\n"
        f"Problems:\n{problems}\n\nAnswer again with the corrected JSON plan only."
    )


def repository_readme(repository: str) -> str:
    """The README of a local repository folder, cut to README_LIMIT characters ('' when none)."""
    if not repository or not Path(repository).is_dir():
        return ""
    for name in ("README.md", "README.rst", "README.txt", "README"):
        path = Path(repository) / name
        if path.is_file():
            return path.read_text(errors="replace")[:README_LIMIT]
    return ""


def demo_plan(goal: Goal) -> dict:
    """A fixed, runnable decomposition for the offline demo: shell checks and an LLM write-up."""
    title = goal.title
    return {
        "summary": f"Demo plan for “{title}” (template: the offline demo provider cannot write plans).",
        "milestones": [{"ref": "m1", "title": "Explore"}, {"ref": "m2", "title": "Deliver"}],
        "tasks": [
            {"ref": "t1", "title": "Check the toolchain", "executor": "shell", "priority": 7, "estimate": 1,
             "milestone": "m1", "depends_on": [],
             "prompt": "python3 --version && echo 'TESTS PASSED'"},
            {"ref": "t2", "title": "Describe the approach", "executor": "llm", "priority": 6, "estimate": 2,
             "milestone": "m1", "depends_on": ["t1"],
             "prompt": f"In five short bullet points, describe how to approach: {title}"},
            {"ref": "t3", "title": "Write the change summary", "executor": "shell", "priority": 5, "estimate": 2,
             "milestone": "m2", "depends_on": ["t2"],
             "prompt": "printf 'Changes for the goal\\n- add the page\\n- add its test\\n'"},
        ],
    }  # fmt: skip
