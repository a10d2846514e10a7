"""The tmux layer: libtmux on Architect's private socket.

Hot paths (capture, send keys, listing) use `Server.cmd` directly: one tmux
client process per call, several commands chained with ';' where it saves one.
Panes stay after their program exits (remain-on-exit) so a crash is visible
with its exit status instead of the session silently disappearing.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import libtmux

from sessions_pool import conf

WIDTH, HEIGHT = 200, 50
PANE_FORMAT = "#{session_name}\t#{pane_dead}\t#{pane_dead_status}\t#{history_size}\t#{cursor_y}\t#{window_activity}"
SERVER_OPTIONS = (("remain-on-exit", "on"), ("history-limit", "20000"), ("status", "off"))


class TmuxError(RuntimeError):
    pass


@dataclass(frozen=True)
class PaneInfo:
    name: str
    dead: bool
    exit_status: int | None
    history_size: int
    cursor_y: int
    activity: int  # unix seconds of the last output

    @property
    def cursor_line(self) -> int:
        """The cursor's line counted from the top of the scrollback (stable as history grows)."""
        return self.history_size + self.cursor_y


def server() -> libtmux.Server:
    return _server(conf.tmux_socket())


@lru_cache(maxsize=8)
def _server(socket_name: str) -> libtmux.Server:
    return libtmux.Server(socket_name=socket_name)


def _run(*args: str) -> list[str]:
    result = server().cmd(*args)
    if result.returncode != 0:
        raise TmuxError(" ".join(result.stderr) or f"tmux {args[0]} failed")
    return result.stdout


def new_session(name: str, *, command: str, cwd: str) -> None:
    _run("new-session", "-d", "-s", name, "-x", str(WIDTH), "-y", str(HEIGHT), "-c", cwd, command)
    for option, value in SERVER_OPTIONS:
        _run("set-option", "-g", option, value)
    # The session was created before the options: apply remain-on-exit to its pane too.
    _run("set-option", "-p", "-t", name, "remain-on-exit", "on")


def respawn(name: str, *, command: str, cwd: str) -> None:
    """Kill whatever runs in the pane and start COMMAND in CWD (history is cleared)."""
    _run("respawn-pane", "-k", "-t", name, "-c", cwd, command)
    _run("clear-history", "-t", name)


def kill(name: str) -> None:
    try:
        _run("kill-session", "-t", f"={name}")
    except TmuxError:
        pass  # already gone


def exists(name: str) -> bool:
    return server().cmd("has-session", "-t", f"={name}").returncode == 0


def _parse_pane(line: str) -> PaneInfo:
    name, dead, status, history, cursor_y, activity = line.split("\t")
    return PaneInfo(
        name=name,
        dead=dead == "1",
        exit_status=int(status) if status else None,
        history_size=int(history or 0),
        cursor_y=int(cursor_y or 0),
        activity=int(activity or 0),
    )


def list_panes() -> dict[str, PaneInfo]:
    """Every session's pane in one tmux call ({} when no server runs)."""
    result = server().cmd("list-panes", "-a", "-F", PANE_FORMAT)
    if result.returncode != 0:
        return {}
    panes = [_parse_pane(line) for line in result.stdout if line.count("\t") == 5]
    return {pane.name: pane for pane in panes}


def snapshot(name: str, *, start: int | None = None) -> tuple[PaneInfo, list[str]]:
    """The pane's state and its visible screen (or from line START of the scrollback on)."""
    capture = ["capture-pane", "-p", "-J", "-t", name]
    if start is not None:
        capture += ["-S", str(start)]
    lines = _run("display-message", "-p", "-t", name, PANE_FORMAT, ";", *capture)
    return _parse_pane(lines[0]), lines[1:]


def capture_from(name: str, absolute_line: int, *, pane: PaneInfo | None = None) -> list[str]:
    """The pane's text from ABSOLUTE_LINE (counted from the top of the scrollback) to the bottom."""
    info = pane or snapshot(name)[0]
    relative = absolute_line - info.history_size
    return snapshot(name, start=relative)[1]


def send_keys(name: str, *keys: str) -> None:
    """Send tmux key names (Enter, Escape, C-c, y…) as keys."""
    if keys:
        _run("send-keys", "-t", name, *keys)


def _pane_then(name: str, commands: list[str]) -> PaneInfo:
    """Run COMMANDS after reading the pane's position, in one tmux call; the position from before them."""
    lines = _run("display-message", "-p", "-t", name, PANE_FORMAT, ";", *commands)
    return _parse_pane(lines[0])


def send_text(name: str, text: str, *, then: tuple[str, ...] = ()) -> PaneInfo:
    """Type TEXT literally, then the keys in THEN; returns the pane as it was just before."""
    commands = ["send-keys", "-t", name, "-l", text]
    if then:
        commands += [";", "send-keys", "-t", name, *then]
    return _pane_then(name, commands)


def paste_text(name: str, text: str, *, then: tuple[str, ...] = ()) -> PaneInfo:
    """Paste TEXT with bracketed paste (keeps newlines in agents that support it), then THEN."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=True) as buffer_file:
        buffer_file.write(text)
        buffer_file.flush()
        buffer = f"architect-{name}"
        commands = ["load-buffer", "-b", buffer, buffer_file.name, ";", "paste-buffer", "-p", "-d", "-b", buffer]
        commands += ["-t", name]
        if then:
            commands += [";", "send-keys", "-t", name, *then]
        return _pane_then(name, commands)


def snapshots(names: list[str]) -> dict[str, tuple[PaneInfo, list[str]]]:
    """Several live panes' state and screen in one tmux call (each name must exist)."""
    if not names:
        return {}
    marker = f"@@architect-{secrets.token_hex(4)}@@"
    commands: list[str] = []
    for name in names:
        commands += ["display-message", "-p", "-t", name, marker + PANE_FORMAT, ";"]
        commands += ["capture-pane", "-p", "-J", "-t", name, ";"]
    found: dict[str, tuple[PaneInfo, list[str]]] = {}
    current: list[str] = []
    for line in _run(*commands[:-1]):
        if line.startswith(marker):
            pane = _parse_pane(line[len(marker) :])
            current = []
            found[pane.name] = (pane, current)
        else:
            current.append(line)
    return found


def kill_server() -> None:
    """Stop the private server and remove its socket file (tmux leaves it behind)."""
    server().cmd("kill-server")
    socket_path().unlink(missing_ok=True)


def socket_path() -> Path:
    base = os.environ.get("TMUX_TMPDIR") or "/tmp"  # noqa: S108  (tmux's own default)
    return Path(base) / f"tmux-{os.getuid()}" / conf.tmux_socket()
