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
import re
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

from tests.processes import free_port  # noqa: E402

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


TITLE = re.compile(r'"title":"bench (\d+)"')


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
                # Stamp first and parse as little as possible: the client's own backlog would count as latency.
                if '"resumed"' in message.data[:30]:
                    ready.set()
                    continue
                match = TITLE.search(message.data)
                if match is None:
                    continue
                index = int(match.group(1))
                if index in self.received:
                    self.duplicates += 1
                self.received.setdefault(index, now)
                if len(self.received) == self.count:
                    self.done.set()
                    return


async def client_group(url: str, token: str, after: int, clients: int, events: int, drain: float) -> dict:
    """One process's share of the clients: connect, say 'ready', collect, report receipts as JSON."""
    group = [Client(events) for _ in range(clients)]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        readies = [asyncio.Event() for _ in group]
        tasks = [asyncio.create_task(c.run(session, url, token, after, r)) for c, r in zip(group, readies, strict=True)]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # the worker has committed everything
        try:
            await asyncio.wait_for(asyncio.gather(*(c.done.wait() for c in group)), drain)
        except TimeoutError:
            pass
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {"received": [c.received for c in group], "duplicates": sum(c.duplicates for c in group)}


def measure(port: int, token: str, after: int, args, start_worker) -> dict:
    """Clients in several processes (as browsers would be), so no one client loop's backlog skews receipt."""
    url = f"ws://127.0.0.1:{port}/ws/board/"
    shares = [len(range(i, args.clients, args.client_processes)) for i in range(args.client_processes)]
    drain = str(args.drain_seconds)
    groups = [
        subprocess.Popen(
            [sys.executable, __file__, "--client-group", url, token, str(after), str(n), str(args.events), drain],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in shares
        if n
    ]
    for group in groups:
        if group.stdout.readline().strip() != "ready":
            raise SystemExit("a client group failed to connect")
    began = time.monotonic()
    stamps = start_worker()
    committed_in = time.monotonic() - began
    reports = [json.loads(group.communicate("done\n")[0]) for group in groups]
    receipts = [{int(k): v for k, v in r.items()} for report in reports for r in report["received"]]
    latencies = [(at - stamps[i]) * 1000 for received in receipts for i, at in received.items()]
    received = sum(len(r) for r in receipts)
    per_client = sorted(len(r) for r in receipts)
    if per_client and per_client[0] < args.events:
        print(
            f"  per-client receipts: min {per_client[0]}, median {per_client[len(per_client) // 2]}, "
            f"max {per_client[-1]}; clients short: {sum(n < args.events for n in per_client)}",
            flush=True,
        )
    return {
        "rate": args.events / committed_in,
        "received": received,
        "lost": args.clients * args.events - received,
        "duplicates": sum(report["duplicates"] for report in reports),
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
        stderr=open(ROOT / "var" / f"bench-board-daphne-{mode}.log", "wb"),  # noqa: SIM115
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
        return measure(port, token, int(after), args, start_worker)
    finally:
        os.killpg(daphne.pid, 15)
        daphne.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    if sys.argv[1:2] == ["--client-group"]:
        url, token, after, clients, events, drain = sys.argv[2:8]
        report = asyncio.run(client_group(url, token, int(after), int(clients), int(events), float(drain)))
        json.dump(report, sys.stdout)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="events committed per second by the worker")
    parser.add_argument("--drain-seconds", type=float, default=30.0, help="how long to wait after the last commit")
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/bench_board")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--modes", default="embedded,redis")
    args = parser.parse_args()

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
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
    print(f"{'achieved commits/s':<22}" + "".join(f"{r['rate']:>14.1f}" for r in results.values()))
    for label, key in [("messages received", "received"), ("events lost", "lost"), ("duplicates", "duplicates")]:
        print(f"{label:<22}" + "".join(f"{r[key]:>14}" for r in results.values()))
    verdicts = [r["lost"] == 0 and r["duplicates"] == 0 and r["p99"] <= TARGET_P99_MS[m] for m, r in results.items()]
    print(f"{'meets target':<22}" + "".join(f"{'yes' if ok else 'NO':>14}" for ok in verdicts))


if __name__ == "__main__":
    main()
