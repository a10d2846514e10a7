"""The `agent` executor: run a task's prompt in an idle agent session, in the task's own worktree.

start() claims an idle session of the task's profile (a conditional UPDATE, so
two runners never share one) and types the prompt; when the agent must first
move into the task's worktree, or no session is idle yet (the supervisor grows
the pool from the number of agent tasks), poll() finishes the dispatch. The
turn ends when the agent is back at its prompt after having worked; the
changes are committed on the task branch and the diff goes to review.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from projects.executors.base import Executor, Outcome, Run
from projects.models import Project
from sessions_pool import detection, selectors, services, worktrees
from sessions_pool.models import AgentProfile, AgentSession, SessionState

S = SessionState
QUIET_SECONDS = 5.0  # an agent that never showed busy is done after this long back at its prompt
INTERRUPT_GRACE_SECONDS = 2.0


@dataclass
class AgentHandle:
    run: Run
    profile: AgentProfile | None
    phase: str = "waiting"  # waiting → starting → running → done
    worktree: worktrees.Worktree | None = None
    session_id: int | None = None
    restarts: int = 0
    started: float = field(default_factory=time.monotonic)
    prompted_at: float | None = None  # monotonic time the prompt was typed (dispatch latency)
    outcome: Outcome | None = None


def _project_repository(project_id: int) -> str:
    """The project's repository when the task names none (only local checkouts get worktrees)."""
    repository = Project.objects.filter(pk=project_id).values_list("repository", flat=True).first() or ""
    return repository if repository and Path(repository).is_dir() else ""


