"""Live-board latency: commit in a worker process → receipt by websocket clients of a real daphne.

Runs the embedded mode (SQLite, the web process relays the outbox) and the Redis mode
(PostgreSQL + channels-redis) one after the other and prints them side by side:

    .venv/bin/python tests/bench/bench_board_latency.py [--clients 100] [--events 1000] [--rate 100]

Each mode gets a fresh data directory and database, a daphne, N clients authenticated
with an agent-style token, and a worker process that commits EVENTS task changes (one
transaction each, through the task services) at RATE per second. The worker stamps the
wall clock right after each commit; clients stamp receipt. Lost = expected − received.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.projects.live_processes import free_port  # noqa: E402

TARGET_P99_MS = {"embedded": 500.0, "redis": 50.0}

SETUP = """
from django.contrib.auth.models import User, Group
from rest_framework.authtoken.models import Token
from projects.models import Event
from projects.services import tracker, tasks
user = User.objects.create_superuser('bench', password='bench-pw-not-used')
user.groups.add(Group.objects.get_or_create(name='admin')[0])
project = tracker.project_create(actor=user, name='Bench', slug='bench')
task = tasks.task_create(actor=user, project=project, title='bench start')
print(Token.objects.create(user=user).key, task.pk, Event.objects.order_by('-id').first().id)
"""

# The worker: commits one task change per transaction at a steady rate, stamping each commit.
WORKER = """
import json, sys, time
import django
django.setup()
from django.db import transaction
from projects.models import Task
from projects.services.tasks import task_update
task_id, count, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
task = Task.objects.get(pk=task_id)
stamps = [0.0] * count
def stamp(i):
    stamps[i] = time.time()
start = time.perf_counter()
for i in range(count):
    delay = start + i / rate - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
    with transaction.atomic():
        # Registered first, so it runs right after COMMIT and before the bus publishes.
        transaction.on_commit(lambda i=i: stamp(i))
        task = task_update(task, actor='bench', title=f'bench {i}')
json.dump(stamps, sys.stdout)
"""


def mode_env(mode: str, data_dir: Path, args) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(ARCHITECT_DATA_DIR=str(data_dir), ARCHITECT_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    env["DJANGO_SETTINGS_MODULE"] = "architect.settings"
    if mode == "redis":
        env.update(DATABASE_URL=args.pg_url, REDIS_URL=args.redis_url)
    return env


def manage(env, *manage_args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *manage_args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise SystemExit(f"manage.py {manage_args[0]} failed:\n{result.stderr}")
    return result.stdout


def reset_postgres(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("daphne exited during start-up")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit("daphne did not start")


class Client:
    def __init__(self, count: int):
        self.received: dict[int, float] = {}
        self.duplicates = 0
        self.count = count
        self.done = asyncio.Event()

    async def run(self, session, url: str, token: str, after: int, ready: asyncio.Event) -> None:
        async with session.ws_connect(url, headers={"Authorization": f"Token {token}"}, max_msg_size=0) as socket:
            await socket.send_json({"resume_after": after})
            async for message in socket:
                now = time.time()
                data = json.loads(message.data)
                if data["type"] == "resumed":
                    ready.set()
                    continue
                title = data.get("payload", {}).get("title", "")
                if not title.startswith("bench ") or not title[6:].isdigit():
                    continue
                index = int(title[6:])
                if index in self.received:
                    self.duplicates += 1
                self.received.setdefault(index, now)
                if len(self.received) == self.count:
                    self.done.set()
                    return


async def measure(port: int, token: str, after: int, args, start_worker) -> dict:
    url = f"ws://127.0.0.1:{port}/ws/board/"
    clients = [Client(args.events) for _ in range(args.clients)]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        readies = [asyncio.Event() for _ in clients]
        tasks = [asyncio.create_task(c.run(session, url, token, after, r)) for c, r in zip(clients, readies, strict=True)]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
        stamps = await asyncio.to_thread(start_worker)
        try:
            await asyncio.wait_for(asyncio.gather(*(c.done.wait() for c in clients)), args.drain_seconds)
        except TimeoutError:
            pass
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    latencies = [(c.received[i] - stamps[i]) * 1000 for c in clients for i in c.received]
    expected = args.clients * args.events
    received = sum(len(c.received) for c in clients)
    return {
        "received": received,
        "lost": expected - received,
        "duplicates": sum(c.duplicates for c in clients),
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else float("nan"),
        "max": max(latencies) if latencies else float("nan"),
    }


def run_mode(mode: str, args) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-board-{mode}-", dir=ROOT / "var"))
    env = mode_env(mode, data_dir, args)
    if mode == "redis":
        reset_postgres(args.pg_url)
        flush_redis(args.redis_url)
    # --run-syncdb also creates tables of apps still without migrations.
    manage(env, "migrate", "--run-syncdb", "--noinput")
    token, task_id, after = manage(env, "shell", "-c", SETUP).split()[-3:]
    port = free_port()
    daphne = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "architect.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(data_dir / "daphne.log", "wb"),  # noqa: SIM115
        start_new_session=True,
    )

    def start_worker() -> list[float]:
        command = [sys.executable, "-c", WORKER, task_id, str(args.events), str(args.rate)]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"worker failed:\n{done.stderr}")
        return json.loads(done.stdout)

    try:
        wait_for_port(port, daphne)
        return asyncio.run(measure(port, token, int(after), args, start_worker))
    finally:
        os.killpg(daphne.pid, 15)
        daphne.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="events committed per second by the worker")
    parser.add_argument("--drain-seconds", type=float, default=30.0)
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/bench_board")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--modes", default="embedded,redis")
    args = parser.parse_args()

    results = {}
    for mode in args.modes.split(","):
        print(f"… {mode}: {args.clients} clients, {args.events} events at {args.rate:g}/s", flush=True)
        results[mode] = run_mode(mode, args)

    print()
    print(f"{'commit → receipt':<22}" + "".join(f"{mode:>14}" for mode in results))
    rows = [("p50 ms", "p50"), ("p99 ms", "p99"), ("max ms", "max")]
    for label, key in rows:
        print(f"{label:<22}" + "".join(f"{r[key]:>14.1f}" for r in results.values()))
    print(f"{'target p99 ms':<22}" + "".join(f"{TARGET_P99_MS[m]:>14.0f}" for m in results))
    for label, key in [("messages received", "received"), ("events lost", "lost"), ("duplicates", "duplicates")]:
        print(f"{label:<22}" + "".join(f"{r[key]:>14}" for r in results.values()))
    verdicts = [r["lost"] == 0 and r["duplicates"] == 0 and r["p99"] <= TARGET_P99_MS[m] for m, r in results.items()]
    print(f"{'meets target':<22}" + "".join(f"{'yes' if ok else 'NO':>14}" for ok in verdicts))


if __name__ == "__main__":
    main()
