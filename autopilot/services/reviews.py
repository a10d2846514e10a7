"""The review queue: every task that reaches review with a result gets a ReviewItem; people or rules decide.

- approve: the task moves to done;
- reject (with a comment): a linked rework task carrying the comment is created, the dependents of the
  original are re-pointed to it, and the original is cancelled (review → cancelled);
- request changes (with a comment): the same task goes back to the queue with the comment in its prompt.

Each decision is a `review.<verb>` event, feeds the router's learner (autopilot.services.learning)
and lets finished milestones and goals close.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from architect.errors import DomainError
from autopilot.models import ApprovalRule, AutopilotRun, ReviewItem, RunTask
from autopilot.services import learning
from autopilot.services.rules import first_match, lines_changed
from projects.models import Task, TaskAttempt, TaskStatus
from projects.services import tasks as task_services
from projects.services.events import event_record

LOG_TAIL_CHARS = 20_000
RS = ReviewItem.Status


def review_snapshot(item: ReviewItem) -> dict:
    return {
        "id": item.pk,
        "task": item.task_id,
        "title": item.task.title,
        "project": item.project_id,
        "run": item.run_id,
        "attempt": item.attempt,
        "status": item.status,
        "cost": str(item.cost),
        "lines_changed": item.lines_changed,
        "decided_by": item.decided_by_label,
        "rule": item.decided_by_rule_id,
        "rework_task": item.rework_task_id,
    }


def _event(item: ReviewItem, *, actor, verb: str) -> None:
    event_record(actor=actor, type=f"review.{verb}", obj=item, project_id=item.project_id,
                 payload=review_snapshot(item))  # fmt: skip


# --- collecting ---------------------------------------------------------------------------------------------------


def review_collect(task: Task, *, actor="autopilot") -> ReviewItem | None:
    """The review item of TASK's current attempt, created (and auto-approved by a rule) if missing.

    Idempotent: the unique (task, attempt) constraint makes a second collector a no-op.
    """
    try:
        with transaction.atomic():
            item = _create_item(task, actor=actor)
    except IntegrityError:
        return ReviewItem.objects.filter(task=task, attempt=task.attempts).first()
    if item is not None:
        _apply_rules(item)
    return item


def _create_item(task: Task, *, actor) -> ReviewItem | None:
    task = Task.objects.select_for_update().get(pk=task.pk)
    if task.status != TaskStatus.REVIEW:
        return None
    existing = ReviewItem.objects.filter(task=task, attempt=task.attempts).first()
    if existing is not None:
        return None
    data = task.result_data or {}
    diff = str(data.get("diff") or "")
    link = RunTask.objects.filter(task=task).select_related("run").first()
    item = ReviewItem.objects.create(
        task=task, project_id=task.project_id, run=link.run if link else None, attempt=task.attempts,
        result=task.result, diff=diff, diff_stat=str(data.get("diff_stat") or ""), log=_log_tail(task),
        cost=task.cost, lines_changed=lines_changed(diff), executor=task.executor,
    )  # fmt: skip
    _event(item, actor=actor, verb="created")
    return item


def _log_tail(task: Task) -> str:
    attempt = TaskAttempt.objects.filter(task=task).order_by("-number").first()
    log = attempt.log if attempt is not None else ""
    return log[-LOG_TAIL_CHARS:]


def _apply_rules(item: ReviewItem) -> None:
    rule = first_match(item)
    if rule is not None:
        try:
            review_approve(item, actor=f"rule:{rule.name}", rule=rule)
        except DomainError:
            pass  # someone decided first, or the task moved on: nothing to auto-approve any more


def collect_waiting(*, limit: int = 100, actor="autopilot") -> int:
    """Create the missing review items of tasks waiting in review; how many were created."""
    from autopilot.selectors import tasks_without_review

    return sum(review_collect(task, actor=actor) is not None for task in tasks_without_review()[:limit])


# --- decisions ----------------------------------------------------------------------------------------------------


def _pending(item: ReviewItem) -> ReviewItem:
    item = ReviewItem.objects.select_for_update().select_related("task").get(pk=item.pk)
    if item.status != RS.PENDING:
        raise DomainError(f"This review was already decided ({item.status}).", status=item.status)
    if item.task.status != TaskStatus.REVIEW or item.task.attempts != item.attempt:
        raise DomainError(
            f"Task {item.task_id} is no longer waiting for this review (it is {item.task.status}).",
            task_status=item.task.status,
        )
    return item


def _decide(item: ReviewItem, *, status: str, actor, comment: str = "", rule: ApprovalRule | None = None) -> None:
    item.status, item.comment, item.decided_at = status, comment, timezone.now()
    item.decided_by = actor if getattr(actor, "is_authenticated", False) else None
    item.decided_by_rule = rule


def _require_comment(comment: str) -> str:
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": "Say what is wrong: the comment is what the rework is based on."})
    return comment


@transaction.atomic
def review_approve(item: ReviewItem, *, actor, rule: ApprovalRule | None = None, comment: str = "") -> ReviewItem:
    item = _pending(item)
    _decide(item, status=RS.APPROVED, actor=actor, comment=comment, rule=rule)
    item.save()
    reason = f"Approved by rule “{rule.name}”." if rule else "Approved in review."
    task_services.task_transition(item.task, to=TaskStatus.DONE, actor=actor, reason=reason)
    _after(item, actor=actor, verb="approved", quality=learning.APPROVED)
    return item


@transaction.atomic
def review_reject(item: ReviewItem, *, actor, comment: str) -> ReviewItem:
    comment = _require_comment(comment)
    item = _pending(item)
    _decide(item, status=RS.REJECTED, actor=actor, comment=comment)
    original = item.task
    rework = _create_rework(original, comment=comment, actor=actor)
    item.rework_task = rework
    item.save()
    _repoint_dependents(original, rework, actor=actor)
    task_services.task_cancel(original, actor=actor, reason=f"Rejected in review; reworked as #{rework.pk}.")
    _after(item, actor=actor, verb="rejected", quality=learning.REJECTED)
    return item


@transaction.atomic
def review_request_changes(item: ReviewItem, *, actor, comment: str) -> ReviewItem:
    comment = _require_comment(comment)
    item = _pending(item)
    _decide(item, status=RS.CHANGES_REQUESTED, actor=actor, comment=comment)
    item.save()
    task = item.task
    task_services.task_update(task, actor=actor, **_with_comment(task, comment, heading="Changes requested"))
    task_services.task_transition(task, to=TaskStatus.READY, actor=actor, reason="Changes requested in review.")
    _after(item, actor=actor, verb="changes_requested", quality=learning.CHANGES_REQUESTED)
    return item


def _after(item: ReviewItem, *, actor, verb: str, quality: float) -> None:
    from autopilot.services.progress import close_finished_work

    _event(item, actor=actor, verb=verb)
    learning.learn_from_task(item.task, quality=quality, actor=actor)
    goal = item.task.goal or (item.task.milestone.goal if item.task.milestone_id else None)
    if goal is not None:
        close_finished_work(goal, actor=actor)


def _with_comment(task: Task, comment: str, *, heading: str) -> dict:
    """Description and metadata with the reviewer's comment; a shell task keeps its command runnable."""
    metadata = dict(task.metadata or {})
    if task.executor == "shell" and not metadata.get("command"):
        metadata["command"] = task.description
    metadata["review_comments"] = [*metadata.get("review_comments", []), comment]
    description = f"{task.description}\n\n{heading} in review:\n{comment}"
    return {"description": description, "metadata": metadata}


