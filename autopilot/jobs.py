"""django-q2 job entry points for the autopilot."""

from autopilot.services import progress, reviews


def close_finished_work() -> int:
    """Scheduled: close milestones and goals whose tasks are all done (also done by the run loop)."""
    return progress.close_all_finished_work()


def collect_reviews() -> int:
    return reviews.collect_waiting()