class AgentExecutor(Executor):
    kind = "agent"
    poll_interval = 0.2

    def start(self, run: Run) -> AgentHandle:
        profiles = selectors.enabled_profiles()
        profile = selectors.profile_for(metadata=run.metadata, skills=run.skills, profiles=profiles)
        handle = AgentHandle(run=run, profile=profile)
        if profile is None:
            wanted = run.metadata.get("agent_profile") or "the default"
            handle.outcome = Outcome(False, error=f"No enabled agent profile for {wanted!r}.", retryable=False)
            return handle
        if not services.profile_runnable(profile):
            error = f"Profile {profile.name!r} runs {profile.command!r}, which is not installed on this machine."
            handle.outcome = Outcome(False, error=error, retryable=False)
            return handle
        repository = run.repository or _project_repository(run.project_id)
        if repository:
            try:
                handle.worktree = worktrees.worktree_create(
                    repository=repository, task_id=run.task_id, attempt=run.attempt, branch=run.branch,
                    base=run.base_commit,
                )  # fmt: skip
            except worktrees.WorktreeError as exc:
                handle.outcome = Outcome(False, error=f"Cannot create the worktree: {exc}", retryable=False)
                return handle
        self._dispatch(handle)
        return handle

    def poll(self, handle: AgentHandle) -> Outcome | None:
        if handle.outcome is None:
            step = {"waiting": self._dispatch, "starting": self._await_prompt, "running": self._watch}[handle.phase]
            step(handle)
        return handle.outcome

    def describe(self, handle: AgentHandle) -> dict:
        state = {"task": handle.run.task_id, "session": handle.session_id}
        if handle.worktree is not None:
            wt = handle.worktree
            state.update(repository=wt.repository, worktree=wt.path, branch=wt.branch)
        return state

    @classmethod
    def abandon(cls, state: dict) -> None:
        """A runner died mid-task: free its session (if it still holds the task) and drop its worktree."""
        session = AgentSession.objects.select_related("profile").filter(pk=state.get("session")).first()
        if session is not None and session.task_id == state.get("task"):
            services.session_interrupt(session)
            services.session_restart(session, actor=services.SUPERVISOR, reason=f"task {state['task']} abandoned")
        if state.get("worktree"):
            worktrees.worktree_remove(repository=state["repository"], path=state["worktree"], branch=state["branch"])

    def cancel(self, handle: AgentHandle) -> None:
        if handle.outcome is not None:
            return
        output = ""
        session = self._session(handle) if handle.session_id else None
        if session is not None:
            output = self._interrupt(session, handle)
        self._drop_worktree(handle)
        handle.outcome = Outcome(
            False, output=output, error="Cancelled: the agent was interrupted.", data=self._data(handle)
        )

    # --- Dispatch ---------------------------------------------------------------------------------

    def _dispatch(self, handle: AgentHandle) -> None:
        session = services.session_claim(profile=handle.profile, task_id=handle.run.task_id)
        if session is None:
            return  # the supervisor counts this task as demand and grows the pool
        handle.session_id, handle.restarts = session.pk, session.restarts
        workdir = handle.worktree.path if handle.worktree else (handle.run.working_dir or session.home_dir)
        if services.session_move(session, workdir=workdir):
            handle.phase = "starting"
        else:
            self._submit(handle, session)

    def _await_prompt(self, handle: AgentHandle) -> None:
        session = self._session(handle)
        if session is None:
            return
        observation = services.session_observe(session)
        if observation.crashed:
            self._fail(handle, session, f"The agent crashed while starting: {session.last_error}")
        elif observation.reading.state == S.IDLE:
            self._submit(handle, observation.session)

    def _submit(self, handle: AgentHandle, session: AgentSession) -> None:
        services.session_submit(session, prompt=handle.run.prompt or handle.run.title)
        handle.prompted_at = time.monotonic()
        handle.phase = "running"

    # --- The turn ---------------------------------------------------------------------------------

    def _watch(self, handle: AgentHandle) -> None:
        session = self._session(handle)
        if session is None:
            return
        observation = services.session_observe(session)
        if observation.crashed:
            self._fail(handle, session, f"The agent crashed: {observation.session.last_error}")
            return
        state = observation.reading.state
        if state not in (S.IDLE, S.ERROR):
            return
        text = services.session_turn_text(session, pane=observation.pane)
        if self._turn_over(observation.session, text):
            self._finish(handle, observation.session, state, text)

    def _turn_over(self, session: AgentSession, text: str) -> bool:
        if session.turn_seen_busy or detection.finished(text, session.profile):
            return True
        quiet = session.last_activity_at and (time.time() - session.last_activity_at.timestamp()) > QUIET_SECONDS
        return bool(quiet and len([line for line in text.splitlines() if line.strip()]) > 1)

    def _finish(self, handle: AgentHandle, session: AgentSession, state: str, text: str) -> None:
        prompt_tokens, completion_tokens = detection.token_usage(text, session.profile)
        services.session_release(
            session, task_id=handle.run.task_id, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
        data = self._data(handle, session)
        try:
            data["commit"], data["diff"] = self._commit(handle)
        except worktrees.WorktreeError as exc:
            self._drop_worktree(handle)
            handle.outcome = Outcome(False, output=text, error=f"Cannot commit the changes: {exc}", data=data)
            return
        self._log(handle, text)
        failed = state == S.ERROR or detection.errored(text, session.profile)
        handle.outcome = Outcome(
            not failed, output=text, error="The agent reported an error." if failed else "", data=data,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, needs_review=True,
        )  # fmt: skip
        handle.phase = "done"

    def _commit(self, handle: AgentHandle) -> tuple[str, str]:
        if handle.worktree is None:
            return "", ""
        message = f"Task #{handle.run.task_id}: {handle.run.title}\n\nCommitted by Architect's agent executor."
        commit, diff = worktrees.worktree_commit(handle.worktree, message=message)
        # The branch keeps the work for review; the working copy is not needed any more.
        worktrees.worktree_remove(repository=handle.worktree.repository, path=handle.worktree.path)
        return commit, diff

    # --- Failure, cancel ----------------------------------------------------------------------------

    def _fail(self, handle: AgentHandle, session: AgentSession, error: str) -> None:
        self._drop_worktree(handle)
        handle.outcome = Outcome(False, output=session.last_output, error=error, data=self._data(handle, session))
        handle.phase = "done"

    def _interrupt(self, session: AgentSession, handle: AgentHandle) -> str:
        services.session_interrupt(session)
        deadline = time.monotonic() + INTERRUPT_GRACE_SECONDS
        state, observation = S.BUSY, None
        while time.monotonic() < deadline and state not in (S.IDLE, S.ERROR):
            time.sleep(0.1)
            observation = services.session_observe(session)
            state = observation.reading.state
        crashed = observation is None or observation.crashed
        output = session.last_output if crashed else services.session_turn_text(session)
        # A fresh agent for the next task: nothing keeps running in the worktree we remove.
        services.session_restart(session, actor=services.SUPERVISOR, reason=f"task {handle.run.task_id} cancelled")
        return output

    def _drop_worktree(self, handle: AgentHandle) -> None:
        if handle.worktree is not None:
            wt = handle.worktree
            worktrees.worktree_remove(repository=wt.repository, path=wt.path, branch=wt.branch)

    # --- Helpers ----------------------------------------------------------------------------------

    def _session(self, handle: AgentHandle) -> AgentSession | None:
        """The handle's session, or None after failing the handle when the session was lost to it."""
        session = AgentSession.objects.select_related("profile", "task").filter(pk=handle.session_id).first()
        lost = session is None or session.task_id != handle.run.task_id or session.restarts != handle.restarts
        if lost and handle.outcome is None:
            reason = session.last_error if session is not None and session.last_error else "stopped or reassigned"
            self._drop_worktree(handle)
            output = session.last_output if session is not None else ""
            handle.outcome = Outcome(False, output=output, error=f"The agent session was lost: {reason}.",
                                     data=self._data(handle, session))  # fmt: skip
            handle.phase = "done"
        return None if lost else session

    def _data(self, handle: AgentHandle, session: AgentSession | None = None) -> dict:
        data = {"profile": handle.profile.name if handle.profile else "", "duration": time.monotonic() - handle.started}
        if session is not None:
            data["session"] = session.name
        if handle.worktree is not None:
            data.update(branch=handle.worktree.branch, base_commit=handle.worktree.base_commit)
        if handle.prompted_at is not None:
            data["dispatch_seconds"] = handle.prompted_at - handle.started
        return data

    def _log(self, handle: AgentHandle, text: str) -> None:
        if handle.run.log_path:
            with Path(handle.run.log_path).open("a") as log:
                log.write(text + "\n")
