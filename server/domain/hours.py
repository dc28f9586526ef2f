"""Opening hours: may a branch issue tickets at a given instant?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse(hhmm: str) -> time:
    if hhmm == "24:00":
        return time.max
    return time.fromisoformat(hhmm)


def is_open(hours: Mapping[str, Sequence[Sequence[str]]], now: datetime, timezone: str) -> bool:
    """True when ``now`` falls in one of the day's ``[open, close)`` periods.

    An empty ``hours`` mapping means always open (a branch not yet configured
    should not refuse customers); a weekday missing from a non-empty mapping is closed.
    """
    if not hours:
        return True
    local = now.astimezone(ZoneInfo(timezone))
    periods = hours.get(WEEKDAYS[local.weekday()], [])
    t = local.time()
    return any(_parse(start) <= t < _parse(end) for start, end in periods)
