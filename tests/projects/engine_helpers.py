"""Shared pieces for the task-engine tests: real worker processes against the test database."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from projects.models import Task, TaskStatus

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the test database, for processes started by a test."""
    db = settings.DATABASES["default"]
    if not settings.IS_POSTGRES:
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    user, host, port = db.get("USER") or "postgres", db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{connection.settings_dict['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url(), "PYTHONUNBUFFERED": "1", **extra}
    env.setdefault("ARCHITECT_DATA_DIR", str(settings.DATA_DIR))
    return env


def start(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen) -> None:
    """Stop PROCESS and its whole process group."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=3)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=5)


def wait_for(predicate, *, timeout: float, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {message}")


def bulk_ready_tasks(project, count: int, **fields) -> list[int]:
    fields.setdefault("executor", "shell")
    rows = [Task(project=project, title=f"t{i}", status=TaskStatus.READY, **fields) for i in range(count)]
    Task.objects.bulk_create(rows, batch_size=500)
    with connection.cursor() as cursor:
        # Fresh planner statistics after a bulk load, as autovacuum would give a live server.
        cursor.execute("ANALYZE projects_task" if settings.IS_POSTGRES else "ANALYZE")
    return list(Task.objects.filter(project=project).values_list("id", flat=True))
