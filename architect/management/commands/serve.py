import os
import signal
import subprocess
import sys
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from architect.processes import Process, all_processes

STOP_GRACE_SECONDS = 10


class Command(BaseCommand):
    help = "Serve web + websockets (daphne), the django-q2 worker and the apps' loops until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("ARCHITECT_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("ARCHITECT_PORT", "8000")))

    def handle(self, *args, host, port, **options):
        call_command("check", fail_level="ERROR")
        self.stopping = False
        # SIGINT too, explicitly: started in the background by a script (nohup … &), serve inherits SIGINT
        # ignored, and Python then leaves it so: Ctrl-C or `kill -INT` would do nothing.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._request_stop)
        children = {p.name: self._start(p) for p in all_processes(host, port)}
        self.stdout.write(self.style.SUCCESS(f"Architect is running on http://{host}:{port}/ — Ctrl-C stops it."))
        exited = self._wait_for_exit(children)
        self._stop_all(children)
        if exited and not self.stopping:
            self.stderr.write(f"Process '{exited}' stopped unexpectedly; stopped the others. Logs: {settings.LOG_DIR}")
            sys.exit(1)

    def _start(self, process: Process) -> subprocess.Popen:
        child = subprocess.Popen(
            process.args,
            cwd=settings.BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # so Ctrl-C reaches children only through us, in order
        )
        threading.Thread(target=self._relay_output, args=(process.name, child), daemon=True).start()
        return child

    def _relay_output(self, name: str, child: subprocess.Popen) -> None:
        for line in child.stdout:
            self.stdout.write(f"[{name}] {line.rstrip()}")

    def _wait_for_exit(self, children: dict[str, subprocess.Popen]) -> str | None:
        while not self.stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    return name
            time.sleep(0.2)
        return None

    def _request_stop(self, signum, frame) -> None:
        self.stopping = True

    def _stop_all(self, children: dict[str, subprocess.Popen]) -> None:
        """SIGTERM each program, then SIGKILL whatever its process group still holds after the grace period.

        Only the leaders get SIGTERM: qcluster stops its own workers in order, and
        when they are signalled behind its back it waits out its own timeout.
        """
        self.stdout.write("Stopping…")
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _kill_group(child.pid)
        self.stdout.write("Stopped.")


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the group is empty: everything stopped in time
