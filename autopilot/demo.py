"""Demo data: a goal to hand to the autopilot, and one approval rule, for `make run`.

With the offline demo provider the goal is planned by the demo template (autopilot.planning.planner):
a shell check that prints the test marker (approved by the rule), an LLM write-up and a shell task
that wait for a person in /reviews/.
"""

from autopilot.services.rules import rule_create
from projects.models import Project
from projects.services import tracker

DEMO_GOAL = "Autopilot demo: add a health page"


def seed_autopilot_demo(actor):
    project = Project.objects.filter(slug="demo").first()
    if project is None:
        return None
    goal = tracker.goal_create(
        actor=actor, project=project, title=DEMO_GOAL, priority=7,
        description=(
            "Add a /health page that reports whether the app is up. Start it from /autopilot/: "
            "the plan waits for your approval, tasks move across the board, and results reach /reviews/."
        ),
    )  # fmt: skip
    rule_create(
        actor=actor, name="Shell checks whose tests pass", position=10, project=project, executor="shell",
        max_lines_changed=200, test_marker="TESTS PASSED",
    )  # fmt: skip
    return goal
