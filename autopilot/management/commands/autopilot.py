import signal
import time

from django.core.management.base import BaseCommand

from autopilot.loop import RunLoop


class Command(BaseCommand):
    help = (
        "Run the autopilot loop: plan goals of started runs, queue their tasks in dependency order, stop runs "
        "at their budget cap, collect finished tasks into the review queue and apply the approval rules. "
        "`make run` starts it; all state is in the database, so stopping and starting it loses nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Step until there is nothing to do, then exit.")
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds to wait when idle (0.5).")

    def handle(self, *args, once, interval, **options):
        loop = RunLoop()
        self.stopping = False
        signal.signal(signal.SIGTERM, self._stop)
        self.stdout.write(f"Autopilot loop {loop.name} started.")
        if once:
            self.stdout.write(f"{loop.run_until_idle()} step(s) changed something.")
            return
        while not self.stopping:
            if not loop.step():
                time.sleep(interval)

    def _stop(self, signum, frame):
        self.stopping = True
