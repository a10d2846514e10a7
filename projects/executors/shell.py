"""The `shell` executor: run the task's command with /bin/sh in its working directory.

The command is `metadata["command"]`, else the task description. Output
(stdout and stderr) is appended to the run's log file as it is printed. The
command runs in its own process group, so cancel and timeout stop it and
everything it started. It gets a minimal environment (PATH, HOME, locale…)
plus the task's own variables, never the worker's (which holds database URLs
and keys).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings

from projects.engine import conf
from projects.executors.base import Executor, Outcome, Run
from projects.executors.registry import register

PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "USER", "LOGNAME", "SHELL", "TMPDIR", "TZ")
TERM_GRACE_SECONDS = 2.0
OUTPUT_TAIL_CHARS = 64_000


@dataclass
class ShellHandle:
    process: subprocess.Popen
    log: IO[bytes]
    log_path: str
    started: float
    timeout: float
    attempt_marker: str
    timed_out: bool = False
    cancelled: bool = False
    scratch: Path | None = None  # a folder made for this task, removed again if the command left it empty


@register
class ShellExecutor(Executor):
    kind = "shell"
    poll_interval = 0.05

    def start(self, run: Run) -> ShellHandle:
        command = str(run.metadata.get("command") or run.prompt).strip()
        if not command:
            raise ValueError("Nothing to run: set the task description or metadata.command to a shell command.")
        workdir = working_directory(run)
        marker = f"{run.task_id}-{run.attempt}"
        log_path = run.log_path or str(Path(settings.LOG_DIR) / f"task-{marker}.log")
        log = open(log_path, "ab")  # noqa: SIM115  (closed when the process ends)
        try:
            process = subprocess.Popen(
                ["/bin/sh", "-c", command],
                cwd=workdir,
                env=command_environment(run, marker),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: one signal stops it and its children
            )
        except OSError:
            log.close()
            raise
        handle = ShellHandle(process, log, log_path, time.monotonic(), run.timeout_seconds, marker)
        handle.scratch = workdir if workdir.parent == scratch_root() else None
        return handle

    def poll(self, handle: ShellHandle) -> Outcome | None:
        if handle.process.poll() is None:
            if time.monotonic() - handle.started <= handle.timeout:
                return None
            handle.timed_out = True
            self.cancel(handle)
        return self._outcome(handle)

    def cancel(self, handle: ShellHandle) -> None:
        handle.cancelled = not handle.timed_out
        _stop_group(handle.process)

    def describe(self, handle: ShellHandle) -> dict:
        return {"pgid": handle.process.pid, "host": conf.hostname(), "marker": handle.attempt_marker}

    @classmethod
    def abandon(cls, state: dict) -> None:
        if state.get("host") == conf.hostname() and state.get("pgid"):
            kill_marked_group(int(state["pgid"]), str(state.get("marker", "")))

    def _outcome(self, handle: ShellHandle) -> Outcome:
        code = handle.process.wait()
        _kill_group(handle.process.pid)  # background children outliving the command
        handle.log.close()
        if handle.scratch is not None:
            _remove_if_empty(handle.scratch)
        output = _tail(handle.log_path)
        data = {"pid": handle.process.pid, "timed_out": handle.timed_out}
        if handle.timed_out:
            error = f"Timed out after {handle.timeout:g}s; the command's process group was killed."
        elif handle.cancelled:
            error = "Cancelled; the command's process group was stopped."
        else:
            error = "" if code == 0 else f"Exit status {code}.\n{output[-2000:]}"
        return Outcome(succeeded=code == 0 and not handle.timed_out, output=output, error=error,
                       exit_status=code, data=data)  # fmt: skip


def working_directory(run: Run) -> Path:
    """The task's working directory, else its repository when that is a local folder, else a scratch folder."""
    for candidate in (run.working_dir, run.repository):
        if candidate and Path(candidate).is_dir():
            return Path(candidate).resolve()
    if run.working_dir:
        raise FileNotFoundError(f"Working directory {run.working_dir!r} does not exist.")
    scratch = scratch_root() / f"task-{run.task_id}"
    scratch.mkdir(parents=True, exist_ok=True)
    return scratch


def scratch_root() -> Path:
    return (Path(settings.DATA_DIR) / "work").resolve()


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty: the command left files the user may want


def command_environment(run: Run, marker: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update({str(k): str(v) for k, v in run.environment.items()})
    env.update(
        ARCHITECT_TASK_ID=str(run.task_id),
        ARCHITECT_ATTEMPT=str(run.attempt),
        ARCHITECT_RUN_MARKER=marker,
        ARCHITECT_REPOSITORY=run.repository,
        ARCHITECT_BRANCH=run.branch,
        ARCHITECT_BASE_COMMIT=run.base_commit,
    )
    return env


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the group, then SIGKILL what is left after a grace period."""
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=TERM_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    _kill_group(process.pid)


def _kill_group(pgid: int) -> None:
    _signal_group(pgid, signal.SIGKILL)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_marked_group(pgid: int, marker: str) -> int:
    """SIGKILL the processes of group PGID that carry MARKER in their environment (so a reused pid is spared)."""
    needle = f"ARCHITECT_RUN_MARKER={marker}".encode()
    killed = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or _group_of(proc) != pgid:
            continue
        try:
            if needle in (proc / "environ").read_bytes().split(b"\0"):
                os.kill(int(proc.name), signal.SIGKILL)
                killed += 1
        except (OSError, ProcessLookupError):
            continue
    return killed


def _group_of(proc: Path) -> int | None:
    try:
        stat = (proc / "stat").read_text()
    except OSError:
        return None
    # Fields after the parenthesised command name: state ppid pgrp …
    return int(stat.rsplit(")", 1)[1].split()[2])


def _tail(path: str) -> str:
    with open(path, "rb") as log:
        log.seek(0, os.SEEK_END)
        size = log.tell()
        log.seek(max(0, size - OUTPUT_TAIL_CHARS))
        return log.read().decode("utf-8", errors="replace")
