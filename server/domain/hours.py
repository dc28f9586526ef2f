"""Opening hours: may a branch (or one of its services) issue tickets at a given instant?

Hours are a mapping of weekday (``mon`` … ``sun``) to ``[open, close)`` periods as
``"HH:MM"`` strings (``"24:00"`` closes at midnight); holidays are ISO dates closed all day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse(hhmm: str) -> time:
    if hhmm == "24:00":
        return time.max
    return time.fromisoformat(hhmm)


def is_open(
    hours: Mapping[str, Sequence[Sequence[str]]],
    now: datetime,
    timezone: str,
    holidays: Iterable[str] = (),
) -> bool:
    """True when ``now`` falls in one of the day's ``[open, close)`` periods and is no holiday.

    An empty ``hours`` mapping means always open (a branch not yet configured
    should not refuse customers); a weekday missing from a non-empty mapping is closed.
    """
    local = now.astimezone(ZoneInfo(timezone))
    if local.date().isoformat() in holidays:
        return False
    if not hours:
        return True
    periods = hours.get(WEEKDAYS[local.weekday()], [])
    t = local.time()
    return any(_parse(start) <= t < _parse(end) for start, end in periods)


#: How far ahead :func:`next_opening` looks (a branch closed for longer has no next opening).
LOOK_AHEAD_DAYS = 14

Schedule = tuple[Mapping[str, Sequence[Sequence[str]]], Iterable[str]]
"""Opening hours and the holidays that close them all day."""


def next_opening(schedules: Sequence[Schedule], now: datetime, timezone: str) -> datetime | None:
    """The first instant after ``now`` at which every schedule is open, or None.

    A ticket for a service can be taken when the branch's hours and the service's
    own both hold, so the candidates are the period starts of each schedule over the
    next :data:`LOOK_AHEAD_DAYS` days; the first at which all are open wins. None
    when nothing opens in that time (or every schedule is "always open", so there is
    nothing to wait for). The answer is in ``timezone``.
    """
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    held = [(hours, tuple(holidays)) for hours, holidays in schedules]
    candidates: set[datetime] = set()
    for hours, _holidays in held:
        for offset in range(LOOK_AHEAD_DAYS + 1):
            day = today + timedelta(days=offset)
            for start, _end in hours.get(WEEKDAYS[day.weekday()], []):
                at = datetime.combine(day, _parse(start), zone)
                if at > now:
                    candidates.add(at)
    for at in sorted(candidates):
        if all(is_open(hours, at, timezone, holidays) for hours, holidays in held):
            return at
    return None


def _clock(value: object) -> time | None:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        return None
    if value == "24:00":
        return time.max
    try:
        return time.fromisoformat(value)
    except ValueError:
        return None


def hours_problems(hours: object, path: str = "hours") -> list[tuple[str, str]]:
    """Every problem with an hours mapping, each as (path, message); [] when it is sound.

    Checks the weekday names, the ``"HH:MM"`` form, that each period opens before it
    closes, and that no two periods of a day overlap.
    """
    if not isinstance(hours, Mapping):
        return [(path, "opening hours are a mapping of weekday (mon … sun) to periods")]
    problems: list[tuple[str, str]] = []
    for day, periods in hours.items():
        where = f"{path}.{day}"
        if day not in WEEKDAYS:
            problems.append((where, f"unknown weekday {day!r}; use one of {', '.join(WEEKDAYS)}"))
            continue
        if not isinstance(periods, Sequence) or isinstance(periods, str):
            problems.append((where, 'periods are a list of ["HH:MM", "HH:MM"] pairs'))
            continue
        spans: list[tuple[time, time, int]] = []
        for i, period in enumerate(periods):
            at = f"{where}[{i}]"
            if not isinstance(period, Sequence) or isinstance(period, str) or len(period) != 2:
                problems.append((at, 'a period is a pair ["HH:MM", "HH:MM"]'))
                continue
            start, end = _clock(period[0]), _clock(period[1])
            if start is None or end is None or period[0] == "24:00":
                problems.append((at, f"times are HH:MM from 00:00 to 24:00, not {list(period)}"))
                continue
            if start >= end:
                problems.append((at, f"opens at {period[0]} but closes at {period[1]}"))
                continue
            spans.append((start, end, i))
        spans.sort()
        for (_s1, e1, i1), (s2, _e2, i2) in zip(spans, spans[1:], strict=False):
            if s2 < e1:
                problems.append((f"{where}[{i2}]", f"overlaps {where}[{i1}]"))
    return problems
