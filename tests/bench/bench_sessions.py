"""Session-pool benchmarks, in real tmux with the fake agent.

    .venv/bin/python tests/bench/bench_sessions.py [--tasks 100] [--window 20]

Prints, each beside its target:
  1. dispatch latency: ready task → claimed by the engine → prompt typed into an idle session (p50/p99);
     also the worktree path (git worktree + agent restarted in it + its prompt back), for reference;
  2. time for a new session to become usable (spawn → the agent's idle prompt seen);
  3. CPU of the real supervisor process (`manage.py supervise_sessions`, its tmux calls included)
     over a fixed window with 10 sessions, idle and all busy (spinners redrawing 10×/s), from /proc.
Uses its own temp data directory, SQLite database and tmux socket; removes them afterwards.
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAKE_AGENT = ROOT / "tests" / "fakes" / "fake_agent.py"
DATA_DIR = Path(tempfile.mkdtemp(prefix="bench-sessions-"))
SOCKET = f"architect-bench-{uuid.uuid4().hex[:8]}"
os.environ.update(
    ARCHITECT_DATA_DIR=str(DATA_DIR), ARCHITECT_TMUX_SOCKET=SOCKET, DJANGO_SETTINGS_MODULE="architect.settings"
)
os.environ.pop("DATABASE_URL", None)
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from projects.engine.claim import claim_next  # noqa: E402
from projects.executors.base import Run  # noqa: E402
from projects.executors.registry import get_executor  # noqa: E402
from projects.models import Project, Task  # noqa: E402
from sessions_pool import services, tmux  # noqa: E402
from sessions_pool.models import AgentProfile, AgentSession, SessionState  # noqa: E402

S = SessionState
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def setup() -> tuple[AgentProfile, Project, Path]:
    call_command("migrate", verbosity=0)
    profile = AgentProfile.objects.get(name="claude")
    profile.command = f"{sys.executable} {FAKE_AGENT} --think 0.05"
    profile.min_sessions, profile.max_sessions = 0, 10
    profile.save()
    AgentProfile.objects.exclude(pk=profile.pk).update(enabled=False)
    repo = DATA_DIR / "repo"
    repo.mkdir()
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "."],
        ["-c", "user.name=B", "-c", "user.email=b@x", "commit", "-qm", "i"],
    ):
        if args[0] == "add":
            (repo / "README.md").write_text("bench\n")
        subprocess.run(["git", *args], cwd=repo, check=True)
    return profile, Project.objects.create(name="Bench", slug="bench"), repo


def wait_idle(session: AgentSession, timeout: float = 20.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        session = AgentSession.objects.select_related("profile").get(pk=session.pk)
        if services.session_observe(session).reading.state == S.IDLE:
            return time.monotonic() - started
        time.sleep(0.005)
    raise RuntimeError(f"{session.name} never became idle")


def bench_startup(profile, count: int = 5) -> list[AgentSession]:
    times, sessions = [], []
    for _ in range(count):
        started = time.monotonic()
        session = services.session_spawn(profile=profile)
        wait_idle(session)
        times.append(time.monotonic() - started)
        sessions.append(session)
    print(f"new session usable (spawn → idle prompt), n={count}: median {ms(statistics.median(times))}, "
          f"max {ms(max(times))}   (no target; a real CLI adds its own start-up)")  # fmt: skip
    return sessions


def run_for(task: Task, repository: str = "") -> Run:
    return Run(
        task_id=task.pk, project_id=task.project_id, attempt=task.attempts or 1, title=task.title,
        prompt=task.description, repository=repository, branch="", base_commit="", working_dir="", environment={},
        metadata=task.metadata, skills=[], timeout_seconds=600,
    )  # fmt: skip


def one_dispatch(project, executor, repository: str = "") -> float:
    Task.objects.create(project=project, title="bench", description="[noconfirm] bench turn", executor="agent",
                        status="ready", metadata={"agent_profile": "claude"})  # fmt: skip
    started = time.monotonic()
    task = claim_next(runner="bench", executors=["agent"])
    handle = executor.start(run_for(task, repository))
    while handle.prompted_at is None:
        executor.poll(handle)
        time.sleep(0.002)
    latency = handle.prompted_at - started
    while (outcome := executor.poll(handle)) is None:
        time.sleep(0.02)
    assert outcome.succeeded, outcome.error
    Task.objects.filter(pk=task.pk).update(status="done")
    return latency


def bench_dispatch(project, repo: Path, tasks: int) -> None:
    executor = get_executor("agent")
    fast = [one_dispatch(project, executor) for _ in range(tasks)]
    print(f"dispatch latency (ready task → claim → prompt typed), n={tasks}: p50 {ms(percentile(fast, 0.5))}, "
          f"p99 {ms(percentile(fast, 0.99))}   target p99 ≤  200.0 ms")  # fmt: skip
    slow = [one_dispatch(project, executor, str(repo)) for _ in range(max(5, tasks // 10))]
    print(f"  with a worktree (git worktree add + agent restarted in it), n={len(slow)}: "
          f"p50 {ms(percentile(slow, 0.5))}, p99 {ms(percentile(slow, 0.99))}   (for reference)")  # fmt: skip


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return (utime + stime + cutime + cstime) / CLOCK_TICKS


def measure_supervisor(window: float, label: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "manage.py", "supervise_sessions", "--keep-sessions"], cwd=ROOT, env=os.environ.copy(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        time.sleep(3.0)  # start-up (Django import) is not the steady state
        before, started = cpu_seconds(process.pid), time.monotonic()
        time.sleep(window)
        used, elapsed = cpu_seconds(process.pid) - before, time.monotonic() - started
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    print(f"supervisor CPU, 10 sessions {label}, {window:.0f} s window: {100 * used / elapsed:5.2f} % of one core   "
          f"target ≤ 5 %")  # fmt: skip


def bench_supervisor(profile, window: float) -> None:
    profile.min_sessions = 10
    profile.save()
    while AgentSession.objects.exclude(state=S.STOPPED).count() < 10:
        services.session_spawn(profile=profile)
    for session in AgentSession.objects.exclude(state=S.STOPPED).select_related("profile"):
        wait_idle(session)
    measure_supervisor(window, "idle")
    for session in AgentSession.objects.exclude(state=S.STOPPED):
        tmux.send_text(session.name, "[slow] keep busy", then=("Enter",))
    measure_supervisor(window, "busy")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--window", type=float, default=20.0)
    args = parser.parse_args()
    try:
        profile, project, repo = setup()
        sessions = bench_startup(profile, count=4)
        for session in sessions:
            wait_idle(session)
        bench_dispatch(project, repo, args.tasks)
        bench_supervisor(profile, args.window)
    finally:
        tmux.kill_server()
        shutil.rmtree(DATA_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
