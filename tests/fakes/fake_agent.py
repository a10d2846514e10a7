#!/usr/bin/env python3
"""A fake agent CLI that behaves like Claude Code in a terminal, without a model.

It prints a welcome box and a `> ` prompt, reads one prompt per line, shows a
busy spinner with `esc to interrupt` (Escape interrupts it), asks a
confirmation in Claude's words, edits a file in its working directory, prints
a finish line and its token usage, and returns to its prompt.

Words in a prompt change one turn:
  [deny]   ask to run `git push --force origin main` (a prompt that must not be auto-answered)
  [crash]  exit with status 3 in the middle of the turn
  [error]  print an API error instead of working
  [slow]   stay busy for a minute (to test interrupts and timeouts)
  [noconfirm]  edit without asking
Options: --think SECONDS (busy time, default 0.3), --file NAME (default NOTES.md),
--ask-trust (ask "Do you trust the files in this folder?" at start).
"""

import argparse
import os
import select
import sys
import termios
import time
import tty

SPINNER = "✻✶✳✢·"
ESC = "\x1b"


def out(text: str = "", end: str = "\n") -> None:
    sys.stdout.write(text + end)
    sys.stdout.flush()


def read_key(timeout: float | None) -> str:
    """One key in cbreak mode ('' on timeout); the terminal is restored afterwards."""
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        ready, _, _ = select.select([fd], [], [], timeout)
        return os.read(fd, 1).decode(errors="replace") if ready else ""
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


def busy(seconds: float, label: str = "Thinking") -> bool:
    """Show the spinner for SECONDS; False when Escape interrupted it."""
    started = time.monotonic()
    frame = 0
    while (elapsed := time.monotonic() - started) < seconds:
        out(f"\r\x1b[K{SPINNER[frame % len(SPINNER)]} {label}… ({elapsed:.0f}s · esc to interrupt)", end="")
        frame += 1
        if read_key(0.1) == ESC:
            out("\r\x1b[K  ⎿  Interrupted by user")
            return False
    out(f"\r\x1b[K✻ Worked for {seconds:.1f}s")
    return True


def confirm(kind: str, detail: str, question: str = "Do you want to proceed?") -> bool:
    out("╭" + "─" * 60 + "╮")
    out(f"│ {kind}")
    out(f"│   {detail}")
    out(f"│ {question}")
    out("│ ❯ 1. Yes")
    out("│   2. Yes, and don't ask again this session")
    out("│   3. No, and tell Claude what to do differently (esc)")
    out("╰" + "─" * 60 + "╯", end="")
    while True:
        key = read_key(None)
        if key in ("\n", "\r", "1", "2", "y"):
            out("")
            return True
        if key in (ESC, "3", "n"):
            out("")
            return False


def edit(path: str, prompt: str) -> None:
    with open(path, "a") as handle:
        handle.write(f"- {prompt}\n")
    out(f"⏺ Update({path})")
    out(f"  ⎿  Wrote 1 line to {path}")


def turn(prompt: str, options) -> None:
    out(f"⏺ {prompt[:100]}")
    if not busy(30.0 if "[slow]" in prompt else options.think):
        return
    if "[crash]" in prompt:
        out("Error: the fake agent crashed")
        sys.exit(3)
    if "[error]" in prompt:
        out("  ⎿  API Error: 500 Internal Server Error")
        return
    if "[deny]" in prompt:
        if confirm("Bash command", "git push --force origin main"):
            out("  ⎿  Pushed (forced)")
        return
    if "[noconfirm]" in prompt or confirm("Edit file", options.file):
        edit(options.file, prompt)
    else:
        out("  ⎿  Edit rejected")
        return
    if not busy(options.think, "Finishing"):
        return
    out("⏺ Task complete.")
    out(f"Usage: 1.2k input tokens, {len(prompt) * 3} output tokens")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--think", type=float, default=0.3)
    parser.add_argument("--file", default="NOTES.md")
    parser.add_argument("--ask-trust", action="store_true")
    options = parser.parse_args()
    out("╭" + "─" * 60 + "╮")
    out("│ ✻ Welcome to Fake Agent (behaves like Claude Code)")
    out(f"│   cwd: {os.getcwd()}")
    out("╰" + "─" * 60 + "╯")
    if options.ask_trust and not confirm("Folder", os.getcwd(), "Do you trust the files in this folder?"):
        return 1
    while True:
        try:
            line = input("> ")
        except EOFError:
            return 0
        except KeyboardInterrupt:
            out("")
            continue
        if line.strip():
            turn(line.strip(), options)
        out("")


if __name__ == "__main__":
    sys.exit(main())
