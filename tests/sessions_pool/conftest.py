"""Session-pool fixtures: a private tmux server per test, the fake agent, temp git repositories."""

import importlib
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from projects.executors.base import Run
from sessions_pool import tmux
from sessions_pool.models import AgentProfile

FAKE_AGENT = Path(__file__).resolve().parents[1] / "fakes" / "fake_agent.py"


@pytest.fixture(autouse=True)
def seeded_profiles(db):
    """The migration's seeded profiles, again: transactional tests (anyone's) flush them away."""
    from django.apps import apps

    importlib.import_module("sessions_pool.migrations.0002_seed_profiles").seed(apps, None)


@pytest.fixture
def tmux_socket(settings, tmp_path):
    """A tmux server of its own (killed afterwards), with sessions and worktrees under tmp_path."""
    settings.ARCHITECT_TMUX_SOCKET = f"architect-test-{uuid.uuid4().hex[:10]}"
    settings.ARCHITECT_SESSIONS_DIR = str(tmp_path / "sessions")
    settings.ARCHITECT_WORKTREES_DIR = str(tmp_path / "worktrees")
    yield settings.ARCHITECT_TMUX_SOCKET
    tmux.kill_server()


def fake_command(*options: str) -> str:
    return " ".join([sys.executable, str(FAKE_AGENT), *options])


@pytest.fixture
def fake_profile(db, tmux_socket):
    """The seeded Claude Code profile, its patterns untouched, running the fake agent instead of `claude`."""
    profile = AgentProfile.objects.get(name="claude")
    profile.command = fake_command("--think", "0.3")
    profile.min_sessions = 0
    profile.save()
    AgentProfile.objects.exclude(pk=profile.pk).update(enabled=False)
    return profile


def git(cwd, *args) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("# Demo\n")
    git(path, "add", ".")
    git(path, "-c", "user.name=T", "-c", "user.email=t@localhost", "commit", "-qm", "init")
    return path


def make_run(task, **overrides) -> Run:
    names = ("repository", "branch", "base_commit", "working_dir", "environment", "metadata", "skills", "title")
    fields = {name: getattr(task, name) for name in names}
    fields.update(task_id=task.pk, project_id=task.project_id, attempt=1, prompt=task.description,
                  timeout_seconds=task.timeout_seconds)  # fmt: skip
    fields.update(overrides)
    return Run(**fields)
