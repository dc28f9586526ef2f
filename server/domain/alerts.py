"""The dashboard's alerts: what a branch manager must act on now, from the branch's state.

One pure function, :func:`alerts`, from the queues and the counters as they are at ``now``
to the list of alerts that hold. The rules, each with its code:

``no_open_counter`` (severe)
    Tickets wait for a service and no *open* counter serves it (a paused counter does not
    call): nobody will call them until a counter opens.
``past_max_wait`` (severe) / ``past_target_wait`` (warning)
    The oldest waiting ticket of a service has waited longer than the service's max wait
    (severe), else longer than its target wait (warning). One alert per service, the worse.
``teller_gone`` (severe)
    A counter paused with pause code ``system``: the server paused it because its teller's
    sessions were gone (an abandoned counter).
``counter_unstaffed`` (severe)
    A counter open with nobody signed in at it: it is counted as serving, but nobody calls.
``paused_too_long`` (warning)
    A counter paused (by its teller) for longer than :data:`PAUSED_TOO_LONG`.

Severe alerts come first, then by service code and counter number, so the list reads the
same on every refresh. An empty list means there is nothing to report, and nothing else may
be read as "all well".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

PAUSED_TOO_LONG = timedelta(minutes=15)
#: The pause code the server sets when it pauses a counter whose teller is gone.
SYSTEM_PAUSE = "system"


class Severity(StrEnum):
    WARNING = "warning"
    SEVERE = "severe"


class AlertCode(StrEnum):
    NO_OPEN_COUNTER = "no_open_counter"
    PAST_MAX_WAIT = "past_max_wait"
    PAST_TARGET_WAIT = "past_target_wait"
    TELLER_GONE = "teller_gone"
    COUNTER_UNSTAFFED = "counter_unstaffed"
    PAUSED_TOO_LONG = "paused_too_long"


@dataclass(frozen=True)
class QueueView:
    """One service's queue: how many wait, since when the oldest has, and its targets."""

    service: str
    waiting: int
    oldest_since: datetime | None = None
    target_wait: timedelta | None = None
    max_wait: timedelta | None = None


@dataclass(frozen=True)
class CounterView:
    """One counter: its state since when, who is signed in at it, and the services it serves."""

    number: int
    state: str  # open | paused | closed
    services: Sequence[str] = ()
    since: datetime | None = None
    staffed: bool = True
    pause_code: str | None = None


@dataclass(frozen=True)
class Alert:
    """What holds, about which service or counter, with the figures the page shows (seconds)."""

    code: AlertCode
    severity: Severity
    service: str | None = None
    counter: int | None = None
    facts: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {"code": self.code.value, "severity": self.severity.value, "service": self.service,
                "counter": self.counter, **self.facts}


def alerts(
    queues: Iterable[QueueView],
    counters: Iterable[CounterView],
    *,
    now: datetime,
    paused_too_long: timedelta = PAUSED_TOO_LONG,
) -> list[Alert]:
    """Every alert that holds at ``now`` (see the module's docstring for the rules)."""
    counters = list(counters)
    served = {code for c in counters if c.state == "open" for code in c.services}
    found: list[Alert] = []
    for q in queues:
        found.extend(_queue_alerts(q, served, now))
    for c in counters:
        alert = _counter_alert(c, now, paused_too_long)
        if alert is not None:
            found.append(alert)
    return sorted(found, key=_order)


def _queue_alerts(q: QueueView, served: set[str], now: datetime) -> list[Alert]:
    if q.waiting <= 0:
        return []
    out = []
    if q.service not in served:
        out.append(Alert(AlertCode.NO_OPEN_COUNTER, Severity.SEVERE, service=q.service,
                         facts={"waiting": q.waiting}))
    if q.oldest_since is None:
        return out
    waited = now - q.oldest_since
    for limit, code, severity in (
        (q.max_wait, AlertCode.PAST_MAX_WAIT, Severity.SEVERE),
        (q.target_wait, AlertCode.PAST_TARGET_WAIT, Severity.WARNING),
    ):
        if limit is not None and waited > limit:
            out.append(Alert(code, severity, service=q.service,
                             facts={"waited_s": _s(waited), "limit_s": _s(limit)}))
            break
    return out


def _counter_alert(c: CounterView, now: datetime, paused_too_long: timedelta) -> Alert | None:
    since = {} if c.since is None else {"since_s": _s(now - c.since)}
    if c.state == "paused" and c.pause_code == SYSTEM_PAUSE:
        return Alert(AlertCode.TELLER_GONE, Severity.SEVERE, counter=c.number, facts=since)
    if c.state == "open" and not c.staffed:
        return Alert(AlertCode.COUNTER_UNSTAFFED, Severity.SEVERE, counter=c.number, facts=since)
    if c.state == "paused" and c.since is not None and now - c.since > paused_too_long:
        return Alert(AlertCode.PAUSED_TOO_LONG, Severity.WARNING, counter=c.number, facts=since)
    return None


def _order(a: Alert) -> tuple[bool, bool, str, int]:
    return (a.severity is not Severity.SEVERE, a.service is None, a.service or "", a.counter or 0)


def _s(d: timedelta) -> int:
    return int(d.total_seconds())
