"""When a failed delivery is tried again: exponential backoff with jitter (pure)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta


def delay_s(attempt: int, *, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 for the first).

    The wait doubles each time from ``base_s`` up to ``max_s``, and a random part of up to
    half of it is taken off ("equal jitter"), so that a gateway coming back after an outage
    is not hit by every process's retries at one instant: the wait is in [d/2, d] with
    d = min(max_s, base_s * 2**(attempt-1)).
    """
    if attempt < 1:
        raise ValueError("attempts count from 1")
    full = min(max_s, base_s * 2.0 ** min(attempt - 1, 60))
    spread: float = (rng or random).random()
    return full / 2 + spread * full / 2


def next_attempt(now: datetime, attempt: int, *, base_s: float, max_s: float,
                 rng: random.Random | None = None) -> datetime:
    return now + timedelta(seconds=delay_s(attempt, base_s=base_s, max_s=max_s, rng=rng))
