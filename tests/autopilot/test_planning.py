"""The plan format, and planning through the router: retry with the errors, then a clear refusal."""

import socket

import pytest

from autopilot.loop import RunLoop
from autopilot.models import AutopilotRun, Plan
from autopilot.planning import schema
from autopilot.services import runs
from llmrouting import config
from llmrouting.models import Provider, RoutingOutcome
from projects.models import Bug, Feature, Task
from tests.autopilot.conftest import EMULATED, plan_json, task_json


def test_parse_tolerates_fences_and_chatter():
    assert schema.parse('```json\n{"tasks": []}\n```')[0] == {"tasks": []}
    assert schema.parse('Here you go: {"tasks": []} Enjoy.')[0] == {"tasks": []}
    assert schema.parse("no json here")[1] == ["The answer contains no JSON object."]
    assert schema.parse("[1, 2]")[1] == ["The plan must be a JSON object with milestones and tasks."]


def test_validate_names_every_problem():
    plan = plan_json(
        task_json("t1", executor="teleport"),
        task_json("t2", depends_on=["nope"], milestone="m9"),
        task_json("t2"),
    )
    errors = schema.validate(plan)
    assert any("plan.tasks[0].executor" in e and "teleport" in e for e in errors)
    plan["tasks"][0]["executor"] = "shell"
    errors = schema.validate(plan)
    assert "plan.tasks[2]: ref 't2' is used twice." in errors
    assert "plan.tasks[1] (t2): depends on 'nope', which is not a task of the plan." in errors
    assert "plan.tasks[1] (t2): milestone 'm9' is not one of the plan's milestones." in errors
    assert schema.validate({"milestones": []}) == ["plan: 'tasks' is a required property"]
    assert schema.validate({"milestones": [], "tasks": []})[0].startswith("plan.tasks: [] should be non-empty")


def test_cycles_are_refused_and_order_is_topological():
    cyclic = plan_json(
        task_json("a", depends_on=["c"]), task_json("b", depends_on=["a"]), task_json("c", depends_on=["b"])
    )
    assert schema.validate(cyclic) == ["Dependencies form a cycle: a → c → b → a."]
    plan = plan_json(task_json("late", depends_on=["early"]), task_json("early"))
    assert [t["ref"] for t in schema.topological(plan["tasks"])] == ["early", "late"]
    # A re-plan may depend on finished work it does not repeat.
    assert schema.validate(plan_json(task_json("t9", depends_on=["t1"])), known_refs=frozenset({"t1"})) == []


@pytest.fixture
def run(goal, maintainer):
    return runs.run_start(actor=maintainer, goal=goal)


def test_invalid_answer_is_retried_with_the_errors(emulator, deployment, run):
    emulator.set_reply("Sure! I will plan that. {not json", model=EMULATED, times=1)
    emulator.set_reply(plan_json(task_json("t1")), model=EMULATED, times=1)
    RunLoop().step()
    run.refresh_from_db()
    assert run.status == "awaiting_approval"
    first, second = Plan.objects.filter(run=run).order_by("number")
    assert first.status == "invalid" and first.errors and first.raw.startswith("Sure!")
    assert second.status == "proposed" and second.data["tasks"][0]["ref"] == "t1"
    retry = emulator.requests[1]["body"]["messages"][-1]["content"]
    assert "Your previous answer was not a valid plan" in retry and first.errors[0] in retry
    # The refused answer teaches the router that this model failed at planning.
    assert RoutingOutcome.objects.get(kind="autopilot.plan").quality == 0.0


def test_second_invalid_answer_rejects_the_plan_clearly(emulator, deployment, run):
    emulator.set_reply(plan_json(task_json("t1", depends_on=["t0"])), model=EMULATED, times=2)
    RunLoop().step()
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.reason.startswith("The planner's answer was not a valid plan after 2 attempts")
    assert "depends on 't0', which is not a task of the plan" in run.reason
    assert list(Plan.objects.filter(run=run).values_list("status", flat=True)) == ["invalid", "invalid"]
    assert not Task.objects.exists()


def test_the_prompt_carries_the_project_context(emulator, deployment, run, project, tmp_path):
    (tmp_path / "README.md").write_text("# Alpha\nRun `make test` before pushing.")
    project.repository, project.description = str(tmp_path), "A todo web app."
    project.save()
    Feature.objects.create(project=project, title="Task list")
    Bug.objects.create(project=project, title="Empty list crashes", severity="high")
    Bug.objects.create(project=project, title="Old fixed bug", status="fixed")
    emulator.set_reply(plan_json(task_json("t1")), model=EMULATED, times=1)
    RunLoop().step()
    messages = emulator.requests[0]["body"]["messages"]
    prompt = messages[-1]["content"]
    for expected in (
        "A todo web app.",
        "Task list",
        "Empty list crashes (high)",
        "Run `make test`",
        "Add a health page",
    ):
        assert expected in prompt
    assert "Old fixed bug" not in prompt
    assert '"depends_on"' in messages[0]["content"]  # the JSON schema is in the instructions


