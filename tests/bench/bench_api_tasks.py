"""Benchmark: /api/tasks/ list latency and queries per request over 10,000 tasks.

    .venv/bin/python tests/bench/bench_api_tasks.py [--tasks 10000] [--requests 200]

Uses a fresh temporary data dir (SQLite) unless DATABASE_URL is set. Prints
p50/p95 latency and queries per request for the product's list, side by side
with a baseline: the same endpoint with a naive queryset (no select_related /
prefetch), which is what the query-count work buys.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    os.environ.setdefault("ARCHITECT_DATA_DIR", tempfile.mkdtemp(prefix="bench-api-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "architect.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def load(n_tasks: int):
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from projects.models import Project, Task

    user = User.objects.create_superuser("bench", password="bench-pass")
    project = Project.objects.create(name="Bench", slug=f"bench-{time.time_ns()}")
    tasks = [Task(project=project, title=f"task {i}", priority=i % 11, assignee=user) for i in range(n_tasks)]
    Task.objects.bulk_create(tasks, batch_size=2000)
    edges = Task.depends_on.through
    ids = list(Task.objects.filter(project=project).values_list("id", flat=True))
    edges.objects.bulk_create([edges(from_task_id=b, to_task_id=a) for a, b in zip(ids, ids[1:], strict=False)])
    return Token.objects.create(user=user).key


def measure(client, url: str, n: int) -> tuple[list[float], int]:
    from django.db import connection

    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        assert client.get(url).status_code == 200
    timings = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.content[:300]
    return timings, len(executed)


def row(label: str, timings: list[float], queries: int) -> str:
    q = statistics.quantiles(timings, n=100)
    return f"{label:<58} p50 {q[49]:7.1f} ms   p95 {q[94]:7.1f} ms   queries/request {queries}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    setup_django()
    from django.test.utils import setup_test_environment
    from rest_framework.test import APIClient

    setup_test_environment()
    from projects import selectors
    from projects.models import Task

    token = load(args.tasks)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    print(f"{args.tasks} tasks, {args.requests} requests each, database: {os.environ.get('DATABASE_URL', 'SQLite')}")
    for url in ("/api/tasks/", "/api/tasks/?page_size=500", "/api/tasks/?ordering=-priority&search=task%209"):
        print(row(f"Architect {url}", *measure(client, url, args.requests)))
    from projects.api.views import TaskViewSet

    original = TaskViewSet.selector
    TaskViewSet.selector = staticmethod(lambda user: selectors.scoped_to_projects(Task.objects.all(), user))
    try:
        for url in ("/api/tasks/", "/api/tasks/?page_size=500"):
            print(row(f"baseline (naive queryset) {url}", *measure(client, url, max(20, args.requests // 10))))
    finally:
        TaskViewSet.selector = original


if __name__ == "__main__":
    main()
