"""Service standards that act: which breaches hold, and what to do with the recorded ones.

Two pure functions. :func:`breaches` reads the branch as the dashboard's alerts do
(the :class:`~server.domain.alerts.QueueView` and :class:`~server.domain.alerts.CounterView`
of :mod:`server.domain.alerts`, plus what each counter is serving) against each service's
:class:`Standards`, and returns the breaches that hold at ``now``. :func:`reconcile` compares
them with the breaches on record and says which to raise, which to clear and which to
escalate. The rules, each with its code (the subject in brackets):

``wait_target`` (service, warning) / ``wait_max`` (service, severe)
    The oldest waiting ticket has waited longer than the target wait / the maximum wait.
``service_target`` (counter, warning) / ``service_max`` (counter, severe)
    The ticket a counter serves (called or serving) has been at it longer than its
    service's target / maximum service time.
``queue_length`` (service, severe)
    More tickets wait than the service's maximum queue length.
``counter_idle`` (counter, warning)
    An open counter has had no ticket for longer than the maximum idle time of one of its
    services while that service has tickets waiting.

A breach is identified by its :attr:`Breach.key` (rule and subject): it is raised once
when it starts to hold, stays one record however often it is evaluated, and is cleared
when it no longer holds. One still open and not acknowledged ``escalate_after`` after it
was raised goes up one level, once: from the branch's managers (level 1) to the regional
manager (level 2: a manager who oversees the branch, or an administrator).

Each breach carries a suggested action (:class:`Suggestion`): for a queue, open counter K,
a closed counter that serves the service (the one that has it earliest in its profile),
and where an open counter stands with nothing waiting for it, move its teller X to K; for a
counter, call the next ticket (idle) or look at the counter (long service).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from .alerts import CounterView, QueueView, Severity

#: Unacknowledged this long after it was raised, a breach goes to the regional manager.
ESCALATE_AFTER = timedelta(minutes=10)
#: The levels a breach is raised to: the branch's managers, then the regional manager.
BRANCH_LEVEL, REGIONAL_LEVEL = 1, 2


class Rule(StrEnum):
    WAIT_TARGET = "wait_target"
    WAIT_MAX = "wait_max"
    SERVICE_TARGET = "service_target"
    SERVICE_MAX = "service_max"
    QUEUE_LENGTH = "queue_length"
    COUNTER_IDLE = "counter_idle"


SEVERITY: dict[Rule, Severity] = {
    Rule.WAIT_TARGET: Severity.WARNING,
    Rule.WAIT_MAX: Severity.SEVERE,
    Rule.SERVICE_TARGET: Severity.WARNING,
    Rule.SERVICE_MAX: Severity.SEVERE,
    Rule.QUEUE_LENGTH: Severity.SEVERE,
    Rule.COUNTER_IDLE: Severity.WARNING,
}


@dataclass(frozen=True)
class Standards:
    """One service's standards; None: that rule does not apply to it."""

    target_wait: timedelta | None = None
    max_wait: timedelta | None = None
    target_service: timedelta | None = None
    max_service: timedelta | None = None
    max_queue: int | None = None
    max_idle: timedelta | None = None


@dataclass(frozen=True)
class Serving:
    """What an open counter is doing: its ticket's service and since when (called at), or idle since."""

    counter: int
    service: str | None = None
    since: datetime | None = None
    """The ticket's call time; for an idle counter (``service`` None), since when it has had none."""


@dataclass(frozen=True)
class Suggestion:
    """What the manager might do: ``open_counter`` K, ``move_teller`` X (at ``from_counter``) to K,
    ``call_next`` at a counter, or ``check_counter``."""

    action: str
    counter: int | None = None
    teller: str | None = None
    from_counter: int | None = None

    def as_json(self) -> dict[str, object]:
        return {k: v for k, v in (("action", self.action), ("counter", self.counter), ("teller", self.teller),
                                  ("from_counter", self.from_counter)) if v is not None}


@dataclass(frozen=True)
class Breach:
    """A standard that does not hold now, about a service or a counter, with its figures (seconds)."""

    rule: Rule
    service: str | None = None
    counter: int | None = None
    facts: dict[str, int] = field(default_factory=dict)
    suggestion: Suggestion | None = None

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.rule]

    @property
    def key(self) -> str:
        """The breach's identity: one record while it holds, e.g. ``wait_max:A`` or ``counter_idle:#3``."""
        subject = self.service if self.counter is None else f"#{self.counter}"
        return f"{self.rule.value}:{subject}"


