"""A warm Django process that forks the integration tests' worker processes.

Starting a Django process here costs about 1.5 s of imports and set-up; an
integration test starts a dozen (qcluster, dispatcher, autopilot, shells,
racing claimers). This server pays that once: it sets Django up with the
test database in its environment, never opens a database connection itself,
and forks each child on request. A child is a real, separate process with its
own session, connections and output files, running exactly what `manage.py`
would run (or one function); the tests signal it by pid as any other process.

Protocol: one JSON object per line on stdin, one JSON answer per line on stdout.
  {"op": "spawn", "manage": [...] | "call": "module:function", "args": [...],
   "code": "...", "env": {the whole environment}, "stdout": PATH, "stderr": PATH}  -> {"pid": N}
  {"op": "wait", "pid": N, "timeout": SECONDS}                    -> {"returncode": N | null}
End of input: every child's process group is killed and the server exits.
"""

import importlib
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "architect.settings")

import django  # noqa: E402

django.setup()

# LiteLLM takes ~3.5 s to import; children that route a call (autopilot planning,
# a shell routing one) would each pay it.
from llmrouting import transport  # noqa: E402

transport.litellm()


def run_child(request: dict) -> int:
    """What the forked child runs; returns its exit code."""
    from django.core.management import execute_from_command_line

    os.environ.clear()  # the test's environment now, not the one the server started with
    os.environ.update(request["env"])
    if "manage" in request:
        sys.argv = ["manage.py", *request["manage"]]
        execute_from_command_line(sys.argv)
    elif "call" in request:
        module, function = request["call"].split(":")
        getattr(importlib.import_module(module), function)(*request.get("args", []))
    else:
        exec(compile(request["code"], "<forked>", "exec"), {"__name__": "__forked__"})  # noqa: S102
    return 0


def redirect(fd: int, path: str | None, flags: int) -> None:
    target = os.open(path or os.devnull, flags, 0o644)
    os.dup2(target, fd)
    os.close(target)


def child(request: dict, replies_fd: int) -> None:
    os.close(replies_fd)
    os.setsid()  # its own process group: a test can stop it with everything it started
    redirect(0, None, os.O_RDONLY)
    redirect(1, request.get("stdout"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    redirect(2, request.get("stderr") or request.get("stdout"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    sys.stdin = open(os.devnull)  # noqa: SIM115
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    code = 1
    try:
        code = run_child(request)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # noqa: BLE001  (reported in the child's output, as Python would)
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def wait(pid: int, timeout: float, finished: dict[int, int]) -> int | None:
    deadline = time.monotonic() + timeout
    while pid not in finished:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            finished[pid] = os.waitstatus_to_exitcode(status)
        elif time.monotonic() >= deadline:
            return None
        else:
            time.sleep(0.01)
    return finished[pid]


def serve() -> None:
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    children: list[int] = []
    finished: dict[int, int] = {}
    try:
        for line in sys.stdin:
            request = json.loads(line)
            if request["op"] == "spawn":
                pid = os.fork()
                if pid == 0:
                    child(request, replies.fileno())
                children.append(pid)
                answer = {"pid": pid}
            else:
                answer = {"returncode": wait(request["pid"], request.get("timeout", 0), finished)}
            replies.write(json.dumps(answer) + "\n")
    finally:
        for pid in children:
            if pid not in finished:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


if __name__ == "__main__":
    serve()
