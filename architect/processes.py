"""The processes `manage.py serve` runs together (web, worker, loops).

Apps add their long-running loops (dispatcher, supervisor…) with `register`
in AppConfig.ready, so `make run` starts everything without knowing the apps.
"""

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Process:
    name: str
    args: tuple[str, ...]


_REGISTERED: list[Process] = []


def register(name: str, *manage_args: str) -> None:
    """Run `manage.py MANAGE_ARGS…` under serve, as NAME."""
    if all(p.name != name for p in _REGISTERED):
        _REGISTERED.append(Process(name, (sys.executable, "manage.py", *manage_args)))


def all_processes(host: str, port: int) -> list[Process]:
    web = Process("web", (sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "architect.asgi:application"))
    worker = Process("worker", (sys.executable, "manage.py", "qcluster"))
    return [web, worker, *_REGISTERED]