def breaches(
    queues: Iterable[QueueView],
    counters: Sequence[CounterView],
    serving: Iterable[Serving],
    standards: Mapping[str, Standards],
    *,
    now: datetime,
    tellers: Mapping[int, str] | None = None,
) -> list[Breach]:
    """Every breach that holds at ``now``, by key (see the module's docstring for the rules).

    ``tellers``: counter number → the username signed in at it (for the move-teller suggestion).
    """
    queue_list = list(queues)
    waiting = {q.service: q.waiting for q in queue_list}
    found: list[Breach] = []
    for q in queue_list:
        rules = standards.get(q.service, Standards())
        for breach in _queue_breaches(q, rules, now):
            found.append(Breach(breach[0], q.service, None, breach[1],
                                suggest_for_service(q.service, counters, waiting, tellers or {})))
    for s in serving:
        found.extend(_counter_breaches(s, counters, waiting, standards, now))
    return sorted(found, key=lambda b: b.key)


def _queue_breaches(q: QueueView, rules: Standards, now: datetime) -> list[tuple[Rule, dict[str, int]]]:
    out: list[tuple[Rule, dict[str, int]]] = []
    if q.waiting <= 0:
        return out
    if rules.max_queue is not None and q.waiting > rules.max_queue:
        out.append((Rule.QUEUE_LENGTH, {"waiting": q.waiting, "limit": rules.max_queue}))
    if q.oldest_since is None:
        return out
    waited = now - q.oldest_since
    for limit, rule in ((rules.max_wait, Rule.WAIT_MAX), (rules.target_wait, Rule.WAIT_TARGET)):
        if limit is not None and waited > limit:
            out.append((rule, {"waited_s": _s(waited), "limit_s": _s(limit)}))
    return out


def _counter_breaches(
    s: Serving, counters: Sequence[CounterView], waiting: Mapping[str, int],
    standards: Mapping[str, Standards], now: datetime,
) -> list[Breach]:
    if s.since is None:
        return []
    took = now - s.since
    if s.service is not None:
        rules = standards.get(s.service, Standards())
        out = []
        for limit, rule in ((rules.max_service, Rule.SERVICE_MAX), (rules.target_service, Rule.SERVICE_TARGET)):
            if limit is not None and took > limit:
                out.append(Breach(rule, s.service, s.counter, {"took_s": _s(took), "limit_s": _s(limit)},
                                  Suggestion("check_counter", s.counter)))
        return out
    counter = next((c for c in counters if c.number == s.counter), None)
    if counter is None or counter.state != "open":
        return []
    for code in counter.services:
        limit = standards.get(code, Standards()).max_idle
        if limit is not None and waiting.get(code, 0) > 0 and took > limit:
            return [Breach(Rule.COUNTER_IDLE, code, s.counter,
                           {"idle_s": _s(took), "limit_s": _s(limit), "waiting": waiting[code]},
                           Suggestion("call_next", s.counter))]
    return []


def suggest_for_service(
    service: str, counters: Sequence[CounterView], waiting: Mapping[str, int], tellers: Mapping[int, str],
) -> Suggestion | None:
    """Open the closed counter K that has ``service`` earliest in its profile; with a teller X
    at an open counter none of whose services has anyone waiting, move X to K.

    None when no closed counter serves the service (every counter for it is open or paused).
    """
    closed = [c for c in counters if c.state == "closed" and service in c.services]
    if not closed:
        return None
    k = min(closed, key=lambda c: (list(c.services).index(service), c.number))
    spare = [
        c for c in counters
        if c.state == "open" and c.number in tellers and not any(waiting.get(code, 0) for code in c.services)
    ]
    if spare:
        x = min(spare, key=lambda c: c.number)
        return Suggestion("move_teller", k.number, tellers[x.number], x.number)
    return Suggestion("open_counter", k.number)


# --- the record ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """A breach on record that has not cleared."""

    id: int
    key: str
    raised_at: datetime
    level: int = BRANCH_LEVEL
    acknowledged: bool = False


@dataclass(frozen=True)
class Plan:
    """What the evaluator writes: breaches to raise, record ids to clear, record ids to escalate."""

    raise_: tuple[Breach, ...] = ()
    clear: tuple[int, ...] = ()
    escalate: tuple[int, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.raise_ or self.clear or self.escalate)


def reconcile(
    holding: Iterable[Breach], recorded: Iterable[Recorded], *, now: datetime,
    escalate_after: timedelta = ESCALATE_AFTER,
) -> Plan:
    """Raise what holds and is not on record, clear what is on record and no longer holds,
    escalate what is still open, unacknowledged and at the branch level ``escalate_after`` on."""
    now_holding = {b.key: b for b in holding}
    records = list(recorded)
    open_keys = {r.key for r in records}
    return Plan(
        raise_=tuple(b for key, b in sorted(now_holding.items()) if key not in open_keys),
        clear=tuple(r.id for r in records if r.key not in now_holding),
        escalate=tuple(
            r.id for r in records
            if r.key in now_holding and not r.acknowledged and r.level < REGIONAL_LEVEL
            and now - r.raised_at >= escalate_after
        ),
    )


def _s(d: timedelta) -> int:
    return int(d.total_seconds())
