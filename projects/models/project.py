from django.conf import settings
from django.db import models

from projects.models.base import Timestamped


class Project(Timestamped):
    class Status(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"
        ARCHIVED = "archived"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    repository = models.CharField(max_length=500, blank=True, help_text="Local path or URL of the git repository.")
    default_branch = models.CharField(max_length=200, default="main")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_projects"
    )
    agents = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="agent_projects",
        help_text="Agent accounts that may work on this project.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
