"""Autopilot data: runs of goals, their plans, the tasks they created, reviews and approval rules.

Everything the run loop needs to carry on lives in these rows, so a restart of
every process resumes each run from where the database says it is.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from projects.models import ExecutorKind
from projects.models.base import Timestamped


class RunStatus(models.TextChoices):
    PLANNING = "planning"
    AWAITING_APPROVAL = "awaiting_approval", "awaiting approval"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    ABORTED = "aborted"


R = RunStatus
# The moves the services allow; finished runs stay finished (start a new run or re-plan instead).
RUN_TRANSITIONS: dict[str, frozenset[str]] = {
    R.PLANNING: frozenset({R.AWAITING_APPROVAL, R.RUNNING, R.FAILED, R.ABORTED}),
    R.AWAITING_APPROVAL: frozenset({R.RUNNING, R.PLANNING, R.ABORTED}),
    R.RUNNING: frozenset({R.PAUSED, R.COMPLETED, R.FAILED, R.ABORTED}),
    R.PAUSED: frozenset({R.RUNNING, R.PLANNING, R.ABORTED}),
    R.COMPLETED: frozenset(),
    R.FAILED: frozenset({R.PLANNING, R.RUNNING}),  # re-plan, or resume after a failed task was retried
    R.ABORTED: frozenset(),
}
ACTIVE_RUN_STATUSES = frozenset({R.PLANNING, R.AWAITING_APPROVAL, R.RUNNING, R.PAUSED})


class AutopilotRun(Timestamped):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="autopilot_runs")
    goal = models.ForeignKey("projects.Goal", on_delete=models.CASCADE, related_name="autopilot_runs")
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.PLANNING)
    reason = models.TextField(blank=True, help_text="Why the run stopped, paused or failed.")
    budget_cap = models.DecimalField(
        "budget cap (USD)", max_digits=14, decimal_places=6, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="The run stops when its planning and task costs reach this; blank = no cap.",
    )  # fmt: skip
    parallelism = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(50)], help_text="Tasks queued at once."
    )
    auto_approve_plan = models.BooleanField(
        default=False, help_text="Accept the plan without a person (policy); otherwise it waits for approval."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="autopilot_runs"
    )
    # The loop that is planning this run holds it until then, so two loops never plan it twice.
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)
    locked_by = models.CharField(max_length=200, blank=True, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The run loop's scan: runs in planning / running (autopilot.loop.RunLoop.step).
            models.Index(fields=["status", "id"], name="autopilot_run_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk}: {self.goal}"

    def clean(self):
        super().clean()
        if self.goal_id and self.project_id and self.goal.project_id != self.project_id:
            raise ValidationError({"goal": "The goal belongs to another project."})

    @property
    def allowed_transitions(self) -> list[str]:
        return sorted(RUN_TRANSITIONS[self.status])

    @property
    def current_plan(self):
        return self.plans.order_by("-number").first()


class Plan(models.Model):
    """One answer of the planner: the JSON plan, or why it was refused."""

    class Status(models.TextChoices):
        INVALID = "invalid"
        PROPOSED = "proposed"
        APPROVED = "approved"
        SUPERSEDED = "superseded"

    run = models.ForeignKey(AutopilotRun, on_delete=models.CASCADE, related_name="plans")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROPOSED)
    data = models.JSONField(default=dict, blank=True, help_text="The plan (milestones and tasks).")
    raw = models.TextField(blank=True, help_text="The planner's answer as received.")
    errors = models.JSONField(default=list, blank=True, help_text="Validation errors, when invalid.")
    source = models.CharField(max_length=100, blank=True, help_text="Model that wrote it, or the demo template.")
    request_id = models.UUIDField(null=True, blank=True, help_text="The routed request (its calls are in the ledger).")
    cost = models.DecimalField(max_digits=14, decimal_places=8, default=Decimal("0"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="unique_plan_number")]

    def __str__(self) -> str:
        return f"Plan {self.run_id}.{self.number} ({self.status})"


class RunTask(models.Model):
    """A task a run created from its plan, under the plan's reference for it (t1, t2…)."""

    run = models.ForeignKey(AutopilotRun, on_delete=models.CASCADE, related_name="run_tasks")
    task = models.OneToOneField("projects.Task", on_delete=models.CASCADE, related_name="autopilot_link")
    ref = models.CharField(max_length=100)
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["run", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "ref"], name="unique_run_task_ref")]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.ref}"


class ApprovalRule(Timestamped):
    """Conditions under which a review is approved without a person; the first enabled match wins.

    Every condition left blank matches anything; a rule with no condition at all is refused,
    because it would approve everything.
    """

    name = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=100, help_text="Rules are tried in ascending order.")
    enabled = models.BooleanField(default=True)
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="approval_rules",
        help_text="Only this project's reviews; blank = every project.",
    )  # fmt: skip
    executor = models.CharField(max_length=20, choices=ExecutorKind.choices, blank=True)
    max_cost = models.DecimalField(
        "cost at most (USD)", max_digits=12, decimal_places=6, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )  # fmt: skip
    max_lines_changed = models.PositiveIntegerField("lines changed at most", null=True, blank=True)
    test_marker = models.CharField(
        max_length=200, blank=True, help_text='Text the result must contain, e.g. "TESTS PASSED".'
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        super().clean()
        conditions = (self.project_id, self.executor, self.max_cost, self.max_lines_changed, self.test_marker)
        if all(value in (None, "") for value in conditions):
            raise ValidationError("Give at least one condition: a rule without any would approve every review.")


class ReviewItem(Timestamped):
    """A finished attempt waiting for (or given) a verdict: what it produced, what it cost, its log."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"
        CHANGES_REQUESTED = "changes_requested", "changes requested"
        CLOSED = "closed", "closed (the task moved on without a decision here)"

    task = models.ForeignKey("projects.Task", on_delete=models.CASCADE, related_name="review_items")
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="review_items")
    run = models.ForeignKey(AutopilotRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="review_items")
    attempt = models.PositiveIntegerField(help_text="The task's attempt this review is about.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    result = models.TextField(blank=True)
    diff = models.TextField(blank=True)
    diff_stat = models.TextField(blank=True)
    log = models.TextField(blank=True, help_text="The end of the attempt's log.")
    cost = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))
    lines_changed = models.PositiveIntegerField(default=0)
    executor = models.CharField(max_length=20, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="review_decisions"
    )
    decided_by_rule = models.ForeignKey(
        ApprovalRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="approved_items"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)
    rework_task = models.ForeignKey(
        "projects.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="rework_of_reviews"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["task", "attempt"], name="unique_review_per_attempt")]
        indexes = [
            # The queue: pending items, oldest first (/reviews/ and the API's default filter).
            models.Index(fields=["status", "id"], name="review_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Review of task {self.task_id} attempt {self.attempt}"

    @property
    def decided_by_label(self) -> str:
        if self.decided_by_rule_id:
            return f"rule: {self.decided_by_rule}"
        return self.decided_by.get_username() if self.decided_by_id else ""
