"""Exponential backoff with jitter, for retrying work that failed."""

import random


def backoff_delay(
    attempt: int, *, base: float, cap: float, jitter: float = 0.2, rand: random.Random | None = None
) -> float:
    """Seconds to wait before attempt ATTEMPT+1, after ATTEMPT failed (ATTEMPT counts from 1).

    base · 2^(attempt−1), capped at CAP, then shortened by up to JITTER (a
    fraction) so runners that failed together do not all retry together.
    Jitter only shortens, so CAP stays a true upper bound.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    delay = min(cap, base * 2 ** (attempt - 1))
    spread = (rand or random).random() * jitter
    return delay * (1 - spread)
