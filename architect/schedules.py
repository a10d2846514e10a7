"""Periodic django-q2 jobs, declared in code and created by `setup_schedules`.

Apps add theirs with `register` in AppConfig.ready; the command is idempotent.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    name: str
    func: str
    minutes: int


SCHEDULES: list[Schedule] = []


def register(name: str, func: str, *, minutes: int) -> None:
    if all(s.name != name for s in SCHEDULES):
        SCHEDULES.append(Schedule(name, func, minutes))
