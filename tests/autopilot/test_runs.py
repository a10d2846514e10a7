"""Run controls through the API and the admin, permissions, progress and self-closing, the demo."""

import pytest

from autopilot.loop import RunLoop
from autopilot.models import ApprovalRule, AutopilotRun
from autopilot.selectors import goal_progress, milestone_progress
from autopilot.services import runs
from autopilot.services.progress import close_all_finished_work
from projects.demo import seed_demo
from projects.models import Goal, Milestone, Task
from tests.autopilot.conftest import EMULATED, plan_json, task_json


@pytest.fixture
def planned(emulator, deployment, goal, maintainer):
    """A run whose plan (t1, t2 after t1, t3) waits for approval."""
    emulator.set_reply(plan_json(task_json("t1"), task_json("t2", depends_on=["t1"]), task_json("t3")),
                       model=EMULATED, times=1)  # fmt: skip
    run = runs.run_start(actor=maintainer, goal=goal, parallelism=5)
    RunLoop().step()
    run.refresh_from_db()
    assert run.status == "awaiting_approval"
    return run


def test_start_validates_input_and_refuses_a_second_active_run(clients, goal, other_project):
    foreign = Goal.objects.create(project=other_project, title="Theirs")
    client = clients["maintainer"]
    assert client.post("/api/autopilot/runs/", {}, format="json").status_code == 400
    bad = client.post("/api/autopilot/runs/", {"goal": goal.pk, "budget_cap": "-1"}, format="json")
    assert bad.status_code == 400 and "budget_cap" in bad.json()
    assert client.post("/api/autopilot/runs/start/", {"goal": goal.pk}, format="json").status_code == 201
    again = client.post("/api/autopilot/runs/start/", {"goal": goal.pk}, format="json")
    assert again.status_code == 409 and "already has an active run" in again.json()["detail"]
    assert clients["viewer"].post("/api/autopilot/runs/", {"goal": foreign.pk}, format="json").status_code == 403
    assert clients["agent"].post("/api/autopilot/runs/", {"goal": goal.pk}, format="json").status_code == 403


def test_approve_pause_resume_abort(clients, planned):
    client = clients["maintainer"]
    url = f"/api/autopilot/runs/{planned.pk}"
    assert client.post(f"{url}/pause/").status_code == 409  # not running yet
    detail = client.post(f"{url}/approve/").json()
    assert detail["status"] == "running" and len(detail["tasks"]) == 3
    assert client.post(f"{url}/approve/").status_code == 409
    RunLoop().step()  # t1 and t3 have no dependencies: both queued
    assert set(Task.objects.filter(status="ready").values_list("autopilot_link__ref", flat=True)) == {"t1", "t3"}

    paused = client.post(f"{url}/pause/", {"reason": "lunch"}, format="json").json()
    assert paused["status"] == "paused" and paused["reason"] == "lunch"
    assert not Task.objects.filter(status="ready").exists()  # queued work went back to the backlog
    RunLoop().step()
    assert not Task.objects.filter(status="ready").exists()  # and a paused run queues nothing
    assert client.post(f"{url}/resume/").json()["status"] == "running"

    aborted = client.post(f"{url}/abort/").json()
    assert aborted["status"] == "aborted"
    assert set(Task.objects.values_list("status", flat=True)) == {"cancelled"}
    assert client.post(f"{url}/resume/").status_code == 409


def test_viewers_read_runs_agents_only_their_projects(clients, planned, other_project):
    AutopilotRun.objects.create(project=other_project, goal=Goal.objects.create(project=other_project, title="B"))
    assert clients["viewer"].get("/api/autopilot/runs/").json()["count"] == 2
    assert clients["agent"].get("/api/autopilot/runs/").json()["count"] == 1
    assert clients["viewer"].post(f"/api/autopilot/runs/{planned.pk}/approve/").status_code == 403
    assert clients["agent"].post(f"/api/autopilot/runs/{planned.pk}/abort/").status_code == 403
    detail = clients["viewer"].get(f"/api/autopilot/runs/{planned.pk}/").json()
    assert detail["plans"][0]["status"] == "proposed" and detail["plans"][0]["data"]["tasks"][0]["ref"] == "t1"


