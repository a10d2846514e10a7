"""django-q2 job entry points: they take ids and call the engine."""

from projects.engine import leases, runner


def run_task(task_id: int, lease_token: str) -> str:
    """Run the claimed attempt of TASK_ID identified by LEASE_TOKEN (enqueued by the dispatcher)."""
    return runner.run_task(task_id, lease_token, runner.runner_name())


def reap_leases() -> int:
    """Scheduled: take back tasks whose runner stopped renewing its lease."""
    return leases.reap_expired()
