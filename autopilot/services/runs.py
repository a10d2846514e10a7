"""Writes for autopilot runs: start, plan, approve, pause, resume, abort, re-plan, advance.

Every status change goes through `_move`, which refuses moves RUN_TRANSITIONS does not allow and
appends an `autopilot.run.<verb>` event in the same transaction. The slow part of planning (the LLM
call) runs outside any transaction; only its result is written atomically.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Subquery, Sum
from django.utils import timezone

from architect.errors import DomainError, IllegalTransition
from autopilot.models import ACTIVE_RUN_STATUSES, RUN_TRANSITIONS, AutopilotRun, Plan, RunStatus, RunTask
from autopilot.planning import planner, schema
from projects.models import Goal, Milestone, Task, TaskStatus, WorkStatus
from projects.models.task import ACTIVE_STATUSES
from projects.services import tasks as task_services
from projects.services import tracker
from projects.services.events import event_record

logger = logging.getLogger(__name__)
S = RunStatus
# Tasks of a run that count against its parallelism: queued or being worked on. Work waiting for a
# reviewer does not hold a slot, so a slow review never stalls independent tasks.
EXECUTING = (TaskStatus.READY, *ACTIVE_STATUSES)
# Tasks that may still move on their own or by a review: the run is not finished while any exist.
IN_FLIGHT = (*EXECUTING, TaskStatus.REVIEW)
UNSTARTED = (TaskStatus.BACKLOG, TaskStatus.READY, TaskStatus.BLOCKED)


def run_snapshot(run: AutopilotRun) -> dict:
    return {
        "id": run.pk,
        "project": run.project_id,
        "goal": run.goal_id,
        "status": run.status,
        "reason": run.reason,
        "budget_cap": str(run.budget_cap) if run.budget_cap is not None else None,
        "parallelism": run.parallelism,
    }


def _event(run: AutopilotRun, *, actor, verb: str, **extra) -> None:
    event_record(actor=actor, type=f"autopilot.run.{verb}", obj=run, project_id=run.project_id,
                 payload={**run_snapshot(run), **extra})  # fmt: skip


def _locked(run: AutopilotRun) -> AutopilotRun:
    return AutopilotRun.objects.select_for_update().get(pk=run.pk)


def _move(
    run: AutopilotRun,
    *,
    to: str,
    actor,
    verb: str,
    reason: str = "",
    fields: dict | None = None,
    extra: dict | None = None,
) -> AutopilotRun:
    """Move a run locked by the caller to TO (setting FIELDS), or refuse with the moves that are allowed.

    EXTRA goes into the event only.
    """
    if to not in RUN_TRANSITIONS[run.status]:
        raise IllegalTransition(current=run.status, requested=to, allowed=list(RUN_TRANSITIONS[run.status]))
    previous = run.status
    run.status, run.reason = to, reason
    for name, value in (fields or {}).items():
        setattr(run, name, value)
    if to in (S.COMPLETED, S.FAILED, S.ABORTED):
        run.finished_at = timezone.now()
    elif to in (S.PLANNING, S.RUNNING):
        run.finished_at = None
    run.save()
    _event(run, actor=actor, verb=verb, previous=previous, **(extra or {}))
    return run


# --- start and settings -------------------------------------------------------------------------------------------


@transaction.atomic
def run_start(*, actor, goal: Goal, budget_cap: Decimal | None = None, parallelism: int = 2,
              auto_approve_plan: bool = False) -> AutopilotRun:  # fmt: skip
    """Start a run for GOAL: it is planned by the run loop, then waits for approval (unless policy accepts)."""
    active = AutopilotRun.objects.filter(goal=goal, status__in=ACTIVE_RUN_STATUSES).first()
    if active is not None:
        raise DomainError(f"Goal {goal.pk} already has an active run (#{active.pk}, {active.status}).", run=active.pk)
    run = AutopilotRun(project_id=goal.project_id, goal=goal, budget_cap=budget_cap, parallelism=parallelism,
                       auto_approve_plan=auto_approve_plan, created_by=_user(actor))  # fmt: skip
    run.full_clean()
    run.save()
    _event(run, actor=actor, verb="started")
    return run


@transaction.atomic
def run_update(run: AutopilotRun, *, actor, **fields) -> AutopilotRun:
    """Change a run's budget cap, parallelism or plan policy (e.g. raise the cap, then resume)."""
    allowed = {"budget_cap", "parallelism", "auto_approve_plan"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be changed on a run."))
    run = _locked(run)
    changed = sorted(name for name, value in fields.items() if getattr(run, name) != value)
    for name, value in fields.items():
        setattr(run, name, value)
    run.full_clean()
    run.save()
    _event(run, actor=actor, verb="updated", changed=changed)
    return run


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


# --- planning -----------------------------------------------------------------------------------------------------


def run_plan(run: AutopilotRun, *, actor="autopilot") -> AutopilotRun:
    """Plan a run in `planning`: the LLM call, then (atomically) its plan or its refusal.

    Called by the run loop after it took the run's planning lock.
    """
    over = budget_exceeded(run)
    if over:
        return _fail_planning(run, actor=actor, reason=over)
    try:
        outcome = planner.plan_goal(run.goal, done=finished_refs(run), actor=actor)
    except DomainError as exc:
        return _fail_planning(run, actor=actor, reason="Planning failed: " + planner.describe(exc))
    except Exception as exc:  # noqa: BLE001  (a bug must stop the run clearly, not retry and spend forever)
        logger.exception("Planning run %s failed", run.pk)
        return _fail_planning(run, actor=actor, reason=f"Planning failed unexpectedly: {type(exc).__name__}: {exc}")
    return _record_planning(run, outcome, actor=actor)


@transaction.atomic
def _record_planning(run: AutopilotRun, outcome: planner.Outcome, *, actor) -> AutopilotRun:
    run = _locked(run)
    if run.status != S.PLANNING:  # aborted while the model was thinking
        _save_attempts(run, outcome)
        return run
    plans = _save_attempts(run, outcome)
    _learn_from_attempts(plans, actor=actor)
    run.locked_until, run.locked_by = None, ""
    if outcome.plan is None:
        return _move(run, to=S.FAILED, actor=actor, verb="failed", reason=_refusal(outcome))
    if run.auto_approve_plan:
        return _approve(run, plans[-1], actor=actor, by_policy=True)
    return _move(run, to=S.AWAITING_APPROVAL, actor=actor, verb="planned", extra={"plan": plans[-1].number})


def _refusal(outcome: planner.Outcome) -> str:
    last = outcome.attempts[-1]
    count = len(outcome.attempts)
    reason = (f"The planner's answer was not a valid plan after {count} attempt{'s' if count > 1 else ''}; "
              "the last one was refused because:\n" + "\n".join(f"- {e}" for e in last.errors))  # fmt: skip
    if outcome.error:
        reason += "\nThe retry could not be made: " + outcome.error
    return reason


def _save_attempts(run: AutopilotRun, outcome: planner.Outcome) -> list[Plan]:
    number = run.plans.count()
    plans = []
    for attempt in outcome.attempts:
        number += 1
        plans.append(Plan.objects.create(
            run=run, number=number, status=Plan.Status.PROPOSED if attempt.valid else Plan.Status.INVALID,
            data=attempt.plan or {}, raw=attempt.raw, errors=attempt.errors, source=attempt.source,
            request_id=attempt.request_id, cost=attempt.cost,
        ))  # fmt: skip
    return plans


@transaction.atomic
def _fail_planning(run: AutopilotRun, *, actor, reason: str) -> AutopilotRun:
    run = _locked(run)
    if run.status != S.PLANNING:
        return run
    run.locked_until, run.locked_by = None, ""
    return _move(run, to=S.FAILED, actor=actor, verb="failed", reason=reason)


def _learn_from_attempts(plans: list[Plan], *, actor) -> None:
    """An invalid plan is a rejected answer: the router learns that model is not good enough for planning."""
    from autopilot.services.learning import learn_from_request

    for plan in plans:
        if plan.status == Plan.Status.INVALID and plan.request_id:
            learn_from_request(plan.request_id, quality=0.0, actor=actor)


def finished_refs(run: AutopilotRun) -> dict[str, Task]:
    """The run's finished tasks by plan ref: kept when the run is re-planned."""
    links = run.run_tasks.select_related("task").filter(task__status=TaskStatus.DONE)
    return {link.ref: link.task for link in links}


# --- approval and applying a plan ---------------------------------------------------------------------------------


@transaction.atomic
def run_approve(run: AutopilotRun, *, actor) -> AutopilotRun:
    """Accept the proposed plan: its milestones and tasks are created and the run starts."""
    run = _locked(run)
    if run.status != S.AWAITING_APPROVAL:
        raise IllegalTransition(current=run.status, requested=S.RUNNING, allowed=list(RUN_TRANSITIONS[run.status]))
    plan = run.plans.filter(status=Plan.Status.PROPOSED).order_by("-number").first()
    if plan is None:
        raise DomainError("This run has no proposed plan to approve; re-plan it.")
    return _approve(run, plan, actor=actor, by_policy=False)


def _approve(run: AutopilotRun, plan: Plan, *, actor, by_policy: bool) -> AutopilotRun:
    from autopilot.services.learning import learn_from_request

    plan.status, plan.approved_at, plan.approved_by = Plan.Status.APPROVED, timezone.now(), _user(actor)
    plan.save()
    run.plans.filter(status=Plan.Status.PROPOSED).exclude(pk=plan.pk).update(status=Plan.Status.SUPERSEDED)
    created = apply_plan(run, plan, actor=actor)
    if plan.request_id and not plan.source.startswith("demo template"):
        learn_from_request(plan.request_id, quality=1.0, actor=actor)
    if run.goal.status == WorkStatus.OPEN:
        tracker.tracker_update(run.goal, actor=actor, fields={"status": WorkStatus.IN_PROGRESS})
    started = {"started_at": run.started_at or timezone.now()}
    extra = {"plan": plan.number, "by_policy": by_policy, "tasks_created": len(created)}
    return _move(run, to=S.RUNNING, actor=actor, verb="approved", fields=started, extra=extra)


def apply_plan(run: AutopilotRun, plan: Plan, *, actor) -> list[Task]:
    """Create PLAN's milestones and tasks; finished tasks of earlier plans are kept, unstarted ones cancelled."""
    kept = finished_refs(run)
    _retire_unfinished(run, keep=set(kept), actor=actor)
    milestones = _milestones(run, plan.data.get("milestones", []), actor=actor)
    by_ref: dict[str, Task] = dict(kept)
    created = []
    for item in schema.topological(plan.data["tasks"]):
        if item["ref"] in kept:
            continue
        depends_on = [by_ref[r] for r in item.get("depends_on", []) if r in by_ref]
        milestone = milestones.get(item.get("milestone") or "")
        task = _create_task(run, item, milestone=milestone, depends_on=depends_on, actor=actor)
        RunTask.objects.create(run=run, task=task, ref=item["ref"], plan=plan)
        by_ref[item["ref"]] = task
        created.append(task)
    return created


def _retire_unfinished(run: AutopilotRun, *, keep: set[str], actor) -> None:
    """Cancel the earlier plan's tasks that never started or failed, and free their refs for the new plan.

    Tasks still running or in review stay: they finish, and their reviews still count.
    """
    reason = f"Replaced by a new plan of run {run.pk}."
    for link in run.run_tasks.exclude(ref__in=keep).order_by("pk"):
        task = Task.objects.get(pk=link.task_id)  # fresh: cancelling one task may have blocked another
        if task.status == TaskStatus.FAILED:
            # failed → cancelled is not a move the state machine has: through the backlog.
            task = task_services.task_transition(task, to=TaskStatus.BACKLOG, actor=actor, reason=reason)
        if task.status in UNSTARTED:
            task_services.task_cancel(task, actor=actor, reason=reason)
        link.ref = f"{link.ref}@{link.pk}"
        link.save(update_fields=["ref"])


def _milestones(run: AutopilotRun, items: list[dict], *, actor) -> dict[str, Milestone]:
    found = {}
    for item in items:
        milestone = Milestone.objects.filter(goal=run.goal, title=item["title"]).first()
        if milestone is None:
            milestone = tracker.milestone_create(actor=actor, project=run.project, goal=run.goal, title=item["title"])
        found[item["ref"]] = milestone
    return found


def _create_task(run: AutopilotRun, item: dict, *, milestone, depends_on: list[Task], actor) -> Task:
    return task_services.task_create(
        actor=actor, project=run.project, goal=run.goal, milestone=milestone, title=item["title"][:300],
        description=item["prompt"], executor=item["executor"], priority=item.get("priority", 5),
        estimate=item.get("estimate", 1), status=TaskStatus.BACKLOG, repository=run.project.repository,
        branch=run.project.default_branch if run.project.repository else "",
        metadata=_task_metadata(run, item), depends_on=depends_on,
    )  # fmt: skip


def _task_metadata(run: AutopilotRun, item: dict) -> dict:
    metadata = {"autopilot": {"run": run.pk, "ref": item["ref"]}}
    if item.get("kind"):
        # The router learns review outcomes per kind of task (llmrouting.executor reads metadata["llm"]).
        metadata["llm"] = {"kind": f"autopilot.{item['kind']}"}
    return metadata


# --- pause, resume, abort, re-plan --------------------------------------------------------------------------------


@transaction.atomic
def run_pause(run: AutopilotRun, *, actor, reason: str = "Paused.") -> AutopilotRun:
    """Stop queueing: queued tasks go back to the backlog; tasks already running finish and go to review."""
    run = _move(_locked(run), to=S.PAUSED, actor=actor, verb="paused", reason=reason)
    for task in Task.objects.filter(autopilot_link__run=run, status=TaskStatus.READY):
        task_services.task_transition(task, to=TaskStatus.BACKLOG, actor=actor, reason=f"Run {run.pk} paused.")
    return run


@transaction.atomic
def run_resume(run: AutopilotRun, *, actor) -> AutopilotRun:
    run = _locked(run)
    over = budget_exceeded(run)
    if over:
        raise DomainError(over + " Raise the run's budget cap before resuming.", spent=str(run_spent(run)))
    return _move(run, to=S.RUNNING, actor=actor, verb="resumed")


@transaction.atomic
def run_abort(run: AutopilotRun, *, actor, reason: str = "Aborted.") -> AutopilotRun:
    """Abort: every unfinished task of the run is cancelled and its pending reviews are closed."""
    from autopilot.services.reviews import close_pending_reviews

    run = _move(_locked(run), to=S.ABORTED, actor=actor, verb="aborted", reason=reason, fields={"locked_until": None})
    unfinished = (*UNSTARTED, *ACTIVE_STATUSES, TaskStatus.REVIEW)
    for task in Task.objects.filter(autopilot_link__run=run, status__in=unfinished).order_by("-pk"):
        task.refresh_from_db()  # cancelling one task may have blocked the next
        if task.status in unfinished:
            task_services.task_cancel(task, actor=actor, reason=f"Run {run.pk} aborted.")
    close_pending_reviews(run, actor=actor, comment=f"Run {run.pk} aborted.")
    return run


@transaction.atomic
def run_replan(run: AutopilotRun, *, actor) -> AutopilotRun:
    """Plan again (finished work is kept); the current proposal, if any, is superseded."""
    run = _locked(run)
    run.plans.filter(status=Plan.Status.PROPOSED).update(status=Plan.Status.SUPERSEDED)
    run = _move(run, to=S.PLANNING, actor=actor, verb="replanning", fields={"locked_until": None, "locked_by": ""})
    for task in Task.objects.filter(autopilot_link__run=run, status=TaskStatus.READY):
        task_services.task_transition(task, to=TaskStatus.BACKLOG, actor=actor, reason=f"Run {run.pk} re-planning.")
    return run


# --- money --------------------------------------------------------------------------------------------------------


def run_spent(run: AutopilotRun) -> Decimal:
    """Planning calls plus, per task, the larger of its recorded cost and its calls in the ledger.

    The ledger sees an LLM task's spend while it runs; the task's own cost also covers executors
    that never call the router (coding agents report their cost).
    """
    return spent_by_run([run.pk]).get(run.pk, Decimal("0"))


def spent_by_run(run_ids) -> dict[int, Decimal]:
    """run_spent for many runs in two queries."""
    from llmrouting.models import LLMCall

    run_ids = list(run_ids)
    totals: dict[int, Decimal] = dict.fromkeys(run_ids, Decimal("0"))
    by_request = LLMCall.objects.filter(request_id=OuterRef("request_id")).order_by().values("request_id")
    plans = Plan.objects.filter(run_id__in=run_ids, request_id__isnull=False)
    plans = plans.annotate(ledger=Subquery(by_request.annotate(total=Sum("cost")).values("total")))
    for run_id, ledger in plans.values_list("run_id", "ledger"):
        totals[run_id] += Decimal(ledger or 0)
    by_task = LLMCall.objects.filter(task=OuterRef("task_id")).order_by().values("task")
    links = RunTask.objects.filter(run_id__in=run_ids)
    links = links.annotate(ledger=Subquery(by_task.annotate(total=Sum("cost")).values("total")))
    for run_id, cost, ledger in links.values_list("run_id", "task__cost", "ledger"):
        totals[run_id] += max(Decimal(cost), Decimal(ledger or 0))
    return totals


def budget_exceeded(run: AutopilotRun, *, spent: Decimal | None = None) -> str:
    """Why RUN may not spend more ('' while under its cap)."""
    if run.budget_cap is None:
        return ""
    spent = run_spent(run) if spent is None else spent
    if spent < run.budget_cap:
        return ""
    return f"Budget cap reached: ${spent:.6f} spent of the run's ${run.budget_cap:.6f} cap."


# --- advancing a running run (the loop's step) ----------------------------------------------------------------------


@dataclass
class RunView:
    """What one step needs to know about a running run, read for every running run at once."""

    counts: dict[str, int] = field(default_factory=dict)  # its tasks by status
    spent: Decimal = Decimal("0")
    has_startable: bool = False


def running_views(runs: list[AutopilotRun]) -> dict[int, RunView]:
    """RunView of every run in RUNS, in a constant number of queries (so an idle step stays cheap)."""
    run_ids = [run.pk for run in runs]
    views = {run_id: RunView() for run_id in run_ids}
    rows = RunTask.objects.filter(run_id__in=run_ids).values_list("run_id", "task__status")
    for run_id, status, n in rows.annotate(n=Count("id")).order_by():
        views[run_id].counts[status] = n
    capped = [run.pk for run in runs if run.budget_cap is not None]
    for run_id, spent in (spent_by_run(capped) if capped else {}).items():
        views[run_id].spent = spent
    for run_id in startable_runs(run_ids):
        views[run_id].has_startable = True
    return views


def _unfinished_dependencies():
    return Task.depends_on.through.objects.filter(from_task_id=OuterRef("pk")).exclude(to_task__status=TaskStatus.DONE)


def startable_runs(run_ids) -> set[int]:
    """Runs among RUN_IDS with a backlog task whose dependencies are all done."""
    tasks = Task.objects.filter(autopilot_link__run_id__in=list(run_ids), status=TaskStatus.BACKLOG)
    tasks = tasks.filter(~Exists(_unfinished_dependencies()))
    return set(tasks.values_list("autopilot_link__run_id", flat=True).distinct())


def run_advance(run: AutopilotRun, *, actor="autopilot", view: RunView | None = None) -> bool:
    """One step of a running run: stop at the budget cap, queue ready work, or finish. True if it changed."""
    view = running_views([run])[run.pk] if view is None else view
    over = budget_exceeded(run, spent=view.spent)
    if over:
        _stop_for_budget(run, reason=over, actor=actor)
        return True
    executing = sum(view.counts.get(status, 0) for status in EXECUTING)
    if view.has_startable and executing < run.parallelism and _queue_startable(run, actor=actor):
        return True
    if not any(view.counts.get(status) for status in IN_FLIGHT):
        return _finish_if_done(run, actor=actor)
    return False


@transaction.atomic
def _stop_for_budget(run: AutopilotRun, *, reason: str, actor) -> None:
    run = _locked(run)
    if run.status == S.RUNNING:
        run_pause(run, actor=actor, reason=reason)


def startable(run: AutopilotRun):
    """Backlog tasks of RUN whose dependencies are all done, in priority order (the dependency order)."""
    tasks = Task.objects.filter(autopilot_link__run=run, status=TaskStatus.BACKLOG)
    tasks = tasks.filter(~Exists(_unfinished_dependencies()))
    return tasks.order_by("-priority", "pk")


@transaction.atomic
def _queue_startable(run: AutopilotRun, *, actor) -> int:
    run = _locked(run)
    if run.status != S.RUNNING:
        return 0
    free = run.parallelism - Task.objects.filter(autopilot_link__run=run, status__in=EXECUTING).count()
    queued = 0
    for task in startable(run)[: max(0, free)]:
        task_services.task_queue(task, actor=actor, reason=f"Started by autopilot run {run.pk}.")
        queued += 1
    return queued


@transaction.atomic
def _finish_if_done(run: AutopilotRun, *, actor) -> bool:
    """Complete the run when all its tasks are done; fail it when what is left cannot move any more."""
    run = _locked(run)
    tasks = Task.objects.filter(autopilot_link__run=run)
    if run.status != S.RUNNING or tasks.filter(status__in=IN_FLIGHT).exists() or startable(run).exists():
        return False
    stuck = list(tasks.exclude(status__in=(TaskStatus.DONE, TaskStatus.CANCELLED)).order_by("pk"))
    if not stuck:
        from autopilot.services.progress import close_finished_work

        _move(run, to=S.COMPLETED, actor=actor, verb="completed", reason="Every task of the plan is done.")
        close_finished_work(run.goal, actor=actor)
        return True
    lines = [f"- #{t.pk} “{t.title}” is {t.status}: {(t.last_error or t.blocked_reason)[:300]}" for t in stuck]
    reason = "The run cannot go on: retry or cancel these tasks, then resume (or re-plan):\n" + "\n".join(lines)
    _move(run, to=S.FAILED, actor=actor, verb="failed", reason=reason)
    return True
