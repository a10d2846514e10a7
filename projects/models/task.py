from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from projects.models.base import SameProjectLinks, Timestamped


class TaskStatus(models.TextChoices):
    BACKLOG = "backlog"
    READY = "ready"
    CLAIMED = "claimed"
    RUNNING = "running"
    REVIEW = "review"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    BLOCKED = "blocked"


S = TaskStatus
# The only moves the services allow. Retrying a failed or cancelled task
# sends it back to ready; review may send it back for rework.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.BACKLOG: frozenset({S.READY, S.CANCELLED, S.BLOCKED}),
    S.READY: frozenset({S.BACKLOG, S.CLAIMED, S.CANCELLED, S.BLOCKED}),
    S.CLAIMED: frozenset({S.READY, S.RUNNING, S.FAILED, S.CANCELLED}),
    S.RUNNING: frozenset({S.READY, S.REVIEW, S.DONE, S.FAILED, S.CANCELLED}),
    S.REVIEW: frozenset({S.READY, S.DONE, S.FAILED, S.CANCELLED}),
    S.DONE: frozenset(),
    S.FAILED: frozenset({S.READY, S.BACKLOG}),
    S.CANCELLED: frozenset({S.READY, S.BACKLOG}),
    S.BLOCKED: frozenset({S.READY, S.BACKLOG, S.CANCELLED}),
}
ACTIVE_STATUSES = frozenset({S.CLAIMED, S.RUNNING})
FINISHED_STATUSES = frozenset({S.DONE, S.FAILED, S.CANCELLED})


class ExecutorKind(models.TextChoices):
    SHELL = "shell"
    LLM = "llm"
    AGENT = "agent"
    BROWSER = "browser"
    CRAWL = "crawl"
    PR_REVIEW = "pr_review", "PR review"
    EXTERNAL = "external", "External (pulled by an outside agent)"


class Task(SameProjectLinks, Timestamped):
    PROJECT_LINKS = ("goal", "milestone", "feature", "bug")

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="tasks")
    goal = models.ForeignKey("projects.Goal", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    milestone = models.ForeignKey(
        "projects.Milestone", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    feature = models.ForeignKey(
        "projects.Feature", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    bug = models.ForeignKey("projects.Bug", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")

    title = models.CharField(max_length=300)
    description = models.TextField(blank=True, help_text="What to do; the prompt for agent and LLM executors.")
    status = models.CharField(max_length=20, choices=TaskStatus.choices, default=TaskStatus.BACKLOG)
    priority = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(0), MaxValueValidator(10)], help_text="0–10, 10 most urgent."
    )
    executor = models.CharField(max_length=20, choices=ExecutorKind.choices, default=ExecutorKind.SHELL)
    skills = models.JSONField(default=list, blank=True, help_text='Labels a runner must have, e.g. ["python"].')
    estimate = models.PositiveIntegerField(default=1, help_text="Relative size; weights milestone progress.")

    # Where and how to run: recorded on every attempt.
    repository = models.CharField(max_length=500, blank=True)
    branch = models.CharField(max_length=200, blank=True)
    base_commit = models.CharField(max_length=64, blank=True)
    working_dir = models.CharField(max_length=500, blank=True)
    environment = models.JSONField(default=dict, blank=True, help_text="Non-secret environment variables.")
    metadata = models.JSONField(default=dict, blank=True)

    depends_on = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="dependents")

    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=3, validators=[MinValueValidator(1)])
    timeout_seconds = models.PositiveIntegerField(default=3600, validators=[MinValueValidator(1)])
    not_before = models.DateTimeField(null=True, blank=True, help_text="Earliest start (also used for retry backoff).")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tasks"
    )
    claimed_by = models.CharField(max_length=200, blank=True, help_text="Runner holding the lease.")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # New on every claim: a runner's heartbeats and results count only while the token is still the task's.
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    blocked_reason = models.TextField(blank=True)
    # The status a task had when a failed dependency blocked it, restored when that dependency is retried.
    blocked_from = models.CharField(max_length=20, blank=True, editable=False)
    progress = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)], help_text="0–100, reported by the runner."
    )
    progress_note = models.CharField(max_length=500, blank=True)
    last_error = models.TextField(blank=True)

    result = models.TextField(blank=True)
    result_data = models.JSONField(default=dict, blank=True, help_text="Exit status, commit, diff, duration…")
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))

    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-priority", "created_at", "id"]
        indexes = [
            # The claim query (projects.engine.claim.claim_next): WHERE status='ready' AND executor IN (…)
            # ORDER BY priority DESC, created_at, id LIMIT 1. Partial, so it holds only the queue itself and
            # the claimer walks it in claim order, stopping at the first claimable row.
            models.Index(
                fields=["-priority", "created_at", "id"],
                name="task_claim_idx",
                condition=models.Q(status="ready"),
            ),
            # The lease reaper: claimed/running tasks whose lease has expired.
            models.Index(fields=["status", "lease_expires_at"], name="task_lease_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(priority__lte=10), name="task_priority_0_10"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def allowed_transitions(self) -> list[str]:
        return sorted(TRANSITIONS[self.status])


class TaskAttempt(models.Model):
    """One run of a task by one runner: what happened and what it printed."""

    class Outcome(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        TIMED_OUT = "timed_out"
        LEASE_EXPIRED = "lease_expired"
        CANCELLED = "cancelled"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="attempt_set")
    number = models.PositiveIntegerField()
    runner = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.RUNNING)
    error = models.TextField(blank=True)
    log = models.TextField(blank=True)
    exit_status = models.IntegerField(null=True, blank=True)
    context = models.JSONField(default=dict, blank=True, help_text="Repository, branch, commit, workdir used.")
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))
    duration_seconds = models.FloatField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["task", "number"]
        constraints = [models.UniqueConstraint(fields=["task", "number"], name="unique_attempt_number")]

    def __str__(self) -> str:
        return f"{self.task_id}#{self.number}"