def test_no_deployment_fails_planning_with_the_router_reason(run):
    Provider.objects.update(enabled=False)
    config.invalidate()  # a bulk update sends no signal to the router's snapshot
    RunLoop().step()
    run.refresh_from_db()
    assert run.status == "failed" and run.reason.startswith("Planning failed: No enabled, healthy deployment")


def test_offline_demo_provider_plans_with_the_template(run, seeded_providers):
    RunLoop().step()  # only the seeded, simulated demo provider is enabled
    run.refresh_from_db()
    plan = Plan.objects.get(run=run)
    assert run.status == "awaiting_approval"
    assert plan.source.startswith("demo template") and plan.cost > 0
    assert {t["executor"] for t in plan.data["tasks"]} == {"shell", "llm"}


def test_replan_keeps_finished_work(emulator, deployment, run, maintainer):
    emulator.set_reply(plan_json(task_json("t1"), task_json("t2", depends_on=["t1"])), model=EMULATED, times=1)
    RunLoop().step()
    runs.run_approve(run, actor=maintainer)
    t1 = Task.objects.get(autopilot_link__ref="t1")
    Task.objects.filter(pk=t1.pk).update(status="done")
    t2 = Task.objects.get(autopilot_link__ref="t2")
    runs.run_pause(run, actor=maintainer)

    emulator.set_reply(plan_json(task_json("t3", depends_on=["t1"])), model=EMULATED, times=1)
    runs.run_replan(run, actor=maintainer)
    RunLoop().step()
    run.refresh_from_db()
    assert run.status == "awaiting_approval"
    assert "t1: Task t1" in emulator.requests[-1]["body"]["messages"][-1]["content"]  # told what is done
    runs.run_approve(run, actor=maintainer)
    t3 = Task.objects.get(autopilot_link__ref="t3")
    assert list(t3.depends_on.all()) == [t1]
    assert Task.objects.get(pk=t1.pk).status == "done"
    assert Task.objects.get(pk=t2.pk).status == "cancelled"  # not started, replaced
    assert Plan.objects.filter(run=run, status="approved").count() == 2


def test_planning_lock_of_a_dead_loop_is_taken_over(run):
    AutopilotRun.objects.filter(pk=run.pk).update(
        locked_until="2999-01-01T00:00:00Z", locked_by=f"{socket.gethostname()}:999999999"
    )
    assert RunLoop().claim_planning().pk == run.pk
    assert RunLoop().claim_planning() is None  # now held by a live loop


def test_router_refusing_the_retry_keeps_the_first_answer_and_says_why(emulator, deployment, run, monkeypatch):
    from autopilot.planning import planner
    from llmrouting.router import RoutingFailed

    real_ask = planner.ask
    calls = []

    def ask_then_fail(*args, **kwargs):
        calls.append(kwargs["escalation"])
        if len(calls) > 1:
            raise RoutingFailed("Every deployment tried for this request failed.", failures=["gpt: 500"])
        return real_ask(*args, **kwargs)

    monkeypatch.setattr(planner, "ask", ask_then_fail)
    emulator.set_reply("not a plan", model=EMULATED, times=1)
    RunLoop().step()
    run.refresh_from_db()
    assert calls == [0, 1]  # the retry asks the router to escalate
    assert run.status == "failed" and "after 1 attempt;" in run.reason
    assert "The retry could not be made: Every deployment tried for this request failed.\n- gpt: 500" in run.reason
    assert Plan.objects.get(run=run).cost > 0  # the first answer's cost stays on the run


def test_an_unexpected_error_fails_planning_instead_of_retrying_forever(run, monkeypatch):
    from autopilot.planning import planner

    monkeypatch.setattr(planner, "plan_goal", lambda *a, **k: 1 / 0)
    RunLoop().step()
    run.refresh_from_db()
    assert run.status == "failed" and run.reason == "Planning failed unexpectedly: ZeroDivisionError: division by zero"


def test_replanning_a_failed_run_retires_its_failed_work(emulator, deployment, run, maintainer):
    emulator.set_reply(plan_json(task_json("t1"), task_json("t2", depends_on=["t1"])), model=EMULATED, times=1)
    RunLoop().step()
    runs.run_approve(run, actor=maintainer)
    Task.objects.filter(autopilot_link__ref="t1").update(status="failed", last_error="boom")
    Task.objects.filter(autopilot_link__ref="t2").update(status="blocked", blocked_from="backlog")
    RunLoop().run_until_idle()
    run.refresh_from_db()
    assert run.status == "failed" and "boom" in run.reason

    emulator.set_reply(plan_json(task_json("t1", prompt="echo better")), model=EMULATED, times=1)
    runs.run_replan(run, actor=maintainer)
    RunLoop().step()
    runs.run_approve(run, actor=maintainer)
    old = Task.objects.filter(autopilot_link__ref__contains="@").values_list("status", flat=True)
    assert sorted(old) == ["cancelled", "cancelled"]
    assert Task.objects.get(autopilot_link__ref="t1").description == "echo better"
    Task.objects.filter(autopilot_link__ref="t1").update(status="done")
    RunLoop().run_until_idle()
    run.refresh_from_db()
    assert run.status == "completed"
