"""The supervisor in real tmux: pool sizes from demand, idle reaping, crash restarts, startup prompts."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from projects.models import Event, Task
from sessions_pool import services, tmux
from sessions_pool.models import AgentSession, SessionState
from sessions_pool.supervisor import Supervisor
from tests.processes import wait_for
from tests.sessions_pool.conftest import fake_command

pytestmark = pytest.mark.integration
S = SessionState


def live(profile):
    return AgentSession.objects.filter(profile=profile).exclude(state=S.STOPPED)


def ready_agent_tasks(project, count, profile="claude"):
    for n in range(count):
        Task.objects.create(project=project, title=f"t{n}", executor="agent", status="ready",
                            metadata={"agent_profile": profile})  # fmt: skip


def all_idle(profile, count):
    return lambda: live(profile).filter(state=S.IDLE).count() == count


def test_pools_grow_with_ready_agent_tasks_up_to_max_then_shrink_to_min_when_idle(fake_profile, project):
    fake_profile.min_sessions, fake_profile.max_sessions, fake_profile.idle_timeout_seconds = 1, 3, 60
    fake_profile.save()
    supervisor = Supervisor()
    supervisor.step()
    assert live(fake_profile).count() == 1  # the minimum, with no work

    ready_agent_tasks(project, 5)
    Task.objects.create(project=project, title="shell work", executor="shell", status="ready")  # not agent demand
    supervisor.step()
    assert live(fake_profile).count() == 3  # capped at max
    wait_for(all_idle(fake_profile, 3), step=supervisor.step)
    assert set(tmux.list_panes()) == set(live(fake_profile).values_list("name", flat=True))

    Task.objects.filter(executor="agent").update(status="done")
    supervisor.step()
    assert live(fake_profile).count() == 3  # not idle long enough yet
    AgentSession.objects.update(last_activity_at=timezone.now() - timedelta(seconds=61))
    supervisor.step()

    assert live(fake_profile).count() == 1
    stopped = AgentSession.objects.filter(state=S.STOPPED)
    assert stopped.count() == 2
    assert len(tmux.list_panes()) == 1
    reasons = Event.objects.filter(type="session.stopped").values_list("payload__reason", flat=True)
    assert list(reasons) == ["idle for more than 60s"] * 2


def test_busy_sessions_are_never_reaped(fake_profile, project):
    fake_profile.min_sessions, fake_profile.idle_timeout_seconds = 0, 1
    fake_profile.save()
    session = services.session_spawn(profile=fake_profile)
    supervisor = Supervisor()
    wait_for(all_idle(fake_profile, 1), step=supervisor.step)
    task = Task.objects.create(project=project, title="t", executor="agent", status="running",
                               metadata={"agent_profile": "claude"})  # fmt: skip
    assert services.session_claim(profile=fake_profile, task_id=task.pk).pk == session.pk
    AgentSession.objects.update(last_activity_at=timezone.now() - timedelta(hours=1))
    supervisor.step()
    assert AgentSession.objects.get(pk=session.pk).state != S.STOPPED


def test_a_crashed_agent_is_restarted(fake_profile):
    session = services.session_spawn(profile=fake_profile)
    supervisor = Supervisor()
    wait_for(all_idle(fake_profile, 1), step=supervisor.step)

    services.session_send_keys(session, actor="test", text="[crash] now", enter=True)
    wait_for(lambda: AgentSession.objects.get(pk=session.pk).restarts == 1, step=supervisor.step)
    wait_for(all_idle(fake_profile, 1), step=supervisor.step)

    session.refresh_from_db()
    assert "the agent exited" in session.last_error
    assert Event.objects.filter(type="session.restarted", object_id=str(session.pk)).count() == 1
    assert not tmux.list_panes()[session.name].dead


def test_a_killed_tmux_session_is_recreated(fake_profile):
    session = services.session_spawn(profile=fake_profile)
    supervisor = Supervisor()
    wait_for(all_idle(fake_profile, 1), step=supervisor.step)
    tmux.kill(session.name)
    wait_for(all_idle(fake_profile, 1), step=supervisor.step)
    assert AgentSession.objects.get(pk=session.pk).restarts == 1
    assert tmux.exists(session.name)


def test_the_startup_trust_prompt_is_auto_confirmed_and_recorded(fake_profile):
    fake_profile.command = fake_command("--ask-trust")
    fake_profile.save()
    session = services.session_spawn(profile=fake_profile)
    wait_for(all_idle(fake_profile, 1), step=Supervisor().step)
    event = Event.objects.get(type="session.auto_confirmed", object_id=str(session.pk))
    assert "Do you trust the files in this folder?" in event.payload["prompt"]


def test_profiles_whose_program_is_missing_get_no_sessions(fake_profile):
    fake_profile.command = "no-such-agent-cli --flag"
    fake_profile.min_sessions = 2
    fake_profile.save()
    Supervisor().step()
    assert not live(fake_profile).exists()


def test_the_command_runs_one_step_and_stops_sessions_of_disabled_profiles(fake_profile):
    session = services.session_spawn(profile=fake_profile)
    fake_profile.enabled = False
    fake_profile.save()
    call_command("supervise_sessions", "--once")
    assert AgentSession.objects.get(pk=session.pk).state == S.STOPPED
    assert not tmux.exists(session.name)


def test_work_spreads_over_idle_sessions_least_recently_used_first(fake_profile, project):
    first, second = (services.session_spawn(profile=fake_profile) for _ in range(2))
    wait_for(all_idle(fake_profile, 2), step=Supervisor().step)
    tasks = [Task.objects.create(project=project, title=f"t{n}", executor="agent", status="running") for n in range(3)]
    AgentSession.objects.filter(pk=first.pk).update(last_activity_at=timezone.now() - timedelta(minutes=5))

    assert services.session_claim(profile=fake_profile, task_id=tasks[0].pk).pk == first.pk
    assert services.session_claim(profile=fake_profile, task_id=tasks[1].pk).pk == second.pk
    assert services.session_claim(profile=fake_profile, task_id=tasks[2].pk) is None  # never two tasks in one
    services.session_release(AgentSession.objects.get(pk=first.pk), task_id=tasks[0].pk)
    Supervisor().step()  # sees it back at its prompt
    assert services.session_claim(profile=fake_profile, task_id=tasks[2].pk).pk == first.pk


def test_an_agent_that_dies_on_start_is_left_in_error_after_a_few_restarts(fake_profile):
    fake_profile.command = "python3 -c 'import sys; sys.exit(7)'"
    fake_profile.save()
    session = services.session_spawn(profile=fake_profile)
    supervisor = Supervisor()
    wait_for(lambda: AgentSession.objects.get(pk=session.pk).state == S.ERROR, step=supervisor.step, timeout=15)
    for _ in range(5):
        supervisor.step()
    session.refresh_from_db()
    assert session.restarts == 5 and session.last_error.startswith("Crash loop after 5 restarts")
    assert Event.objects.filter(type="session.alert", object_id=str(session.pk)).count() == 1
    assert live(fake_profile).count() == 1  # counted in the pool: no new sessions spawned to replace it
