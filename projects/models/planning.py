"""The planning objects around tasks: goals, milestones, features and bugs."""

from django.db import models

from projects.models.base import SameProjectLinks, Timestamped


class WorkStatus(models.TextChoices):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class Goal(Timestamped):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="goals")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=WorkStatus.choices, default=WorkStatus.OPEN)
    priority = models.PositiveSmallIntegerField(default=5)
    target_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-priority", "id"]

    def __str__(self) -> str:
        return self.title


class Milestone(SameProjectLinks, Timestamped):
    PROJECT_LINKS = ("goal",)

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="milestones")
    goal = models.ForeignKey(Goal, null=True, blank=True, on_delete=models.SET_NULL, related_name="milestones")
    title = models.CharField(max_length=300)
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=WorkStatus.choices, default=WorkStatus.OPEN)

    class Meta:
        ordering = ["due_date", "id"]

    def __str__(self) -> str:
        return self.title


class Feature(SameProjectLinks, Timestamped):
    PROJECT_LINKS = ("milestone",)

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="features")
    milestone = models.ForeignKey(Milestone, null=True, blank=True, on_delete=models.SET_NULL, related_name="features")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=WorkStatus.choices, default=WorkStatus.OPEN)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title


class Bug(SameProjectLinks, Timestamped):
    PROJECT_LINKS = ("feature",)

    class Severity(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"
        CRITICAL = "critical"

    class Status(models.TextChoices):
        OPEN = "open"
        CONFIRMED = "confirmed"
        IN_PROGRESS = "in_progress"
        FIXED = "fixed"
        CLOSED = "closed"
        WONT_FIX = "wont_fix"

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="bugs")
    feature = models.ForeignKey(Feature, null=True, blank=True, on_delete=models.SET_NULL, related_name="bugs")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    steps_to_reproduce = models.TextField(blank=True)
    environment = models.TextField(blank=True)
    reported_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="reported_bugs"
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.title
