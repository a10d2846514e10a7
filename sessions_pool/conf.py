"""Session-pool configuration, read from Django settings or the environment.

The tmux socket is private to the data directory (and to the pytest-xdist
worker), so Architect never touches a user's own tmux server and parallel test
runs never share sessions.
"""

import hashlib
import os
from pathlib import Path

from django.conf import settings

from architect.lib.env import env_str


def _setting(name: str, env: str, default: str) -> str:
    return str(getattr(settings, name, None) or env_str(env, default))


def tmux_socket() -> str:
    explicit = _setting("ARCHITECT_TMUX_SOCKET", "ARCHITECT_TMUX_SOCKET", "")
    if explicit:
        return explicit
    seed = f"{settings.DATA_DIR}|{os.environ.get('PYTEST_XDIST_WORKER', '')}"
    return "architect-" + hashlib.sha1(seed.encode()).hexdigest()[:10]  # noqa: S324  (a name, not security)


def sessions_dir() -> Path:
    path = Path(_setting("ARCHITECT_SESSIONS_DIR", "ARCHITECT_SESSIONS_DIR", str(settings.DATA_DIR / "sessions")))
    path.mkdir(parents=True, exist_ok=True)
    return path


def worktrees_dir() -> Path:
    path = Path(_setting("ARCHITECT_WORKTREES_DIR", "ARCHITECT_WORKTREES_DIR", str(settings.DATA_DIR / "worktrees")))
    path.mkdir(parents=True, exist_ok=True)
    return path


def supervisor_interval() -> float:
    return float(_setting("ARCHITECT_SUPERVISOR_INTERVAL", "ARCHITECT_SUPERVISOR_INTERVAL", "0.5"))
