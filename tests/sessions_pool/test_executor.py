"""The agent executor in real tmux with the fake agent: dispatch, auto-confirm, diff, deny, cancel, crash."""

import pytest

from projects.executors.registry import get_executor
from projects.models import Event, Task
from sessions_pool import services
from sessions_pool.models import AgentSession, SessionState
from sessions_pool.supervisor import Supervisor
from tests.processes import wait_for
from tests.sessions_pool.conftest import git, make_run

pytestmark = pytest.mark.integration


@pytest.fixture
def idle_session(fake_profile):
    session = services.session_spawn(profile=fake_profile)
    supervisor = Supervisor()
    wait_for(lambda: AgentSession.objects.get(pk=session.pk).state == SessionState.IDLE, step=supervisor.step)
    return AgentSession.objects.get(pk=session.pk)


def agent_task(project, repo, description, **fields) -> Task:
    return Task.objects.create(
        project=project, title="Write notes", description=description, executor="agent", status="running",
        repository=str(repo), metadata={"agent_profile": "claude"}, **fields,
    )  # fmt: skip


def run_to_outcome(executor, handle, *, timeout=20.0, supervisor=None):
    step = supervisor.step if supervisor else None
    return wait_for(lambda: executor.poll(handle), timeout=timeout, step=step, interval=executor.poll_interval)


def test_dispatch_auto_confirms_commits_and_returns_the_diff_for_review(project, repo, idle_session):
    task = agent_task(project, repo, "Add a line about the release to the notes")
    executor = get_executor("agent")
    handle = executor.start(make_run(task))

    outcome = run_to_outcome(executor, handle)

    assert outcome.succeeded, outcome.error
    assert outcome.needs_review is True
    assert "Task complete" in outcome.output
    assert "+- Add a line about the release to the notes" in outcome.data["diff"]
    assert outcome.data["branch"] == f"architect/task-{task.pk}"
    assert git(repo, "log", "-1", "--format=%s", outcome.data["branch"]).strip().startswith(f"Task #{task.pk}")
    assert git(repo, "show", f"{outcome.data['branch']}:NOTES.md").startswith("- Add a line")
    assert (outcome.prompt_tokens, outcome.completion_tokens) == (1200, len(task.description) * 3)
    # The working copy is gone; the branch keeps the work.
    assert git(repo, "worktree", "list").count("\n") == 1
    answered = Event.objects.get(type="session.auto_confirmed", object_id=str(idle_session.pk))
    assert "Do you want to proceed?" in answered.payload["prompt"]
    assert "NOTES.md" in answered.payload["prompt"]
    assert answered.payload["keys"] == ["Enter"]
    session = AgentSession.objects.get(pk=idle_session.pk)
    assert session.task_id is None and session.prompt_tokens == 1200
    assert session.state == SessionState.IDLE


def test_a_denied_prompt_is_never_answered_and_raises_an_alert(project, repo, idle_session):
    task = agent_task(project, repo, "[deny] publish the release")
    executor = get_executor("agent")
    handle = executor.start(make_run(task))
    supervisor = Supervisor()

    def alerted():
        executor.poll(handle)
        return Event.objects.filter(type="session.alert", object_id=str(idle_session.pk)).first()

    alert = wait_for(alerted, step=supervisor.step)
    for _ in range(10):  # more looks from both watchers change nothing
        supervisor.step()
        assert executor.poll(handle) is None

    assert "git push --force origin main" in alert.payload["prompt"]
    assert "denied" in alert.payload["reason"]
    session = AgentSession.objects.get(pk=idle_session.pk)
    assert session.state == SessionState.WAITING_CONFIRMATION
    assert "git push --force" in session.alert
    assert "Pushed" not in services.session_turn_text(session)
    assert not Event.objects.filter(type="session.auto_confirmed").exists()
    assert Event.objects.filter(type="session.alert").count() == 1
    executor.cancel(handle)


def test_an_agent_error_fails_the_attempt_and_frees_the_session(project, repo, idle_session):
    task = agent_task(project, repo, "[error] try")
    executor = get_executor("agent")
    outcome = run_to_outcome(executor, executor.start(make_run(task)))
    assert not outcome.succeeded and outcome.error == "The agent reported an error."
    assert "API Error: 500" in outcome.output
    assert AgentSession.objects.get(pk=idle_session.pk).task_id is None


