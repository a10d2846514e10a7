import signal
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from projects.engine import conf
from projects.engine.dispatcher import Dispatcher


class Command(BaseCommand):
    help = (
        "Run the task dispatcher: claim ready tasks up to worker capacity, enqueue their django-q2 jobs, "
        "and reap expired leases. `make run` starts it; run `manage.py qcluster` for the workers."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run one step and exit.")
        parser.add_argument("--capacity", type=int, help="Tasks kept claimed or running at once (default: 2×workers).")
        parser.add_argument("--interval", type=float, help="Seconds to wait when there is nothing to do (0.25).")
        parser.add_argument("--skills", help="Comma-separated skills the workers offer ('*' = any, the default).")

    def handle(self, *args, once, capacity, interval, skills, **options):
        dispatcher = Dispatcher()
        if capacity:
            dispatcher.capacity = capacity
        if skills is not None:
            dispatcher.skills = None if skills.strip() == "*" else [s.strip() for s in skills.split(",") if s.strip()]
        interval = interval or conf.dispatch_interval()
        self.stopping = False
        signal.signal(signal.SIGTERM, self._stop)
        self.stdout.write(
            f"Dispatcher {dispatcher.name}: kinds {', '.join(dispatcher.kinds)}; capacity {dispatcher.capacity}."
        )
        total = 0
        while not self.stopping:
            try:
                dispatched = dispatcher.step()
            except DatabaseError as exc:
                # A busy or restarting database is not a reason to stop dispatching: wait and try again.
                self.stderr.write(f"Dispatcher step failed, retrying: {exc}")
                close_old_connections()
                time.sleep(max(interval, 1.0))
                continue
            total += dispatched
            if dispatched:
                self.stdout.write(f"Dispatched {dispatched} task(s) ({total} since start).")
            if once:
                break
            if not dispatched:
                time.sleep(interval)

    def _stop(self, signum, frame):
        self.stopping = True
