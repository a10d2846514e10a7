"""Keys that are generated once into the data directory and reused after."""

import os
from collections.abc import Callable
from pathlib import Path


def read_or_create_key(path: Path, generate: Callable[[], str]) -> str:
    """Return the key stored at PATH, creating it (mode 0600) on first use.

    O_EXCL makes concurrent first starts (web + worker) agree on one key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_when_written(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(generate())
    return path.read_text().strip()


def _read_when_written(path: Path) -> str:
    # Another process may have created the file but not yet written the key.
    import time

    for _ in range(50):
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.05)
    raise RuntimeError(f"Key file {path} is empty; delete it to generate a new key.")
