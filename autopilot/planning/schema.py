"""The plan format: a JSON schema for the shape, plus the checks a schema cannot express.

A plan is {"summary", "milestones": [{"ref", "title"}], "tasks": [{"ref", "title", "prompt",
"executor", "priority", "estimate", "milestone", "depends_on": [refs], "kind"}]}. For a `shell` task
the prompt is the command to run; `kind` (code, docs, test…) is what the router learns per. Errors
are plain sentences naming the place, because they go back to the model in the retry and to a person
when the plan is finally refused.
"""

from __future__ import annotations

import json
import re

from projects.models import ExecutorKind

# `external` tasks wait for an outside agent: not something a plan should hand out blindly.
PLANNABLE_EXECUTORS = sorted(kind for kind in ExecutorKind.values if kind != ExecutorKind.EXTERNAL)
MAX_TASKS = 50
REF = r"^[A-Za-z0-9_.-]{1,100}$"

PLAN_SCHEMA = {
    "type": "object",
    "required": ["milestones", "tasks"],
    "additionalProperties": True,
    "properties": {
        "summary": {"type": "string"},
        "milestones": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["ref", "title"],
                "properties": {
                    "ref": {"type": "string", "pattern": REF},
                    "title": {"type": "string", "minLength": 1, "maxLength": 300},
                },
            },
        },
        "tasks": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_TASKS,
            "items": {
                "type": "object",
                "required": ["ref", "title", "prompt", "executor"],
                "properties": {
                    "ref": {"type": "string", "pattern": REF},
                    "title": {"type": "string", "minLength": 1, "maxLength": 300},
                    "prompt": {"type": "string", "minLength": 1},
                    "executor": {"enum": PLANNABLE_EXECUTORS},
                    "priority": {"type": "integer", "minimum": 0, "maximum": 10},
                    "estimate": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "milestone": {"type": ["string", "null"]},
                    "depends_on": {"type": "array", "items": {"type": "string"}},
                    "kind": {"type": "string", "maxLength": 50},
                },
            },
        },
    },
}


def parse(text: str) -> tuple[dict | None, list[str]]:
    """The JSON object in TEXT (fences and chatter around it tolerated), or the reason it has none."""
    candidate = _strip_fences(text.strip())
    try:
        value = json.loads(candidate)
    except ValueError:
        start, end = candidate.find("{"), candidate.rfind("}")
        if start < 0 or end <= start:
            return None, ["The answer contains no JSON object."]
        try:
            value = json.loads(candidate[start : end + 1])
        except ValueError as exc:
            return None, [f"The answer is not valid JSON: {exc}."]
    if not isinstance(value, dict):
        return None, ["The plan must be a JSON object with milestones and tasks."]
    return value, []


def _strip_fences(text: str) -> str:
    match = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    return match.group(1).strip() if match else text


def validate(plan: dict, *, known_refs: frozenset[str] = frozenset()) -> list[str]:
    """Every problem with PLAN; KNOWN_REFS are finished tasks a re-plan may depend on without redefining."""
    errors = _schema_errors(plan)
    if errors:
        return errors
    return _reference_errors(plan, known_refs)


def _schema_errors(plan: dict) -> list[str]:
    from jsonschema import Draft202012Validator

    found = sorted(Draft202012Validator(PLAN_SCHEMA).iter_errors(plan), key=lambda e: list(e.absolute_path))
    return [f"{_where(error.absolute_path)}: {error.message}" for error in found[:20]]


def _where(path) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in path]
    return "plan" + "".join(parts)


def _reference_errors(plan: dict, known_refs: frozenset[str]) -> list[str]:
    errors: list[str] = []
    milestone_refs = _unique_refs(plan["milestones"], "milestones", errors)
    task_refs = _unique_refs(plan["tasks"], "tasks", errors)
    for index, task in enumerate(plan["tasks"]):
        where = f"plan.tasks[{index}] ({task['ref']})"
        if task.get("milestone") and task["milestone"] not in milestone_refs:
            errors.append(f"{where}: milestone {task['milestone']!r} is not one of the plan's milestones.")
        for ref in task.get("depends_on", []):
            if ref == task["ref"]:
                errors.append(f"{where}: a task cannot depend on itself.")
            elif ref not in task_refs and ref not in known_refs:
                errors.append(f"{where}: depends on {ref!r}, which is not a task of the plan.")
    if not errors:
        cycle = find_cycle(plan["tasks"])
        if cycle:
            errors.append("Dependencies form a cycle: " + " → ".join(cycle) + ".")
    return errors


def _unique_refs(items: list[dict], name: str, errors: list[str]) -> set[str]:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item["ref"] in seen:
            errors.append(f"plan.{name}[{index}]: ref {item['ref']!r} is used twice.")
        seen.add(item["ref"])
    return seen


def find_cycle(tasks: list[dict]) -> list[str]:
    """One dependency cycle among TASKS as a list of refs (first repeated at the end), or []."""
    edges = {task["ref"]: [r for r in task.get("depends_on", []) if r != task["ref"]] for task in tasks}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(ref: str) -> list[str]:
        state[ref] = 1
        path.append(ref)
        for nxt in edges.get(ref, []):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt in edges and state.get(nxt) is None and (found := visit(nxt)):
                return found
        path.pop()
        state[ref] = 2
        return []

    for ref in edges:
        if state.get(ref) is None and (found := visit(ref)):
            return found
    return []


def topological(tasks: list[dict]) -> list[dict]:
    """TASKS ordered so that every task comes after the plan tasks it depends on (plan order otherwise)."""
    by_ref = {task["ref"]: task for task in tasks}
    ordered: list[dict] = []
    placed: set[str] = set()

    def place(task: dict) -> None:
        if task["ref"] in placed:
            return
        placed.add(task["ref"])
        for ref in task.get("depends_on", []):
            if ref in by_ref:
                place(by_ref[ref])
        ordered.append(task)

    for task in tasks:
        place(task)
    return ordered
