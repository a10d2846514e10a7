"""A restart of every process mid-run: real autopilot loop, dispatcher and qcluster processes are
SIGKILLed while a task runs, started again, and the run carries on to completion."""

import pytest

from autopilot.models import ApprovalRule, AutopilotRun, ReviewItem
from autopilot.services import runs
from projects.models import Task, TaskStatus
from tests import processes
from tests.autopilot.conftest import EMULATED, plan_json, task_json
from tests.projects.test_engine_crash import SHORT_LEASES


def start_all(round_: int) -> list:
    return [
        processes.manage(name, *args, log_name=f"restart-{name}-{round_}.log", **SHORT_LEASES)
        for name, args in (("qcluster", []), ("dispatcher", []), ("autopilot", ["--interval", "0.1"]))
    ]


def kill_all(started) -> None:
    for process in started:
        processes.kill_group(process)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_killing_every_process_mid_run_then_starting_again_completes_the_run(
    tmp_path, emulator, deployment, goal, maintainer
):
    ApprovalRule.objects.create(name="shell", executor="shell")
    marker = tmp_path / "t2.started"
    emulator.set_reply(
        plan_json(
            task_json("t1", prompt="echo one"),
            # Killed in the first attempt's sleep; the retry need not wait.
            task_json(
                "t2", prompt=f'touch {marker}; [ "$ARCHITECT_ATTEMPT" = 1 ] && sleep 30; echo two', depends_on=["t1"]
            ),  # fmt: skip
            task_json("t3", prompt="echo three", depends_on=["t2"]),
        ),
        model=EMULATED,
        times=1,
    )
    run = runs.run_start(actor=maintainer, goal=goal, auto_approve_plan=True)
    started = start_all(1)
    try:
        processes.wait_for(marker.exists, timeout=90, message="t2 to start in the first set of processes")
        assert Task.objects.get(autopilot_link__ref="t1").status == TaskStatus.DONE
        assert AutopilotRun.objects.get(pk=run.pk).status == "running"
    finally:
        kill_all(started)  # no chance to clean up: as a power cut would leave it

    started = start_all(2)
    try:
        processes.wait_for(
            lambda: AutopilotRun.objects.get(pk=run.pk).status == "completed",
            timeout=120,
            message="the run to complete after the restart",
        )
    finally:
        kill_all(started)
    t2 = Task.objects.get(autopilot_link__ref="t2")
    assert list(t2.attempt_set.order_by("number").values_list("outcome", flat=True)) == ["lease_expired", "succeeded"]
    assert ReviewItem.objects.filter(run=run, status="approved").count() == 3
    assert set(goal.milestones.values_list("status", flat=True)) == {"done"}