def test_cancel_interrupts_the_agent_and_removes_the_worktree(project, repo, idle_session):
    task = agent_task(project, repo, "[slow] rewrite everything")
    executor = get_executor("agent")
    handle = executor.start(make_run(task))
    wait_for(lambda: executor.poll(handle) is None and "esc to interrupt" in services.session_turn_text(
        AgentSession.objects.get(pk=idle_session.pk)))  # fmt: skip
    worktree = handle.worktree.path

    executor.cancel(handle)
    outcome = executor.poll(handle)

    assert outcome is not None and not outcome.succeeded
    assert "Interrupted by user" in outcome.output
    assert "Cancelled" in outcome.error
    assert not __import__("os").path.exists(worktree)
    assert str(worktree) not in git(repo, "worktree", "list")
    assert f"architect/task-{task.pk}" not in git(repo, "branch", "--list")
    session = AgentSession.objects.get(pk=idle_session.pk)
    assert session.task_id is None


def test_an_agent_crash_fails_the_attempt_and_the_session_restarts(project, repo, idle_session):
    task = agent_task(project, repo, "[crash] do something")
    executor = get_executor("agent")
    handle = executor.start(make_run(task))
    supervisor = Supervisor()

    outcome = run_to_outcome(executor, handle, supervisor=supervisor)

    assert not outcome.succeeded and outcome.retryable
    assert "the agent exited" in outcome.error, outcome.error  # with its status when tmux has reaped it
    wait_for(lambda: AgentSession.objects.get(pk=idle_session.pk).state == SessionState.IDLE, step=supervisor.step)
    session = AgentSession.objects.get(pk=idle_session.pk)
    assert session.restarts == 1 and session.task_id is None
    assert Event.objects.filter(type="session.restarted", object_id=str(session.pk)).exists()


def test_through_the_task_engine_runner_the_task_lands_in_review_with_its_diff(project, repo, idle_session):
    from projects.engine.claim import claim_next
    from projects.engine.runner import run_task

    project.repository = str(repo)  # the task names no repository: the project's is used
    project.save()
    task = Task.objects.create(project=project, title="Notes", description="Document the release", executor="agent",
                               status="ready", metadata={"agent_profile": "claude"})  # fmt: skip
    claimed = claim_next(runner="test-runner", executors=["agent"])
    assert claimed.pk == task.pk

    assert run_task(task.pk, claimed.lease_token, "test-runner") == "review"

    task.refresh_from_db()
    assert "+- Document the release" in task.result_data["diff"]
    assert task.result_data["branch"] == f"architect/task-{task.pk}"
    assert task.prompt_tokens == 1200
    assert "Task complete" in task.attempt_set.get().log
    state = task.attempt_set.get().context["handle"]
    assert state["session"] == idle_session.pk and state["branch"] == f"architect/task-{task.pk}"


def test_abandon_frees_the_session_and_removes_the_worktree(project, repo, idle_session):
    from sessions_pool.executor import AgentExecutor

    task = agent_task(project, repo, "[slow] long work")
    executor = get_executor("agent")
    handle = executor.start(make_run(task))
    wait_for(lambda: executor.poll(handle) is None and handle.phase == "running")
    state = executor.describe(handle)

    AgentExecutor.abandon(state)

    session = AgentSession.objects.get(pk=idle_session.pk)
    assert session.task_id is None and session.restarts == 1
    assert not __import__("os").path.exists(state["worktree"])
    assert state["branch"] not in git(repo, "branch", "--list")


def test_with_no_idle_session_the_task_waits_until_the_supervisor_grows_the_pool(project, fake_profile):
    task = Task.objects.create(project=project, title="t", description="[noconfirm] note", executor="agent",
                               status="running", metadata={"agent_profile": "claude"})  # fmt: skip
    executor = get_executor("agent")
    handle = executor.start(make_run(task))
    assert executor.poll(handle) is None and handle.phase == "waiting"
    assert not AgentSession.objects.exists()

    outcome = run_to_outcome(executor, handle, supervisor=Supervisor())

    assert outcome.succeeded, outcome.error
    assert AgentSession.objects.count() == 1  # demand 1 (the running task), min 0


def test_tasks_for_missing_or_uninstalled_profiles_fail_without_retry(project, fake_profile):
    executor = get_executor("agent")
    task = Task.objects.create(project=project, title="t", executor="agent", status="running",
                               metadata={"agent_profile": "no-such-profile"})  # fmt: skip
    outcome = executor.poll(executor.start(make_run(task)))
    assert not outcome.retryable and "No enabled agent profile for 'no-such-profile'" in outcome.error
    fake_profile.command = "not-installed-agent --x"
    fake_profile.save()
    outcome = executor.poll(executor.start(make_run(task, metadata={})))  # the default profile: claude
    assert not outcome.retryable and "not installed on this machine" in outcome.error