def test_admin_actions_go_through_the_services(admin_user, client, planned):
    client.force_login(admin_user)
    response = client.post(
        "/admin/autopilot/autopilotrun/", {"action": "approve_plan", "_selected_action": [planned.pk]}
    )
    assert response.status_code == 302
    planned.refresh_from_db()
    assert planned.status == "running"
    client.post("/admin/autopilot/autopilotrun/", {"action": "pause", "_selected_action": [planned.pk]})
    planned.refresh_from_db()
    assert planned.status == "paused"
    assert client.get(f"/admin/autopilot/autopilotrun/{planned.pk}/change/").status_code == 200
    assert client.get("/admin/autopilot/reviewitem/").status_code == 200
    assert client.get("/admin/autopilot/approvalrule/").status_code == 200
    assert client.get("/admin/autopilot/plan/").status_code == 200
    assert client.get("/admin/autopilot/runtask/").status_code == 200


def test_failed_task_fails_the_run_with_the_reason(emulator, deployment, goal, maintainer):
    emulator.set_reply(plan_json(task_json("t1", prompt="exit 3"), task_json("t2", depends_on=["t1"])),
                       model=EMULATED, times=1)  # fmt: skip
    run = runs.run_start(actor=maintainer, goal=goal, auto_approve_plan=True)
    loop = RunLoop()
    loop.run_until_idle()
    t1 = Task.objects.get(autopilot_link__ref="t1")
    Task.objects.filter(pk=t1.pk).update(max_attempts=1)
    from tests.autopilot.conftest import run_ready_tasks

    run_ready_tasks()
    loop.run_until_idle()
    run.refresh_from_db()
    assert run.status == "failed"
    assert f"#{t1.pk}" in run.reason and "Exit status 3" in run.reason and "blocked" in run.reason


def test_progress_is_weighted_and_closes_milestones_and_goals(project, goal):
    first = Milestone.objects.create(project=project, goal=goal, title="One")
    second = Milestone.objects.create(project=project, goal=goal, title="Two")
    Task.objects.create(project=project, goal=goal, milestone=first, title="a", estimate=1, status="done")
    big = Task.objects.create(project=project, goal=goal, milestone=first, title="b", estimate=3, status="running")
    Task.objects.create(project=project, goal=goal, milestone=second, title="c", estimate=4, status="done")
    Task.objects.create(project=project, goal=goal, milestone=second, title="x", estimate=9, status="cancelled")
    assert goal_progress(goal).ratio == 0.625  # (1 + 4) / (1 + 3 + 4): cancelled work does not count
    assert milestone_progress(first).ratio == 0.25
    assert close_all_finished_work() == 1  # "Two" is finished; "One" and the goal are not
    assert Milestone.objects.get(pk=second.pk).status == "done" and Goal.objects.get(pk=goal.pk).status == "open"
    Task.objects.filter(pk=big.pk).update(status="done")
    assert close_all_finished_work() == 2
    assert Milestone.objects.get(pk=first.pk).status == "done" and Goal.objects.get(pk=goal.pk).status == "done"


def test_goal_progress_api(clients, project, goal):
    milestone = Milestone.objects.create(project=project, goal=goal, title="M")
    Task.objects.create(project=project, goal=goal, milestone=milestone, title="a", estimate=2, status="done")
    Task.objects.create(project=project, goal=goal, milestone=milestone, title="b", estimate=2)
    rows = clients["viewer"].get("/api/autopilot/goals/").json()["results"]
    assert rows[0]["progress"] == 0.5 and rows[0]["milestones"][0]["progress"] == 0.5


def test_pages_render(maintainer, client, planned):
    client.force_login(maintainer)
    home = client.get("/autopilot/").content.decode()
    assert "Add a health page" in home and "run active" in home
    page = client.get(f"/autopilot/runs/{planned.pk}/").content.decode()
    assert "Approve plan" in page and "Task t1" in page
    assert client.get("/autopilot/runs/999999/").status_code == 404


def test_demo_seed_gives_a_goal_to_run_and_a_rule(admin_user):
    seed_demo(admin_user)
    goal = Goal.objects.get(title__startswith="Autopilot demo")
    rule = ApprovalRule.objects.get(project=goal.project)
    assert rule.executor == "shell" and rule.test_marker == "TESTS PASSED"


