"""Git worktrees: one working copy and branch per task, so parallel agents never share files."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sessions_pool import conf

GIT_IDENTITY = ("-c", "user.name=Architect", "-c", "user.email=architect@localhost")
MAX_DIFF_CHARS = 2_000_000


class WorktreeError(RuntimeError):
    pass


@dataclass(frozen=True)
class Worktree:
    repository: str
    path: str
    branch: str
    base_commit: str


def git(cwd: str, *args: str, check: bool = True) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise WorktreeError(f"git {' '.join(args)}: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def repository_root(repository: str) -> str:
    """The top of the local repository REPOSITORY (URLs are not cloned here)."""
    if not repository or not Path(repository).is_dir():
        raise WorktreeError(f"Repository {repository!r} is not a local directory.")
    return git(repository, "rev-parse", "--show-toplevel").strip()


def task_branch(task_id: int, requested: str = "") -> str:
    return requested or f"architect/task-{task_id}"


def worktree_create(*, repository: str, task_id: int, attempt: int, branch: str = "", base: str = "") -> Worktree:
    """A fresh worktree on the task's branch, reset to BASE (default: the repository's HEAD)."""
    root = repository_root(repository)
    base_commit = git(root, "rev-parse", "--verify", f"{base or 'HEAD'}^{{commit}}").strip()
    slug = hashlib.sha1(root.encode()).hexdigest()[:8]  # noqa: S324  (a directory name)
    path = conf.worktrees_dir() / slug / f"task-{task_id}-{attempt}"
    if path.exists():
        worktree_remove(repository=root, path=str(path))
    name = task_branch(task_id, branch)
    git(root, "worktree", "add", "--force", "-B", name, str(path), base_commit)
    return Worktree(repository=root, path=str(path), branch=name, base_commit=base_commit)


def worktree_commit(worktree: Worktree, *, message: str) -> tuple[str, str]:
    """Commit everything the agent changed; returns (commit, diff against the base), ("", "") when nothing."""
    git(worktree.path, "add", "--all")
    if not git(worktree.path, "status", "--porcelain").strip():
        committed = git(worktree.path, "rev-parse", "HEAD").strip()
        if committed == worktree.base_commit:
            return "", ""
    else:
        git(worktree.path, *GIT_IDENTITY, "commit", "--no-verify", "--quiet", "-m", message)
    commit = git(worktree.path, "rev-parse", "HEAD").strip()
    diff = git(worktree.path, "diff", "--binary", worktree.base_commit, commit)
    return commit, diff[:MAX_DIFF_CHARS]


def worktree_remove(*, repository: str, path: str, branch: str = "") -> None:
    """Remove the worktree at PATH (and BRANCH, when given); never fails on what is already gone."""
    git(repository, "worktree", "remove", "--force", path, check=False)
    if Path(path).exists():
        shutil.rmtree(path, ignore_errors=True)
    git(repository, "worktree", "prune", check=False)
    if branch:
        git(repository, "branch", "-D", branch, check=False)
