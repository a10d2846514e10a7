from django.db import models
from encrypted_model_fields.fields import EncryptedTextField

from projects.models.base import Timestamped


class Secret(Timestamped):
    """A credential, encrypted at rest; global when it has no project."""

    name = models.CharField(max_length=200)
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="secrets"
    )
    value = EncryptedTextField()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(project__isnull=True), name="unique_global_secret_name"
            ),
            models.UniqueConstraint(fields=["project", "name"], name="unique_project_secret_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scope(self) -> str:
        return "project" if self.project_id else "global"
