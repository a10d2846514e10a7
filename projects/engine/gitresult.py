"""The resulting commit and diff of a run, when its working directory is a git repository."""

import subprocess
from pathlib import Path

DIFF_LIMIT_CHARS = 100_000


def _git(workdir: str, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=workdir, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_result(workdir: str, base_commit: str = "") -> dict:
    """{commit, branch, diff, diff_stat} for WORKDIR, or {} when it is not a git work tree."""
    if not workdir or not Path(workdir).is_dir() or _git(workdir, "rev-parse", "--is-inside-work-tree") is None:
        return {}
    commit = (_git(workdir, "rev-parse", "HEAD") or "").strip()
    against = [base_commit] if base_commit else (["HEAD"] if commit else [])
    diff = _git(workdir, "diff", *against) or ""
    result = {
        "commit": commit,
        "branch": (_git(workdir, "rev-parse", "--abbrev-ref", "HEAD") or "").strip(),
        "diff_stat": (_git(workdir, "diff", "--stat", *against) or "").strip(),
        "diff": diff[:DIFF_LIMIT_CHARS],
    }
    if len(diff) > DIFF_LIMIT_CHARS:
        result["diff_truncated"] = True
    return result
