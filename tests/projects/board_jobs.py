"""A django-q2 job for the live-board tests: a worker process commits a task change."""


def create_task(project_id: int, title: str) -> int:
    from projects.models import Project
    from projects.services.tasks import task_create

    return task_create(actor="worker", project=Project.objects.get(pk=project_id), title=title).pk
