"""End-to-end drain: N trivial `shell` tasks through the real dispatcher and real qcluster workers.

    .venv/bin/python tests/bench/bench_drain.py [--tasks 10000] [--workers 4] [--capacity 1000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/12 \\
        .venv/bin/python tests/bench/bench_drain.py

Creates N ready tasks running `true`, starts `manage.py qcluster` and `manage.py dispatcher` (capacity =
tasks kept claimed or running at once, so 1000 means 1000 in flight), and waits until every task is done.
Prints tasks/s, the most tasks seen in flight at once, and checks that nothing was lost or run twice
(every task done, exactly one attempt each). PostgreSQL runs use a scratch database `architect_bench_drain`.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BENCH_DB = "architect_bench_drain"
BASELINE = "old system: '1000+ concurrent tasks' (unmeasured)"


def scratch_database(base_url: str) -> str:
    import psycopg

    admin_url = base_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return base_url.rsplit("/", 1)[0] + f"/{BENCH_DB}"


def create_tasks(count: int) -> None:
    from projects.models import Project, Task, TaskStatus

    project = Project.objects.create(name="Drain", slug="drain")
    rows = [
        Task(
            project=project,
            title=f"noop {i}",
            description="true",
            status=TaskStatus.READY,
            executor="shell",
            metadata={"needs_review": False},
            max_attempts=3,
        )  # fmt: skip
        for i in range(count)
    ]
    Task.objects.bulk_create(rows, batch_size=1000)


def start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=open(log, "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is None:
            try:
                os.killpg(process.pid, sig)
                process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--capacity", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-drain-"))
    base = os.environ.get("DATABASE_URL", "")
    url = scratch_database(base) if base.startswith("postgres") else f"sqlite:///{work / 'drain.sqlite3'}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ARCHITECT_DATA_DIR": str(work),
        "DJANGO_SETTINGS_MODULE": "architect.settings",
        "ARCHITECT_WORKERS": str(args.workers),
        "ARCHITECT_DISPATCH_CAPACITY": str(args.capacity),
        "ARCHITECT_DISPATCH_LEASE_SECONDS": "1800",
        "ARCHITECT_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Count

    from projects.models import Task, TaskAttempt, TaskStatus

    call_command("migrate", verbosity=0)
    create_tasks(args.tasks)
    broker = "Redis" if os.environ.get("REDIS_URL") else "ORM (database)"
    engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"Drain of {args.tasks} shell tasks on {engine}, broker {broker}, {args.workers} workers, "
          f"capacity {args.capacity} ({BASELINE})", flush=True)  # fmt: skip

    cluster = start(["qcluster"], env, work / "qcluster.log")
    dispatcher = start(["dispatcher"], env, work / "dispatcher.log")
    started = time.monotonic()
    peak, last_report = 0, started
    try:
        while time.monotonic() - started < args.timeout:
            counts = dict(Task.objects.values_list("status").annotate(n=Count("id")).order_by())
            in_flight = counts.get(TaskStatus.CLAIMED, 0) + counts.get(TaskStatus.RUNNING, 0)
            peak = max(peak, in_flight)
            finished = counts.get(TaskStatus.DONE, 0) + counts.get(TaskStatus.FAILED, 0)
            if time.monotonic() - last_report > 10:
                last_report = time.monotonic()
                print(f"  {time.monotonic() - started:6.0f}s done {finished} in flight {in_flight}", flush=True)
            if finished >= args.tasks:
                break
            time.sleep(0.2)
    finally:
        elapsed = time.monotonic() - started
        stop(dispatcher)
        stop(cluster)

    counts = dict(Task.objects.values_list("status").annotate(n=Count("id")).order_by())
    done = counts.get(TaskStatus.DONE, 0)
    attempts = TaskAttempt.objects.count()
    twice = Task.objects.filter(attempts__gt=1).count()
    print(f"tasks/s: {done / elapsed:.1f} ({done} done in {elapsed:.1f}s)")
    print(f"peak in flight: {peak} (capacity {args.capacity})")
    print(f"statuses: {counts}; attempts recorded: {attempts}; tasks run more than once: {twice}")
    ok = done == args.tasks and attempts == args.tasks and twice == 0
    print("no loss, no double runs" if ok else "LOSS OR DOUBLE RUNS — see the logs in " + str(work))


if __name__ == "__main__":
    main()
