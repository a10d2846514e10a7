"""A claimer process for the concurrency test: claim until the queue is empty, print the ids.

Usage: python tests/projects/engine_claimer.py NAME GO_FILE (with DATABASE_URL set).
"""

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "architect.settings")

import django  # noqa: E402

django.setup()

from projects.engine.claim import claim_next  # noqa: E402


def main(name: str, go_file: str) -> None:
    while not os.path.exists(go_file):
        time.sleep(0.01)
    claimed = []
    while (task := claim_next(runner=name, executors=["shell"], skills=[], lease_seconds=600)) is not None:
        claimed.append(task.pk)
    print(json.dumps(claimed))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
