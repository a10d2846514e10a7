"""Benchmark: the autopilot run loop's idle step, as the number of running runs grows.

    .venv/bin/python tests/bench/bench_autopilot.py [--runs 50] [--tasks 20] [--steps 50]

Uses a fresh temporary data dir (SQLite) unless DATABASE_URL is set. Every run is `running` with
TASKS tasks in a dependency chain, one of them executing (so the step has nothing to queue): the
step's cost is then pure bookkeeping (reviews to collect, budget checks, queueing, completion,
closing). Printed side by side with the baseline, an idle step with no runs at all. The loop sleeps
0.5 s when idle, so a step well under that keeps the loop cheap.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    os.environ.setdefault("ARCHITECT_DATA_DIR", tempfile.mkdtemp(prefix="bench-autopilot-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "architect.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def load(n_runs: int, n_tasks: int) -> None:
    from autopilot.models import AutopilotRun, RunTask
    from projects.models import Goal, Project, Task

    project = Project.objects.create(name="Bench", slug=f"bench-{time.time_ns()}")
    edges = Task.depends_on.through
    for r in range(n_runs):
        goal = Goal.objects.create(project=project, title=f"goal {r}")
        run = AutopilotRun.objects.create(project=project, goal=goal, status="running", budget_cap=Decimal("100"))
        tasks = Task.objects.bulk_create(
            [
                Task(project=project, goal=goal, title=f"r{r} t{i}", status="running" if i == 0 else "backlog")
                for i in range(n_tasks)
            ]  # fmt: skip
        )
        RunTask.objects.bulk_create([RunTask(run=run, task=t, ref=f"t{i}") for i, t in enumerate(tasks)])
        edges.objects.bulk_create(
            [edges(from_task_id=b.pk, to_task_id=a.pk) for a, b in zip(tasks, tasks[1:], strict=False)]
        )


def measure(steps: int) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from autopilot.loop import RunLoop

    loop = RunLoop()
    loop.step()
    timings = []
    for _ in range(steps):
        loop.last_sweep = time.monotonic()  # the 5 s sweep is measured on its own below
        start = time.perf_counter()
        changed = loop.step()
        timings.append((time.perf_counter() - start) * 1000)
        assert not changed, "an idle step changed something"
    with CaptureQueriesContext(connection) as captured:
        loop.last_sweep = time.monotonic()
        loop.step()
    return statistics.median(timings), sorted(timings)[int(len(timings) * 0.95) - 1], len(captured)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    setup_django()
    base = measure(args.steps)
    load(args.runs, args.tasks)
    loaded = measure(args.steps)
    from autopilot.services.progress import close_all_finished_work

    start = time.perf_counter()
    close_all_finished_work()
    sweep = (time.perf_counter() - start) * 1000
    print(f"idle loop step, {args.runs} running runs × {args.tasks} tasks: p50 {loaded[0]:.1f} ms, "
          f"p95 {loaded[1]:.1f} ms, {loaded[2]} queries")  # fmt: skip
    print(f"baseline, no runs:                          p50 {base[0]:.1f} ms, p95 {base[1]:.1f} ms, {base[2]} queries")
    print(f"closing sweep over {args.runs} open goals: {sweep:.1f} ms (every 5 s)")


if __name__ == "__main__":
    main()
