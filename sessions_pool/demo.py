"""Demo data: an agent task the `bash` profile's sessions pick up from the queue."""

from projects.models import Project, TaskStatus
from projects.services import tasks as task_services


def seed_sessions(actor) -> None:
    project = Project.objects.filter(slug="demo").first()
    if project is None:
        return
    task_services.task_create(
        actor=actor, project=project, title="Say hello from an agent session", executor="agent",
        description="echo 'Hello from an Architect session' && uname -a", priority=7, status=TaskStatus.READY,
        metadata={"agent_profile": "bash"},
    )  # fmt: skip
