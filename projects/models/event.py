from django.conf import settings
from django.db import models


class Event(models.Model):
    """The outbox and activity stream: one row per change, written with the change.

    Ids only grow, so clients resume with the last id they saw.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True, help_text="Who acted when no user did.")
    type = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["project", "id"], name="event_project_idx")]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"

    def as_message(self) -> dict:
        """The JSON message sent to websocket clients and returned by the API."""
        return {
            "id": self.id,
            "type": self.type,
            "time": self.created_at.isoformat(),
            "actor": self.actor_label,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "project": self.project_id,
            "payload": self.payload,
        }
