"""The call-next policy: which waiting ticket counter C calls next.

A pure function of the waiting set, C's work profile, the services' rules and
C's recent calls (DESIGN.md, "Call-next policy"):

1. candidates: waiting tickets of the services in C's profile, plus tickets
   transferred to C itself; tickets transferred to another counter are that
   counter's alone. A green-only counter takes green-channel tickets, and the
   others only when no green ticket waits.
2. the class: green first, or a ratio (``1:2``) when both classes wait;
3. the service: ``ordered`` (profile order; tickets sent to C directly rank with
   the first service) or ``longest_wait`` (across services);
4. the queue key: a transferred ticket placed ``first`` goes to the head,
   otherwise the time it (re-)entered the queue (``last``: the transfer time,
   ``original``: its first issue time). A checked-in appointment entered the queue
   at its slot's start (:func:`server.domain.slots.queue_time`): from then on it ranks
   before walk-ins who arrived later, and an early arrival ranks as if it had come at
   the slot's start (it is not held back when nobody else waits);
5. max-wait override, before everything else: a ticket that has waited past its
   service's ``max_wait`` goes first, the longest-waiting of those first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .model import CounterMode, GreenRatio, Priority


@dataclass(frozen=True, slots=True)
class Candidate:
    """A waiting ticket as the policy sees it."""

    id: int
    service: str
    priority: Priority
    queued_at: datetime
    """When it entered the current queue (issue, transfer or requeue time)."""
    head: bool = False
    """Placed at the head of its queue by a transfer ``first``."""
    counter: int | None = None
    """Transferred to this counter only."""
    appointment: datetime | None = None
    """A checked-in appointment: its slot's start (``queued_at`` is that start while it keeps its place)."""

    @property
    def green(self) -> bool:
        return self.priority is Priority.GREEN


@dataclass(frozen=True, slots=True)
class Profile:
    """What a counter serves and how it picks."""

    number: int
    services: tuple[str, ...]
    mode: CounterMode = CounterMode.ORDERED
    green_only: bool = False
    green_ratio: GreenRatio | None = None
    """None: green channel strictly first."""


@dataclass(frozen=True, slots=True)
class ServiceRule:
    max_wait: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """Everything call-next needs besides the waiting set."""

    profile: Profile
    rules: Mapping[str, ServiceRule] = field(default_factory=dict)


def candidates(waiting: Iterable[Candidate], profile: Profile) -> list[Candidate]:
    """Rule 1 without the green-only filter: what counter ``profile`` may call."""
    served = set(profile.services)
    return [
        t
        for t in waiting
        if t.counter == profile.number or (t.counter is None and t.service in served)
    ]


def next_class(recent: Sequence[Priority], ratio: GreenRatio | None) -> Priority:
    """The class to call when both wait: green first, or the ratio's cycle.

    ``recent`` is the counter's recent call classes, oldest first. With ratio
    g:n the counter calls g green, then n normal, and again; the trailing run
    of ``recent`` says where in the cycle it stands.
    """
    if ratio is None or not recent:
        return Priority.GREEN
    last = recent[-1]
    run = 0
    for p in reversed(recent):
        if p is not last:
            break
        run += 1
    if last is Priority.GREEN:
        return Priority.GREEN if run < ratio.green else Priority.NORMAL
    return Priority.NORMAL if run < ratio.normal else Priority.GREEN


def _overdue(t: Candidate, rules: Mapping[str, ServiceRule], now: datetime) -> bool:
    rule = rules.get(t.service)
    return bool(rule and rule.max_wait is not None and now - t.queued_at > rule.max_wait)


def _queue_key(t: Candidate) -> tuple[bool, datetime, int]:
    return (not t.head, t.queued_at, t.id)


def _service_rank(t: Candidate, profile: Profile) -> int:
    if t.counter == profile.number:
        return 0
    try:
        return profile.services.index(t.service)
    except ValueError:  # pragma: no cover - candidates() only keeps profile services
        return len(profile.services)


def _within_class_key(profile: Profile) -> Callable[[Candidate], tuple[object, ...]]:
    if profile.mode is CounterMode.ORDERED:
        return lambda t: (_service_rank(t, profile), *_queue_key(t))
    return _queue_key


def call_order(
    waiting: Iterable[Candidate],
    policy: Policy,
    *,
    recent: Sequence[Priority] = (),
    now: datetime,
) -> list[Candidate]:
    """Every ticket counter ``policy.profile`` may call, in the order it would call them.

    The first element is what call-next takes now. Later elements assume the
    counter keeps calling with no new arrivals, which is what "people ahead"
    and the staff queue view need.
    """
    pool = candidates(waiting, policy.profile)
    recent = list(recent)
    order: list[Candidate] = []
    while pool:
        chosen = choose(pool, policy, recent=recent, now=now)
        assert chosen is not None
        order.append(chosen)
        pool.remove(chosen)
        recent.append(chosen.priority)
    return order


def choose(
    waiting: Iterable[Candidate],
    policy: Policy,
    *,
    recent: Sequence[Priority] = (),
    now: datetime,
) -> Candidate | None:
    """The ticket counter ``policy.profile`` calls next, or None when none may be called."""
    profile = policy.profile
    pool = candidates(waiting, profile)
    if not pool:
        return None
    overdue = [t for t in pool if _overdue(t, policy.rules, now)]
    if overdue:
        return min(overdue, key=lambda t: (t.queued_at, t.id))
    greens = [t for t in pool if t.green]
    normals = [t for t in pool if not t.green]
    if profile.green_only or not normals:
        group = greens or normals
    elif not greens:
        group = normals
    else:
        cls = next_class(recent, profile.green_ratio)
        group = greens if cls is Priority.GREEN else normals
    return min(group, key=_within_class_key(profile))