def _create_rework(original: Task, *, comment: str, actor) -> Task:
    fields = _with_comment(original, comment, heading="Rework requested")
    fields["metadata"]["rework_of"] = original.pk
    rework = task_services.task_create(
        actor=actor, project=original.project, goal=original.goal, milestone=original.milestone,
        feature=original.feature, bug=original.bug, title=f"Rework: {original.title}"[:300],
        executor=original.executor, priority=original.priority, estimate=original.estimate,
        skills=original.skills, repository=original.repository, branch=original.branch,
        working_dir=original.working_dir, environment=original.environment, timeout_seconds=original.timeout_seconds,
        max_attempts=original.max_attempts, status=TaskStatus.BACKLOG, depends_on=list(original.depends_on.all()),
        **fields,
    )  # fmt: skip
    link = RunTask.objects.filter(task=original).first()
    if link is not None:
        RunTask.objects.create(run=link.run, task=rework, ref=f"{link.ref}.rework{rework.pk}", plan=link.plan)
    else:
        task_services.task_queue(rework, actor=actor, reason="Rework after review.")
    return rework


def _repoint_dependents(original: Task, rework: Task, *, actor) -> None:
    """Tasks waiting for the rejected work now wait for its rework (so cancelling it blocks nothing)."""
    for dependent in original.dependents.all():
        depends_on = [rework if t.pk == original.pk else t for t in dependent.depends_on.all()]
        task_services.task_update(dependent, actor=actor, depends_on=depends_on)


@transaction.atomic
def close_pending_reviews(run: AutopilotRun, *, actor, comment: str) -> int:
    """Close a run's undecided reviews (its tasks were cancelled): no decision, no rework, no learning."""
    return _close(ReviewItem.objects.filter(run=run, status=RS.PENDING), actor=actor, comment=comment)


def close_outdated_reviews(*, actor="autopilot") -> int:
    """Close pending items whose task left review some other way (cancelled on the board, moved by the API…),
    so the queue only shows what a decision can still apply to."""
    pending = ReviewItem.objects.filter(status=RS.PENDING)
    moved = pending.exclude(task__status=TaskStatus.REVIEW, task__attempts=F("attempt"))
    ids = list(moved.values_list("pk", flat=True))
    if not ids:
        return 0  # the usual case: no write transaction (on SQLite that would take the database's write lock)
    with transaction.atomic():
        return _close(moved.filter(pk__in=ids), actor=actor, comment="The task moved on without a decision here.")


def _close(items, *, actor, comment: str) -> int:
    closed = 0
    for item in items.select_for_update().select_related("task"):
        _decide(item, status=RS.CLOSED, actor=actor, comment=comment)
        item.save()
        _event(item, actor=actor, verb="closed")
        closed += 1
    return closed