def test_bad_input_is_a_clear_400(clients, planned):
    client = clients["maintainer"]
    assert client.post("/api/autopilot/runs/", {"goal": "abc"}, format="json").status_code == 400
    assert client.post("/api/autopilot/runs/", {"goal": 999999}, format="json").status_code == 400
    url = f"/api/autopilot/runs/{planned.pk}/"
    assert "parallelism" in client.patch(url, {"parallelism": 0}, format="json").json()
    assert "budget_cap" in client.patch(url, {"budget_cap": "lots"}, format="json").json()
    assert client.post("/api/reviews/999999/approve/").status_code == 404


def test_plan_kind_reaches_the_llm_executor_hints(maintainer, planned):
    from autopilot.models import Plan

    plan = Plan.objects.get(run=planned)
    plan.data["tasks"][0]["kind"] = "docs"
    plan.save()
    runs.run_approve(planned, actor=maintainer)
    task = Task.objects.get(autopilot_link__ref="t1")
    assert task.metadata["llm"] == {"kind": "autopilot.docs"} and task.metadata["autopilot"]["ref"] == "t1"


def test_admin_starts_a_run_from_a_goal(admin_user, client, goal):
    client.force_login(admin_user)
    response = client.post("/admin/autopilot/autopilotrun/add/", {"goal": goal.pk, "budget_cap": "2", "parallelism": 3})
    assert response.status_code == 302, response.content.decode()[:2000]
    run = AutopilotRun.objects.get()
    assert (run.project_id, run.status, run.parallelism, run.created_by) == (goal.project_id, "planning", 3, admin_user)


def test_lists_use_a_constant_number_of_queries(clients, project, django_assert_max_num_queries):
    from autopilot.services.reviews import review_collect

    for index in range(5):
        goal = Goal.objects.create(project=project, title=f"g{index}")
        AutopilotRun.objects.create(project=project, goal=goal)
        review_collect(Task.objects.create(project=project, title=f"t{index}", status="review", attempts=1))
    with django_assert_max_num_queries(8):
        assert clients["viewer"].get("/api/reviews/").json()["count"] == 5
    with django_assert_max_num_queries(8):
        assert clients["viewer"].get("/api/autopilot/runs/").json()["count"] == 5
    with django_assert_max_num_queries(10):
        assert clients["viewer"].get("/api/autopilot/goals/").json()["count"] == 5


def test_parallelism_counts_queued_and_running_work_not_reviews(emulator, deployment, goal, maintainer):
    emulator.set_reply(plan_json(task_json("t1"), task_json("t2")), model=EMULATED, times=1)
    run = runs.run_start(actor=maintainer, goal=goal, parallelism=1, auto_approve_plan=True)
    loop = RunLoop()
    loop.run_until_idle()
    assert Task.objects.filter(status="ready").count() == 1
    Task.objects.filter(status="ready").update(status="review", attempts=1)  # finished, waits for a person
    loop.run_until_idle()
    assert Task.objects.filter(status="ready").count() == 1
    assert AutopilotRun.objects.get(pk=run.pk).status == "running"


def test_browsable_api_pages_render(admin_user, client, planned):
    client.force_login(admin_user)
    for url in ("/api/autopilot/runs/", f"/api/autopilot/runs/{planned.pk}/", "/api/reviews/", "/api/autopilot/rules/",
                "/api/autopilot/goals/"):  # fmt: skip
        assert client.get(url, HTTP_ACCEPT="text/html").status_code == 200, url
    schema = client.get("/api/schema/").content.decode()
    assert "/api/autopilot/runs/{id}/approve/" in schema and "/api/reviews/{id}/request_changes/" in schema


def test_board_panel_tag_shows_active_runs_and_the_queue(rf, maintainer, planned):
    from django.template import Context, Template

    request = rf.get("/board/")
    request.user = maintainer
    html = Template("{% load autopilot_tags %}{% autopilot_board_panel %}").render(Context({"request": request}))
    assert f"Run #{planned.pk} Add a health page" in html and "<strong>0</strong> reviews waiting" in html
