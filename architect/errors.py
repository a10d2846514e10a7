"""Domain errors that adapters translate into clear client answers."""


class DomainError(Exception):
    """A request that is well-formed but not allowed in the current state."""

    status_code = 409

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class IllegalTransition(DomainError):
    def __init__(self, *, current: str, requested: str, allowed: list[str]):
        super().__init__(
            f"Cannot move from '{current}' to '{requested}'.",
            current=current,
            requested=requested,
            allowed=sorted(allowed),
        )


class NotAllowed(DomainError):
    status_code = 403


class LeaseLost(DomainError):
    """A runner reported on a task it no longer holds (reaped, cancelled or claimed by another)."""

    def __init__(self, task):
        super().__init__(
            f"Task {task.pk} is not held by this runner (status '{task.status}').",
            status=task.status,
            claimed_by=task.claimed_by,
        )
