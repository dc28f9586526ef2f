"""Wait estimates at issue: people ahead and seconds to wait.

The estimate is deliberately simple so that it can be explained to a customer
and its error reported honestly (reports compare it to the actual wait):
``ahead × typical service time ÷ open counters serving the service``.

With no counter open for the service there is no estimate at all (None): nobody
is serving, so any number of minutes would be a guess, and "no wait" a lie.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from .model import Priority
from .policy import Candidate, ServiceRule

#: How many recent service times feed the typical service time.
RECENT_SERVICES = 20


def people_ahead(
    ticket: Candidate,
    waiting: Iterable[Candidate],
    *,
    rules: Mapping[str, ServiceRule] | None = None,
    now: datetime,
) -> int:
    """How many waiting tickets of the same service are called before ``ticket``.

    Uses the policy's default order within one service queue: overdue tickets
    first, then the green channel, then the queue key. Tickets sent to one
    particular counter are not in the service's queue.
    """
    key = _queue_key(rules or {}, now)
    mine = key(ticket)
    return sum(
        1
        for t in waiting
        if t.id != ticket.id
        and t.service == ticket.service
        and t.counter is None
        and key(t) < mine
    )


def _queue_key(
    rules: Mapping[str, ServiceRule], now: datetime
) -> Callable[[Candidate], tuple[bool, bool | datetime, bool, bool, datetime, int]]:
    def key(t: Candidate) -> tuple[bool, bool | datetime, bool, bool, datetime, int]:
        rule = rules.get(t.service)
        overdue = bool(rule and rule.max_wait is not None and now - t.queued_at > rule.max_wait)
        return (
            not overdue,
            overdue and t.queued_at,
            t.priority is not Priority.GREEN,
            not t.head,
            t.queued_at,
            t.id,
        )

    return key


def ahead_of_each(
    waiting: Iterable[Candidate], *, rules: Mapping[str, ServiceRule] | None = None, now: datetime
) -> dict[int, int]:
    """:func:`people_ahead` of every ticket in ``waiting`` at once (one sort, not one pass each).

    A ticket sent to a counter is in no service queue: it is absent from the answer.
    """
    key = _queue_key(rules or {}, now)
    by_service: dict[str, list[Candidate]] = {}
    for t in waiting:
        if t.counter is None:
            by_service.setdefault(t.service, []).append(t)
    found: dict[int, int] = {}
    for queue in by_service.values():
        for position, t in enumerate(sorted(queue, key=key)):
            found[t.id] = position
    return found


def typical_service_seconds(recent: Sequence[float], default: float) -> float:
    """The median of the most recent service times, or ``default`` with none yet."""
    usable = [s for s in recent[-RECENT_SERVICES:] if s >= 0]
    return statistics.median(usable) if usable else default


def estimate_wait_seconds(
    ahead: int, *, typical_service_s: float, open_counters: int
) -> int | None:
    """Seconds until called: ahead × typical service time ÷ open counters.

    None when no counter serving the service is open: the wait depends on when
    one opens, which nothing here knows.
    """
    if open_counters <= 0:
        return None
    return round(ahead * typical_service_s / open_counters)


def ahead_of_new_ticket(priority: Priority, *, waiting_green: int, waiting_normal: int) -> int:
    """People ahead of a ticket issued now, from its service's waiting counts.

    The same answer as :func:`people_ahead` for the newest ticket of a service
    queue (every older ticket of its class, and every green one for a normal
    ticket, is called first), without loading the queue.
    """
    if priority is Priority.GREEN:
        return waiting_green
    return waiting_green + waiting_normal
