"""A claimer process for the concurrency test: claim until the queue is empty, print the ids."""

import json
import os
import time

from projects.engine.claim import claim_next


def claim_until_empty(name: str, go_file: str) -> None:
    while not os.path.exists(go_file):
        time.sleep(0.01)
    claimed = []
    while (task := claim_next(runner=name, executors=["shell"], skills=[], lease_seconds=600)) is not None:
        claimed.append(task.pk)
    print(json.dumps(claimed))
