import signal

from django.core.management.base import BaseCommand

from sessions_pool import conf
from sessions_pool.supervisor import Supervisor


class Command(BaseCommand):
    help = "Watch the agent sessions: states, auto-confirm, alerts, pool sizes, idle reaping, crash restarts."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=None, help="Seconds between looks (default 0.5).")
        parser.add_argument("--once", action="store_true", help="Run one step and exit.")
        parser.add_argument("--keep-sessions", action="store_true", help="Leave the sessions running on exit.")

    def handle(self, *args, interval, once, keep_sessions, **options):
        supervisor = Supervisor(interval=interval if interval is not None else conf.supervisor_interval())
        if once:
            supervisor.step()
            return

        def request_stop(signum, frame):
            supervisor.stopping = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        self.stdout.write(
            f"Supervising agent sessions every {supervisor.interval}s (tmux socket {conf.tmux_socket()})."
        )
        supervisor.run(keep_sessions=keep_sessions)
        self.stdout.write("Supervisor stopped.")
