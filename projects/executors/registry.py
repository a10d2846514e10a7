"""Executors registered by kind. Apps register theirs in AppConfig.ready."""

from projects.executors.base import Executor

_EXECUTORS: dict[str, type[Executor]] = {}


def register(executor_class: type[Executor]) -> type[Executor]:
    """Class decorator: make EXECUTOR_CLASS the executor for its `kind`."""
    _EXECUTORS[executor_class.kind] = executor_class
    return executor_class


def get_executor(kind: str) -> Executor:
    try:
        return _EXECUTORS[kind]()
    except KeyError:
        raise LookupError(f"No executor is registered for kind '{kind}'.") from None


def executor_class(kind: str) -> type[Executor]:
    try:
        return _EXECUTORS[kind]
    except KeyError:
        raise LookupError(f"No executor is registered for kind '{kind}'.") from None


def registered_kinds() -> list[str]:
    return sorted(_EXECUTORS)
