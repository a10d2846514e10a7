"""Small builders for tracker rows, through the services like real writes."""

from django.conf import settings
from django.db import connection

from projects.models import Bug, Feature, Goal, Milestone, Secret, Task, TaskStatus
from projects.services import tasks as task_services
from projects.services import tracker


def make_goal(project, **fields) -> Goal:
    return tracker.goal_create(actor="test", project=project, title=fields.pop("title", "A goal"), **fields)


def make_milestone(project, **fields) -> Milestone:
    return tracker.milestone_create(actor="test", project=project, title=fields.pop("title", "M1"), **fields)


def make_feature(project, **fields) -> Feature:
    return tracker.feature_create(actor="test", project=project, title=fields.pop("title", "F1"), **fields)


def make_bug(project, **fields) -> Bug:
    return tracker.bug_create(actor="test", project=project, title=fields.pop("title", "B1"), **fields)


def make_task(project, **fields) -> Task:
    return task_services.task_create(actor="test", project=project, title=fields.pop("title", "T1"), **fields)


def make_secret(project=None, **fields) -> Secret:
    return tracker.tracker_create(
        Secret,
        actor="test",
        fields={"name": fields.pop("name", "API_KEY"), "project": project, "value": fields.pop("value", "s3cret")},
    )


def bulk_ready_tasks(project, count: int, **fields) -> list[int]:
    """COUNT ready tasks in one bulk insert (no events), for load and concurrency tests."""
    fields.setdefault("executor", "shell")
    rows = [Task(project=project, title=f"t{i}", status=TaskStatus.READY, **fields) for i in range(count)]
    Task.objects.bulk_create(rows, batch_size=500)
    with connection.cursor() as cursor:
        # Fresh planner statistics after a bulk load, as autovacuum would give a live server.
        cursor.execute("ANALYZE projects_task" if settings.IS_POSTGRES else "ANALYZE")
    return list(Task.objects.filter(project=project).values_list("id", flat=True))
