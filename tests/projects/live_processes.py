"""Real daphne, qcluster and `manage.py shell` processes on the test database, for the live-board tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The URL of the database this test process uses (the test database, not the configured one)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        ARCHITECT_DATA_DIR=str(settings.DATA_DIR),  # same secret key: session cookies stay valid
        PYTHONUNBUFFERED="1",
        ARCHITECT_LOG_LEVEL="WARNING",
    )
    return env


def start(args: list[str], log_name: str) -> subprocess.Popen:
    log = open(settings.LOG_DIR / log_name, "ab")  # noqa: SIM115  (closed with the process)
    return subprocess.Popen(
        args, cwd=ROOT, env=child_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen, timeout: float = 10) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Daphne:
    """One daphne serving architect.asgi on a fixed port, restartable."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Daphne:
        args = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "architect.asgi:application"]
        self.process = start(args, f"daphne-{self.port}.log")
        wait_for_http(self.url + "/health/", self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}; see {settings.LOG_DIR}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310  (loopback)
                return
        except urllib.error.HTTPError:
            return  # it answers; what /health/ thinks of the rest is not our business here
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def start_qcluster() -> subprocess.Popen:
    return start([sys.executable, "manage.py", "qcluster"], "qcluster-board.log")


def manage_shell(code: str, timeout: float = 60) -> str:
    """Run CODE in `manage.py shell -c` (another process, committing on its own) and return its stdout."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def api_post(base_url: str, path: str, token: str, data: dict) -> dict:
    request = urllib.request.Request(  # noqa: S310  (loopback)
        base_url + path,
        data=json.dumps(data).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())
