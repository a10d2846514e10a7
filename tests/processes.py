"""Real processes on the test database, for the integration tests.

Daphne is started as its own program (`python -m daphne`). Django programs
(`manage.py qcluster`, `dispatcher`, `shell`…, or one function) are forked
from a warm Django server (tests/forkserver.py), which spares each about 1.5 s
of start-up; the start-up path itself is exercised by the tests that run
`manage.py` for real (tests/architect/test_settings.py, test_commands.py).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The URL of the database this test process uses (the test database, not the configured one)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = (db["USER"] or "postgres") + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        DATABASE_URL=database_url(),
        ARCHITECT_DATA_DIR=str(settings.DATA_DIR),  # same secret key: session cookies stay valid
        PYTHONUNBUFFERED="1",
        ARCHITECT_LOG_LEVEL="WARNING",
        **({"REDIS_URL": settings.REDIS_URL} if settings.REDIS_URL else {}),
        **extra,
    )
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_path(name: str) -> Path:
    return settings.LOG_DIR / name


def start(args: list[str], log_name: str, **env: str) -> subprocess.Popen:
    """Start a program of its own (not forked), in its own process group, logging to LOG_DIR/LOG_NAME."""
    with open(log_path(log_name), "ab") as log:
        return subprocess.Popen(
            args, cwd=ROOT, env=child_env(**env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process, grace: float = 5) -> None:
    """Stop PROCESS as Ctrl-C under `serve` would: SIGTERM to it, then SIGKILL to whatever its group left.

    Only the leader gets SIGTERM: qcluster, for one, stops its own workers and
    takes ten seconds if they are signalled behind its back.
    """
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    kill_group(process)


def kill_group(process) -> None:
    """SIGKILL PROCESS and everything in its process group: no chance to clean up, as a power cut."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


def stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name: state, parent pid, …"""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    """Whether PID runs; a zombie waiting for its parent counts as gone."""
    try:
        return stat_fields(pid)[0] != "Z"
    except FileNotFoundError:
        return False


def descendants(pid: int) -> set[int]:
    """Every process below PID, in whatever session or process group."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(stat_fields(int(entry.name))[1])
            except (FileNotFoundError, ProcessLookupError):
                continue  # gone meanwhile
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def wait_for(predicate, *, timeout: float = 10.0, interval: float = 0.05, step=None, message: object = None):
    """Call STEP (if any) until PREDICATE() is truthy and return its value.

    On timeout, AssertionError naming MESSAGE (its str() is taken then, so it can describe the state).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if step is not None:
            step()
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message or getattr(predicate, '__name__', '?')}")


def clear_redis_namespace() -> None:
    """Delete this test run's keys from Redis (channel groups, undelivered messages, jobs, cache), if in use."""
    _delete_redis_keys(f"{settings.REDIS_PREFIX}*", f"django_q:{settings.REDIS_PREFIX}:*")


def clear_redis_job_queue() -> None:
    """Drop the jobs waiting in django-q2's Redis queue, if in use (the ORM broker's go with a rollback)."""
    if settings.REDIS_URL:
        import redis

        with redis.Redis.from_url(settings.REDIS_URL) as client:
            client.delete(f"django_q:{settings.REDIS_PREFIX}:q")


def _delete_redis_keys(*patterns: str) -> None:
    if not settings.REDIS_URL:
        return
    import redis

    with redis.Redis.from_url(settings.REDIS_URL) as client:
        for pattern in patterns:
            for key in client.scan_iter(match=pattern):
                client.delete(key)


# --- Daphne -------------------------------------------------------------------


class Daphne:
    """One daphne serving architect.asgi on a fixed port, restartable."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.env: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, **env: str) -> Daphne:
        self.env = env or self.env
        args = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "architect.asgi:application"]
        self.process = start(args, f"daphne-{self.port}.log", **self.env)
        wait_for_http(self.url + "/health/", self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


def wait_for_http(url: str, process, timeout: float = 30) -> None:
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
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def api_post(base_url: str, path: str, token: str, data: dict) -> dict:
    request = urllib.request.Request(  # noqa: S310  (loopback)
        base_url + path,
        data=json.dumps(data).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


# --- Django programs forked from a warm server --------------------------------


class ForkedProcess:
    """A process forked by the server; answers like subprocess.Popen (pid, poll, wait, terminate…)."""

    def __init__(self, server: _ForkServer, pid: int, args, stdout: Path, stderr: Path):
        self.server, self.pid, self.args = server, pid, args
        self.stdout_path, self.stderr_path = stdout, stderr
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.server.request(op="wait", pid=self.pid)["returncode"]
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self.wait(timeout)
        return self.stdout_path.read_text(), self.stderr_path.read_text()


class _ForkServer:
    def __init__(self, env: dict[str, str]):
        self.database = env["DATABASE_URL"]
        self.lock = threading.Lock()
        with open(log_path("forkserver.log"), "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "tests" / "forkserver.py")],
                cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
            )  # fmt: skip

    def request(self, **request) -> dict:
        with self.lock:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError(f"the fork server died; see {log_path('forkserver.log')}")
        return json.loads(answer)

    def spawn(self, log_name: str | None, env: dict[str, str], **what) -> ForkedProcess:
        base = settings.LOG_DIR / "forked"
        base.mkdir(exist_ok=True)
        if log_name:
            stdout = stderr = log_path(log_name)
        else:
            name = uuid.uuid4().hex[:12]
            stdout, stderr = base / f"{name}.out", base / f"{name}.err"
            stdout.touch()
            stderr.touch()
        pid = self.request(op="spawn", env=child_env(**env), stdout=str(stdout), stderr=str(stderr), **what)["pid"]
        return ForkedProcess(self, pid, what, stdout, stderr)

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


_server: _ForkServer | None = None


def _fork_server() -> _ForkServer:
    global _server
    if _server is None or _server.database != database_url() or _server.process.poll() is not None:
        if _server is not None:
            _server.close()
        _server = _ForkServer(child_env())
    return _server


def warm_up() -> None:
    """Start the fork server now, so its few seconds of imports overlap whatever runs next."""
    _fork_server()


@atexit.register
def _close_fork_server() -> None:
    if _server is not None:
        _server.close()


def manage(*args: str, log_name: str | None = None, **env: str) -> ForkedProcess:
    """`manage.py ARGS…` in a process of its own; ENV is added to its environment."""
    return _fork_server().spawn(log_name, env, manage=list(args))


def call(target: str, *args, **env: str) -> ForkedProcess:
    """TARGET ("module:function") called with ARGS in a process of its own; see communicate() for its output."""
    return _fork_server().spawn(None, env, call=target, args=list(args))


def python(code: str, **env: str) -> ForkedProcess:
    """CODE run with Django set up, in a process of its own; see communicate() for its output."""
    return _fork_server().spawn(None, env, code=code)


def output(process: ForkedProcess, timeout: float = 60) -> str:
    """What PROCESS printed, once it has exited successfully."""
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return out


def manage_shell(code: str, timeout: float = 60) -> str:
    """Run CODE in `manage.py shell -c` (another process, committing on its own) and return its stdout."""
    return output(manage("shell", "-c", code), timeout)
