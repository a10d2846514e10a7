"""`manage.py serve` (what `make run` ends with): every program up, and Ctrl-C stops them all, promptly."""

import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from architect.management.commands.serve import STOP_GRACE_SECONDS
from tests import processes

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tmux_socket():
    name = f"architect-serve-{uuid.uuid4().hex[:8]}"
    yield name
    subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True)


def test_ctrl_c_stops_every_program_well_within_the_grace_period(tmux_socket):
    port = processes.free_port()
    log_name = f"serve-{port}.log"  # its own: logs are appended to, and "Stopped." must be this run's
    serve = processes.start([sys.executable, "manage.py", "serve", "--port", str(port)], log_name,
                            ARCHITECT_TMUX_SOCKET=tmux_socket)  # fmt: skip
    try:
        processes.wait_for_http(f"http://127.0.0.1:{port}/health/", serve)
        processes.wait_for(lambda: everything_started(serve.pid), timeout=30, message="all programs under serve")
        started = processes.descendants(serve.pid)

        began = time.monotonic()
        serve.send_signal(signal.SIGINT)  # what Ctrl-C in its terminal sends
        assert serve.wait(timeout=STOP_GRACE_SECONDS + 5) == 0
        took = time.monotonic() - began
    finally:
        processes.stop(serve)

    assert took < STOP_GRACE_SECONDS / 2, f"stopping took {took:.1f} s"
    assert not [pid for pid in started if processes.alive(pid)]
    assert "Stopped." in processes.log_path(log_name).read_text()


def everything_started(serve_pid: int) -> bool:
    programs = Counter(program(pid) for pid in processes.descendants(serve_pid))
    # qcluster's leader plus its sentinel, monitor, pusher and workers: the ones a group SIGTERM upsets.
    return programs["qcluster"] >= 4 and all(programs[name] for name in ("daphne", "dispatcher", "autopilot",
                                                                           "supervise_sessions"))  # fmt: skip


def program(pid: int) -> str:
    """'daphne', 'qcluster'…: what a python process runs (`-m daphne`, `manage.py qcluster`)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return ""
    return argv[2] if len(argv) > 2 else ""
