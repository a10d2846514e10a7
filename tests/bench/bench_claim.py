"""Claim benchmark: throughput and p50/p99 claim latency with 1, 4 and 8 concurrent claimer processes.

    .venv/bin/python tests/bench/bench_claim.py [--tasks 10000] [--claimers 1,4,8]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python tests/bench/bench_claim.py

With DATABASE_URL pointing at PostgreSQL, a scratch database `architect_bench_claim` is (re)created on that
server; otherwise a temporary SQLite file is used. Each claimer is a separate OS process calling
projects.engine.claim.claim_next until the queue is empty; every claim is one transaction (lock, update,
attempt row, event), as in production. Double claims are counted from the ids the claimers report.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BENCH_DB = "architect_bench_claim"
TARGETS = "targets: PostgreSQL p99 <= 10 ms at 8 claimers, >= 500 claims/s; old system promised < 100 ms assignment"


def setup_django(database_url: str, data_dir: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["ARCHITECT_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "architect.settings")
    os.environ.setdefault("ARCHITECT_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def worker(go_file: str, out_file: str, executors: str) -> None:
    from django.db import connection

    from projects.engine.claim import claim_next

    connection.ensure_connection()
    while not os.path.exists(go_file):
        time.sleep(0.001)
    ids, latencies = [], []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        task = claim_next(runner=f"bench-{os.getpid()}", executors=executors.split(","), skills=[], lease_seconds=600)
        latencies.append(time.perf_counter() - t0)
        if task is None:
            latencies.pop()  # the empty-queue probe is not a claim
            break
        ids.append(task.pk)
    end = time.perf_counter()
    Path(out_file).write_text(json.dumps({"ids": ids, "latencies": latencies, "start": start, "end": end}))


def scratch_database(base_url: str) -> str:
    """(Re)create the scratch PostgreSQL database and return its URL."""
    import psycopg

    admin_url = base_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return base_url.rsplit("/", 1)[0] + f"/{BENCH_DB}"


def fill(count: int) -> None:
    from projects.models import Event, Project, Task, TaskAttempt, TaskStatus

    # Raw deletes: no cascade collection through other apps' models, and fast.
    for model in (TaskAttempt, Task.depends_on.through, Task, Event):
        model.objects.all()._raw_delete(model.objects.db)
    project, _ = Project.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    rows = [
        Task(project=project, title=f"task {i}", status=TaskStatus.READY, executor="shell", priority=i % 11)
        for i in range(count)
    ]
    Task.objects.bulk_create(rows, batch_size=1000)
    analyze()


def analyze() -> None:
    """Refresh planner statistics after the bulk load, as autovacuum would on a live server."""
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE projects_task" if settings.IS_POSTGRES else "ANALYZE")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def run_round(claimers: int, tasks: int, env: dict, work: Path) -> dict:
    fill(tasks)
    from django.db import connection

    connection.close()
    go = work / f"go-{claimers}"
    outs = [work / f"out-{claimers}-{n}.json" for n in range(claimers)]
    procs = [
        subprocess.Popen([sys.executable, __file__, "--worker", str(go), str(out), "shell"], env=env, cwd=ROOT)
        for out in outs
    ]
    time.sleep(2 + 0.5 * claimers)  # let every claimer import Django and connect
    go.touch()
    for proc in procs:
        proc.wait(timeout=600)
    results = [json.loads(out.read_text()) for out in outs]
    ids = [i for r in results for i in r["ids"]]
    latencies = [lat for r in results for lat in r["latencies"]]
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    return {
        "claimers": claimers,
        "claimed": len(ids),
        "double": len(ids) - len(set(ids)),
        "missed": tasks - len(set(ids)),
        "per_s": len(ids) / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "max_ms": 1000 * max(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--claimers", default="1,4,8")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "architect.settings")
        django.setup()
        worker(*args.worker)
        return
    work = Path(tempfile.mkdtemp(prefix="bench-claim-"))
    base = os.environ.get("DATABASE_URL", "")
    url = scratch_database(base) if base.startswith("postgres") else f"sqlite:///{work / 'bench.sqlite3'}"
    setup_django(url, str(work))
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    env = {**os.environ, "DATABASE_URL": url, "ARCHITECT_DATA_DIR": str(work)}
    print(f"Claim benchmark on {engine}, {args.tasks} ready tasks per round ({TARGETS})")
    header = ("claimers", "claimed", "double", "missed", "claims/s", "p50 ms", "p99 ms", "max ms")
    print(" ".join(f"{h:>8}" for h in header))
    for claimers in [int(n) for n in args.claimers.split(",")]:
        r = run_round(claimers, args.tasks, env, work)
        print(
            f"{r['claimers']:>8} {r['claimed']:>8} {r['double']:>8} {r['missed']:>8} {r['per_s']:>8.0f} "
            f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['max_ms']:>8.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
