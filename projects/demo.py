"""Demo data for a first look; later apps add theirs through DEMO_SEEDERS."""

from django.db import transaction

from projects.models import Project, TaskStatus
from projects.services import tasks as task_services
from projects.services import tracker


def seed_tracker(actor) -> Project:
    project = tracker.project_create(
        actor=actor,
        name="Demo: todo app",
        slug="demo",
        description="A small web app used to show Architect's board, queue and routing.",
        default_branch="main",
    )
    goal = tracker.goal_create(actor=actor, project=project, title="Ship version 1", priority=8)
    milestone = tracker.milestone_create(actor=actor, project=project, goal=goal, title="Core features")
    feature = tracker.feature_create(actor=actor, project=project, milestone=milestone, title="Task list")
    bug = tracker.bug_create(
        actor=actor, project=project, feature=feature, title="Empty list shows an error", severity="high"
    )
    setup = task_services.task_create(
        actor=actor, project=project, milestone=milestone, title="Print the environment", executor="shell",
        description="env | sort | head -20", priority=6, status=TaskStatus.BACKLOG,
    )  # fmt: skip
    task_services.task_create(
        actor=actor, project=project, milestone=milestone, feature=feature, title="List the repository files",
        description="ls -la", executor="shell", priority=5, depends_on=[setup],
    )  # fmt: skip
    task_services.task_create(
        actor=actor, project=project, bug=bug, title="Fix the empty-list error", executor="agent",
        description="Show 'No tasks yet' instead of an error when the list is empty.", priority=9,
    )  # fmt: skip
    return project


DEMO_SEEDERS = [seed_tracker]


@transaction.atomic
def seed_demo(actor) -> list:
    return [seeder(actor) for seeder in DEMO_SEEDERS]
