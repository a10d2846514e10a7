"""The whole autopilot through the provider emulator: plan, approve, run shell and llm tasks, review
(by a rule and by people), rework, budget cap, and carrying on with a fresh loop."""

from decimal import Decimal

import pytest

from autopilot.loop import RunLoop
from autopilot.models import ApprovalRule, AutopilotRun, Plan, ReviewItem
from llmrouting.models import LLMCall, RoutingOutcome
from projects.models import Event, Task, TaskStatus
from tests.autopilot.conftest import EMULATED, drive, plan_json, run_ready_tasks, task_json
from tests.conftest import token_client

pytestmark = pytest.mark.django_db(transaction=True)


def _start(client, goal, **extra):
    response = client.post("/api/autopilot/runs/", {"goal": goal.pk, **extra}, format="json")
    assert response.status_code == 201, response.content
    return AutopilotRun.objects.get(pk=response.json()["id"])


def test_goal_to_reviewed_work(emulator, deployment, goal, maintainer, project):
    client = token_client(maintainer)
    ApprovalRule.objects.create(
        name="passing shell checks", executor="shell", test_marker="TESTS PASSED", max_lines_changed=50
    )
    plan = plan_json(
        task_json("t1", prompt="echo 'TESTS PASSED'"),
        task_json("t2", executor="llm", prompt="Describe the health page in one line.", depends_on=["t1"], estimate=2),
        task_json("t3", prompt="echo shipped", depends_on=["t2"], milestone="m2", estimate=3),
        milestones=[{"ref": "m1", "title": "Build"}, {"ref": "m2", "title": "Ship"}],
    )
    emulator.set_reply(plan, model=EMULATED, times=1)

    run = _start(client, goal, budget_cap="5.00")
    assert run.status == "planning"
    loop = RunLoop()
    loop.step()
    run.refresh_from_db()
    assert run.status == "awaiting_approval", run.reason
    assert Task.objects.filter(goal=goal).count() == 0  # nothing is created before approval
    planning_call = LLMCall.objects.get(kind="autopilot.plan")
    assert planning_call.project_id == project.pk and planning_call.cost > 0
    assert "Add a health page" in emulator.requests[0]["body"]["messages"][-1]["content"]

    response = client.post(f"/api/autopilot/runs/{run.pk}/approve/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "running"
    tasks = {t.autopilot_link.ref: t for t in Task.objects.filter(goal=goal)}
    assert set(tasks) == {"t1", "t2", "t3"}
    assert list(tasks["t2"].depends_on.all()) == [tasks["t1"]]

    # Dependency order: only t1 can start; it passes its tests, so the rule approves it.
    loop.step()
    assert set(Task.objects.filter(goal=goal, status="ready").values_list("pk", flat=True)) == {tasks["t1"].pk}
    drive(loop)
    t1_review = ReviewItem.objects.get(task=tasks["t1"])
    assert t1_review.status == "approved" and t1_review.decided_by_rule.name == "passing shell checks"
    assert t1_review.decided_by is None

    # t2 ran on the llm executor and waits for a person.
    t2_review = ReviewItem.objects.get(task=tasks["t2"])
    assert t2_review.status == "pending" and t2_review.executor == "llm"
    assert t2_review.result == f"emulated reply from {EMULATED}"
    assert t2_review.cost > 0
    assert Task.objects.get(pk=tasks["t3"].pk).status == "backlog"
    response = client.post(f"/api/reviews/{t2_review.pk}/approve/", {"comment": "good"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["decided_by"] == maintainer.username
    assert Task.objects.get(pk=tasks["t2"].pk).status == "done"
    # The learning hook: the approval reached the router's outcome table for the call's deployment.
    outcome = RoutingOutcome.objects.get(task=tasks["t2"])
    assert outcome.quality == 1.0 and outcome.deployment_id == deployment.pk

    # t3 is rejected: a linked rework task carries the comment; the original is closed.
    drive(loop)
    t3_review = ReviewItem.objects.get(task=tasks["t3"])
    assert t3_review.status == "pending"  # "shipped" has no test marker: the rule does not match
    response = client.post(f"/api/reviews/{t3_review.pk}/reject/", {"comment": "Print the version too."}, format="json")
    assert response.status_code == 200, response.content
    rework = Task.objects.get(pk=response.json()["rework_task"])
    assert "Print the version too." in rework.description
    assert rework.metadata["rework_of"] == tasks["t3"].pk and rework.metadata["command"] == "echo shipped"
    assert Task.objects.get(pk=tasks["t3"].pk).status == "cancelled"
    assert rework.autopilot_link.run_id == run.pk

    drive(loop)
    rework_review = ReviewItem.objects.get(task=rework)
    assert "shipped" in rework_review.result
    client.post(f"/api/reviews/{rework_review.pk}/approve/", format="json")
    drive(loop)

    run.refresh_from_db()
    assert run.status == "completed", run.reason
    goal.refresh_from_db()
    assert goal.status == "done"
    assert set(goal.milestones.values_list("status", flat=True)) == {"done"}
    progress = client.get(f"/api/autopilot/goals/{goal.pk}/").json()
    assert progress["progress"] == 1.0 and progress["done"] == 1 + 2 + 3  # the rejected t3 does not count
    types = set(Event.objects.values_list("type", flat=True))
    assert {
        "autopilot.run.started",
        "autopilot.run.planned",
        "autopilot.run.approved",
        "autopilot.run.completed",
        "review.created",
        "review.approved",
        "review.rejected",
    } <= types


def test_budget_cap_stops_the_run(emulator, deployment, goal, maintainer):
    client = token_client(maintainer)
    emulator.set_reply(
        plan_json(task_json("t1", executor="llm", prompt="Say hi."), task_json("t2", prompt="echo b")),
        model=EMULATED,
        times=1,
    )
    run = _start(client, goal, budget_cap="0.000001", auto_approve_plan=True)
    drive()
    run.refresh_from_db()
    assert run.status == "paused"
    assert run.reason.startswith("Budget cap reached: $")
    assert not Task.objects.filter(goal=goal).exclude(status="backlog").exists()  # nothing was started
    response = client.post(f"/api/autopilot/runs/{run.pk}/resume/")
    assert response.status_code == 409 and "Raise the run's budget cap" in response.json()["detail"]

    assert client.patch(f"/api/autopilot/runs/{run.pk}/", {"budget_cap": "10"}, format="json").status_code == 200
    assert client.post(f"/api/autopilot/runs/{run.pk}/resume/").status_code == 200
    drive()
    assert set(Task.objects.filter(goal=goal).values_list("status", flat=True)) == {"review"}


def test_budget_cap_stops_a_run_in_the_middle(emulator, deployment, goal, maintainer):
    """Spend of a finished llm task pushes the run over its cap: the next task is not started."""
    client = token_client(maintainer)
    emulator.set_reply(
        plan_json(
            task_json("t1", executor="llm", prompt="Say hi."), task_json("t2", prompt="echo b", depends_on=["t1"])
        ),
        model=EMULATED,
        times=1,
    )
    run = _start(client, goal, auto_approve_plan=True)
    RunLoop().run_until_idle()
    run.refresh_from_db()
    planning_cost = Plan.objects.get(run=run).cost
    AutopilotRun.objects.filter(pk=run.pk).update(budget_cap=planning_cost + Decimal("0.000001"))
    loop = drive()
    assert ReviewItem.objects.get(task__autopilot_link__ref="t1").status == "pending"
    client.post(f"/api/reviews/{ReviewItem.objects.get().pk}/approve/")
    drive(loop)
    run.refresh_from_db()
    assert run.status == "paused" and "Budget cap reached" in run.reason
    assert Task.objects.get(autopilot_link__ref="t2").status == "backlog"


def test_a_fresh_loop_carries_on_after_a_restart(emulator, deployment, goal, maintainer):
    """All state is in the database: a new loop (as after restarting every process) resumes the run."""
    client = token_client(maintainer)
    ApprovalRule.objects.create(name="all shell", executor="shell")
    emulator.set_reply(
        plan_json(task_json("t1"), task_json("t2", depends_on=["t1"]), task_json("t3", depends_on=["t2"])),
        model=EMULATED,
        times=1,
    )
    run = _start(client, goal, auto_approve_plan=True)
    first = RunLoop()
    first.run_until_idle()
    run_ready_tasks()
    first.run_until_idle()
    del first  # "killed": nothing of it survives
    assert Task.objects.get(autopilot_link__ref="t1").status == TaskStatus.DONE
    assert Task.objects.get(autopilot_link__ref="t3").status == TaskStatus.BACKLOG
    drive(RunLoop())
    run.refresh_from_db()
    assert run.status == "completed"
    assert ReviewItem.objects.filter(status="approved", decided_by_rule__name="all shell").count() == 3


def test_demo_goal_runs_offline_to_the_review_queue(admin_user, seeded_providers):
    """`make run`'s demo: the offline demo provider, the template plan, one rule-approved check."""
    from projects.demo import seed_demo
    from projects.models import Goal

    seed_demo(admin_user)
    goal = Goal.objects.get(title__startswith="Autopilot demo")
    client = token_client(admin_user)
    run = _start(client, goal, budget_cap="1.00")
    loop = drive()
    run.refresh_from_db()
    assert run.status == "awaiting_approval", run.reason
    client.post(f"/api/autopilot/runs/{run.pk}/approve/")
    drive(loop)
    items = {item.task.autopilot_link.ref: item for item in ReviewItem.objects.filter(run=run)}
    assert items["t1"].status == "approved" and items["t1"].decided_by_rule is not None
    assert items["t2"].status == "pending" and "[simulated by demo/" in items["t2"].result
    client.post(f"/api/reviews/{items['t2'].pk}/approve/")
    drive(loop)
    t3 = ReviewItem.objects.get(run=run, task__autopilot_link__ref="t3")
    client.post(f"/api/reviews/{t3.pk}/approve/")
    drive(loop)
    run.refresh_from_db()
    assert run.status == "completed" and LLMCall.objects.filter(simulated=True).exists()
