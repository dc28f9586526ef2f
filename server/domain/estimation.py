"""Wait estimates: people ahead and seconds to wait.

The server's estimate is :func:`projected_wait`: the branch's own call-next played
forward over who waits now, the open counters (each with its profile, busy for the
rest of its current service) and the customers expected meanwhile, each call taking
the service's expected time. It sees what a count of people ahead misses: counters
that serve the service only after others, green customers still to come, transfers
to the head, tickets past their maximum wait, a counter opening or closing.

The first estimate, ``ahead × typical service time ÷ open counters serving the
service`` (:func:`estimate_wait_seconds`), stays for comparison: on the simulated busy
day (``python -m bench.simulate``) it was short by 11 minutes on average.

With no counter open for the service there is no estimate at all (None): nobody
is serving, so any number of minutes would be a guess, and "no wait" a lie.
"""

from __future__ import annotations

import heapq
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import Priority
from .policy import Candidate, Policy, Profile, ServiceRule, candidates, choose

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


# --- the projection: the branch's own call-next played forward ----------------------------------

#: How many recent service times feed a service's expected service time.
RECENT_FOR_MEAN = 50
#: Recent service times above this percentile are cut to it (one forgotten "finish" is not a trend).
CLIP_PERCENTILE = 95
#: A customer being served is expected to need at least this share of a service more.
MIN_REMAINING_SHARE = 0.25
#: Past this many calls the projection gives up (a queue no counter can get through today).
MAX_CALLS = 5000


@dataclass(frozen=True, slots=True)
class OpenCounter:
    """An open counter as the projection sees it."""

    profile: Profile
    busy_s: float = 0.0
    """Expected seconds until it calls again (0: idle now)."""
    recent: tuple[Priority, ...] = ()
    """Its recent call classes, oldest first (for a green ratio)."""


def expected_service_seconds(recent: Sequence[float], default: float) -> float:
    """The mean of the latest service times with the top few clipped at the 95th percentile.

    The mean, not the median: a queue drains at the rate of the average service, and
    service times are skewed (the median of a log-normal with a spread of 0.6 is 14 %
    below its mean), so a median makes every estimate short. The clip keeps one service
    left open over lunch from doubling the next hour's estimates.
    """
    usable = sorted(s for s in recent[-RECENT_FOR_MEAN:] if s >= 0)
    if not usable:
        return default
    if len(usable) >= 5:
        cut = usable[min(len(usable) - 1, math.ceil(CLIP_PERCENTILE / 100 * len(usable)) - 1)]
        usable = [min(s, cut) for s in usable]
    return statistics.fmean(usable)


def remaining_seconds(expected_s: float, elapsed_s: float) -> float:
    """Expected time left of a service that began ``elapsed_s`` ago."""
    return max(expected_s - elapsed_s, MIN_REMAINING_SHARE * expected_s)


def projected_wait(
    ticket: Candidate,
    waiting: Iterable[Candidate],
    counters: Sequence[OpenCounter],
    service_s: Mapping[str, float],
    *,
    rules: Mapping[str, ServiceRule] | None = None,
    arrivals_per_s: Mapping[tuple[str, Priority], float] | None = None,
    now: datetime,
    default_service_s: float = 300.0,
) -> int | None:
    """Seconds until ``ticket`` is called, by playing the branch's call-next forward.

    Each open counter, when it is next free, calls what the real policy
    (:func:`server.domain.policy.choose`) makes it call: its own profile and service
    order, the green channel (first, or its ratio), green-only counters, transfers to
    the head or to one counter, tickets past their maximum wait. Each call keeps the
    counter busy for the expected service time of the called ticket's service.
    Customers expected to arrive meanwhile (``arrivals_per_s``, by service and class,
    evenly spaced) join the queues as they would: a green customer arriving later is
    still called first, and so is a service placed before the ticket's at a counter
    that takes both.

    None when no open counter may ever call ``ticket`` (none open for its service).
    A queue too long to play through gives the time reached so far.
    """
    pool = [t for t in waiting if t.id != ticket.id]
    pool.append(ticket)
    if not any(candidates([ticket], c.profile) for c in counters):
        return None
    calls = projected_calls(pool, counters, service_s, rules=rules, arrivals_per_s=arrivals_per_s, now=now,
                            default_service_s=default_service_s, until=ticket.id)
    return calls.get(ticket.id)


def projected_calls(
    waiting: Iterable[Candidate],
    counters: Sequence[OpenCounter],
    service_s: Mapping[str, float],
    *,
    rules: Mapping[str, ServiceRule] | None = None,
    arrivals_per_s: Mapping[tuple[str, Priority], float] | None = None,
    now: datetime,
    default_service_s: float = 300.0,
    until: int | None = None,
) -> dict[int, int]:
    """Ticket id → seconds until called, for every waiting ticket some open counter calls, by one
    play of the branch's call-next forward (see :func:`projected_wait`); it stops once ``until``
    is called, when given. Tickets still waiting after :data:`MAX_CALLS` calls get the time
    reached; tickets no open counter may call are left out."""
    rules = rules or {}
    pool = list(waiting)
    real = {t.id for t in pool}
    out: dict[int, int] = {}
    policies = {c.profile.number: Policy(c.profile, rules) for c in counters}
    recent = {c.profile.number: list(c.recent) for c in counters}
    free = [(max(c.busy_s, 0.0), c.profile.number) for c in counters]
    heapq.heapify(free)
    # Expected arrivals: a stream per (service, class), the k-th at k ÷ rate seconds from now.
    streams = sorted((1 / rate, code, prio) for (code, prio), rate in (arrivals_per_s or {}).items() if rate > 0)
    upcoming = [(gap, i) for i, (gap, _c, _p) in enumerate(streams)]
    heapq.heapify(upcoming)
    virtual_id = -1
    calls = 0
    at = 0.0
    # Bounded work whatever the arrival rate: a burst of issuance (a rate far above what the
    # counters serve) would otherwise fill the play with expected customers, each call then
    # scanning them all. The real queue is played through; the expected ones are a correction.
    most_calls = min(MAX_CALLS, 4 * len(real) + 8 * len(counters) + 50)
    most_expected = len(real) + 50
    expected = 0
    while free and calls < most_calls and len(out) < len(real):
        at, number = heapq.heappop(free)
        while upcoming and upcoming[0][0] <= at and expected < most_expected:
            expected += 1
            when, i = heapq.heappop(upcoming)
            gap, code, prio = streams[i]
            pool.append(Candidate(virtual_id, code, prio, now + timedelta(seconds=when)))
            virtual_id -= 1
            heapq.heappush(upcoming, (when + gap, i))
        chosen = choose(pool, policies[number], recent=recent[number], now=now + timedelta(seconds=at))
        if chosen is None:  # it cannot take anything waiting: out of the picture
            continue
        if chosen.id in real:
            out[chosen.id] = round(at)
            if chosen.id == until:
                break
        calls += 1
        pool.remove(chosen)
        recent[number].append(chosen.priority)
        heapq.heappush(free, (at + service_s.get(chosen.service, default_service_s), number))
    if calls >= most_calls:
        for t in pool:
            if t.id in real and t.id not in out and any(candidates([t], c.profile) for c in counters):
                out[t.id] = round(at)
    return out
