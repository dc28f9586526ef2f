"""Weeks of realistic past days for a branch, so reports and the dashboard are not empty.

Every past day is a simulated day, not random numbers: customers arrive by a bank's
daily curve (peaks late morning and mid-afternoon, Mondays and Fridays busier,
Saturdays quiet, Sundays closed); a staffing plan opens, by the hour, the counters
that every service needs and more as the hour's expected work grows; each free
counter calls what the real call-next policy (:func:`server.domain.policy.choose`)
picks; every customer is given the estimate the server's estimator
(:func:`server.domain.estimation.projected_wait`) gives at that moment; service
times are log-normal around three quarters of each service's target. Some miss
their call, a few give up after a long wait, four in ten rate the service.

The days run in memory on a virtual clock and go in with the bulk inserts of
:mod:`server.store.history` (through the use cases, as ``branchq simulate`` does,
four weeks would take minutes; this way they take seconds).
"""

from __future__ import annotations

import heapq
import math
import random
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.domain.errors import Conflict
from server.domain.estimation import (
    OpenCounter,
    expected_service_seconds,
    people_ahead,
    projected_wait,
    remaining_seconds,
)
from server.domain.events import COUNTER_CLOSED, COUNTER_OPENED
from server.domain.model import Priority
from server.domain.numbering import format_number, series_for
from server.domain.policy import Candidate, Policy, ServiceRule, choose
from server.store import accounts
from server.store import history as past
from server.store.repository import CounterConf, ServiceConf

from .context import Services

#: Share of a day's arrivals in each opening hour (09:00–17:00).
HOURLY = {9: 0.09, 10: 0.15, 11: 0.16, 12: 0.10, 13: 0.10, 14: 0.15, 15: 0.14, 16: 0.11}
WEEKDAY_FACTOR = {0: 1.25, 1: 1.0, 2: 0.95, 3: 1.0, 4: 1.2, 5: 0.6}  # Sunday closed
SERVICE_MIX = {"A": 0.45, "B": 0.25, "C": 0.12, "D": 0.10, "E": 0.08}
GREEN_SHARE, NO_SHOW_SHARE, CANCEL_SHARE, RATING_SHARE = 0.08, 0.04, 0.02, 0.4
CHUNK = 5000


async def generate_history(
    app: Services, branch_id: str, *, weeks: int = 4, daily_volume: int = 300, seed: int = 7,
    with_events: bool = True,
) -> int:
    """Fill the ``weeks`` weeks before today with past days; returns the number of tickets.

    Refused when the branch already has tickets (history goes before them); events it
    has already (the demo's complaint cases) keep their numbers and the past days' follow.
    Everything is written in one unit of work: the whole history, or none of it.
    """
    rng = random.Random(seed)
    async with app.unit_of_work(branch_id) as uow:
        branch, config, conn = uow.branch, uow.config, uow.conn
        assert branch is not None and config is not None
        if await past.has_tickets(conn, branch_id):
            raise Conflict("history can only be added to a branch with no activity yet", code="not_empty")
        tz = ZoneInfo(branch.timezone)
        today = uow.now.astimezone(tz).date()
        counters = list(config.counters.values())
        services = config.services
        mix = {c: w for c, w in SERVICE_MIX.items() if c in services} or {c: 1.0 for c in services}
        staff = _tellers(await accounts.teller_counters(conn, branch_id))
        seq = branch.event_seq
        tickets: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        feedback: list[tuple[int, dict[str, Any]]] = []
        total = 0
        for offset in range(7 * weeks, 0, -1):
            day = today - timedelta(days=offset)
            if day.weekday() not in WEEKDAY_FACTOR:
                continue
            day_tickets, day_events = _simulate_day(
                rng, day, tz, counters, services, mix, staff,
                volume=round(daily_volume * WEEKDAY_FACTOR[day.weekday()]), rules=config.rules(),
            )
            for ticket in day_tickets:
                rating = ticket.pop("_rating")
                tickets.append({**ticket, "branch_id": branch_id, "token": secrets.token_urlsafe(16)})
                if rating is not None:
                    feedback.append((len(tickets) - 1, rating))
            if with_events:
                for event in day_events:
                    seq += 1
                    events.append({**event, "branch_id": branch_id, "seq": seq})
            if len(tickets) >= CHUNK:
                total += await _flush(conn, branch_id, tickets, feedback)
        total += await _flush(conn, branch_id, tickets, feedback)
        await past.insert_events(conn, branch_id, events)
    return total


def _tellers(rows: Iterable[tuple[int, list[int] | None]]) -> dict[int, int | None]:
    """Counter number → a teller who works there (for the scorecard), if any."""
    out: dict[int, int | None] = {}
    for staff_id, numbers in rows:
        for n in numbers or []:
            out.setdefault(n, staff_id)
    return out


async def _flush(
    conn: Any, branch_id: str, tickets: list[dict[str, Any]], feedback: list[tuple[int, dict[str, Any]]]
) -> int:
    """Write the tickets kept so far and their ratings; empties both lists."""
    if not tickets:
        return 0
    ids = await past.insert_tickets(conn, tickets)
    await past.insert_feedback(conn, [
        {**rating, "ticket_id": ids[i], "branch_id": branch_id,
         "counter_id": tickets[i]["counter_id"], "staff_id": tickets[i]["staff_id"]}
        for i, rating in feedback
    ])
    n = len(tickets)
    tickets.clear()
    feedback.clear()
    return n


def _simulate_day(
    rng: random.Random, day: date, tz: ZoneInfo, counters: list[CounterConf], services: dict[str, ServiceConf],
    mix: dict[str, float], staff: dict[int, int | None], *, volume: int,
    rules: dict[str, ServiceRule] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One past day, simulated: customers arrive, the staffing plan opens and closes counters by
    the hour, each free counter calls what the real policy picks, and every customer is given the
    estimate the server's estimator would have given at that moment."""
    rules = rules or {}
    opening = datetime.combine(day, time(9, 0), tz)
    closing = datetime.combine(day, time(17, 0), tz)
    arrivals: list[tuple[datetime, str, bool]] = []
    for hour, share in HOURLY.items():
        for _ in range(_poisson(rng, volume * share)):
            at = datetime.combine(day, time(hour, 0), tz) + timedelta(seconds=rng.uniform(0, 3600))
            code = rng.choices(list(mix), weights=list(mix.values()))[0]
            arrivals.append((at, code, rng.random() < GREEN_SHARE))
    arrivals.sort()
    numbered = []
    sequences: dict[str, int] = {}
    for at, code, green in arrivals:
        series = series_for(code, "green" if green else "normal")
        sequences[series] = sequences.get(series, 0) + 1
        numbered.append((at, code, green, series, sequences[series]))
    plan = staffing_plan(counters, services, mix, volume, hours=sorted(HOURLY))
    by_number = {c.number: c for c in counters}
    # The customers' own draws, made up front so that the plan and the estimator change nothing else.
    draws = [
        (_service_seconds(rng, services[code]), rng.random(), rng.uniform(10, 40) * 60, rng.expovariate(1 / 20))
        for _, code, _, _, _ in numbered
    ]
    day_ = _Day(numbered, draws, by_number, services, rules)
    day_.run(opening, closing, plan)

    events: list[dict[str, Any]] = []
    for number, at, kind in day_.counter_log:
        c = by_number[number]
        events.append({"kind": kind.name, "at": at.astimezone(UTC), "counter_id": c.id,
                       "staff_id": staff.get(number), "ticket_id": None,
                       "data": {"counter": number, "state": "open" if kind is COUNTER_OPENED else "closed"}})
    tickets = []
    for i, (at, code, green, series, sequence) in enumerate(numbered):
        service = services[code]
        ticket = {
            "business_date": day, "service_id": service.id, "series": series,
            "sequence": sequence, "number": format_number(series, sequence),
            "priority": "green" if green else "normal",
            "green_reason": rng.choice(["elderly", "disabled", "pregnant", "urgent"]) if green else None,
            "issued_at": at.astimezone(UTC), "queued_at": at.astimezone(UTC), "head": False,
            "issued_hour": at.hour, "device_id": None, "target_counter_id": None,
            "target_wait_s": service.target_wait_s, "ahead_at_issue": day_.ahead.get(i, 0),
            "estimated_wait_s": day_.estimates.get(i), "recalls": 0, "transfers": 0, "_rating": None,
        }
        fate = day_.fates.get(i)
        if fate is None or fate[0] in ("cancelled", "expired"):
            state, ended = fate if fate is not None else ("expired", closing + timedelta(hours=1))
            ticket |= {"state": state, "counter_id": None, "staff_id": None, "called_at": None,
                       "first_called_at": None, "started_at": None, "wait_s": None, "service_s": None,
                       "finished_at": ended.astimezone(UTC)}
            tickets.append(ticket)
            continue
        state, called, number, started, finished = fate
        counter = by_number[number]
        ticket |= {
            "state": state, "counter_id": counter.id, "staff_id": staff.get(number),
            "called_at": called.astimezone(UTC), "first_called_at": called.astimezone(UTC),
            "started_at": started.astimezone(UTC) if started else None,
            "finished_at": finished.astimezone(UTC), "wait_s": round((called - at).total_seconds()),
            "service_s": round((finished - started).total_seconds()) if started else None,
        }
        if state == "done" and rng.random() < RATING_SHARE:
            score = rng.choices([5, 4, 3, 2, 1], weights=[55, 28, 10, 5, 2])[0]
            ticket["_rating"] = {"score": score, "tags": [], "comment": "", "at": ticket["finished_at"]}
        tickets.append(ticket)
    events.sort(key=lambda e: e["at"])
    return tickets, events


#: The plan keeps counters this busy at most (the rest is slack for the hour's ups and downs).
PLAN_OCCUPANCY = 0.8


def staffing_plan(
    counters: list[CounterConf], services: dict[str, ServiceConf], mix: dict[str, float], volume: int,
    *, hours: list[int],
) -> dict[int, set[int]]:
    """Hour → the counters open that hour: always enough to serve every service customers come
    for, and more as the hour's expected work grows (a manager's plan that follows demand)."""
    order, covering = counter_order(counters, {code for code, share in mix.items() if share > 0})
    mean_s = sum(share * services[code].target_service_s * SERVICE_FACTOR for code, share in mix.items())
    total = sum(mix.values()) or 1.0
    plan: dict[int, set[int]] = {}
    for hour in hours:
        erlangs = volume * HOURLY[hour] * mean_s / total / 3600
        need = min(len(order), max(covering, math.ceil(erlangs / PLAN_OCCUPANCY)))
        plan[hour] = {c.number for c in order[:need]}
    return plan


def counter_order(counters: list[CounterConf], wanted: set[str]) -> tuple[list[CounterConf], int]:
    """The order counters open in as more are needed, and how many of the first it takes to serve
    every service of ``wanted``: those first (most uncovered services first), then the others,
    green-only last."""
    order: list[CounterConf] = []
    uncovered = set(wanted)
    rest = sorted(counters, key=lambda c: c.number)
    while uncovered and rest:
        best = max(rest, key=lambda c: (len(uncovered & set(c.services)), -c.green_only, len(c.services), -c.number))
        if not uncovered & set(best.services):
            break
        order.append(best)
        rest.remove(best)
        uncovered -= set(best.services)
    covering = len(order)
    return order + [c for c in rest if not c.green_only] + [c for c in rest if c.green_only], covering


class _Day:
    """The event loop of one simulated past day (virtual time, nothing stored)."""

    def __init__(self, numbered: list[tuple[datetime, str, bool, str, int]],
                 draws: list[tuple[float, float, float, float]], counters: dict[int, CounterConf],
                 services: dict[str, ServiceConf], rules: dict[str, ServiceRule], *, estimate: bool = True) -> None:
        self.estimate = estimate
        self.numbered, self.draws, self.counters, self.services, self.rules = numbered, draws, counters, services, rules
        self.policies = {n: Policy(c.profile(), rules) for n, c in counters.items()}
        self.waiting: dict[int, Candidate] = {}
        self.busy_until: dict[int, datetime] = {}
        self.current: dict[int, tuple[str, datetime]] = {}
        self.recent: dict[int, list[Priority]] = {n: [] for n in counters}
        self.open: set[int] = set()
        self.closing: set[int] = set()
        self.done: dict[str, list[float]] = {}
        self.estimates: dict[int, int | None] = {}
        self.ahead: dict[int, int] = {}
        self.fates: dict[int, Any] = {}
        self.counter_log: list[tuple[int, datetime, Any]] = []
        self.heap: list[tuple[datetime, int, str, int]] = []
        self.order = 0
        self.draining = False

    def at(self, when: datetime, what: str, arg: int) -> None:
        self.order += 1
        heapq.heappush(self.heap, (when, self.order, what, arg))

    def run(self, opening: datetime, closing: datetime, plan: dict[int, set[int]]) -> None:
        for i, (at, *_rest) in enumerate(self.numbered):
            self.at(at, "arrive", i)
        self.plan = plan
        for hour in sorted(plan):
            self.at(opening.replace(hour=hour), "plan", hour)
        self.at(closing, "close", 0)
        self.last_hour = max(plan)
        while self.heap:
            now, _o, what, arg = heapq.heappop(self.heap)
            getattr(self, "_" + what)(now, arg)

    def _plan(self, now: datetime, hour: int) -> None:
        wanted = self.plan[hour] | (self.open if hour == self.last_hour else set())
        for n in sorted(wanted - self.open):
            self.open.add(n)
            self.closing.discard(n)
            self.counter_log.append((n, now, COUNTER_OPENED))
            self._free(now, n)
        for n in sorted(self.open - wanted):
            self.closing.add(n)
            if n not in self.current:
                self._shut(now, n)

    def _close(self, now: datetime, _arg: int) -> None:
        self.draining = True  # from now on a counter with nobody left to call closes
        for n in sorted(self.open):
            if n not in self.current:
                self._free(now, n)

    def _shut(self, now: datetime, n: int) -> None:
        self.open.discard(n)
        self.closing.discard(n)
        self.counter_log.append((n, now, COUNTER_CLOSED))

    def _expected(self) -> dict[str, float]:
        return {code: expected_service_seconds(self.done.get(code, []), float(s.target_service_s))
                for code, s in self.services.items()}

    def _arrive(self, now: datetime, i: int) -> None:
        at, code, green, _series, _seq = self.numbered[i]
        me = Candidate(i, code, Priority.GREEN if green else Priority.NORMAL, at)
        if not self.estimate:
            self._queue(now, i, me)
            return
        expected = self._expected()
        counters = [
            OpenCounter(self.counters[n].profile(),
                        remaining_seconds(expected[self.current[n][0]], (now - self.current[n][1]).total_seconds())
                        if n in self.current else 0.0, tuple(self.recent[n][-4:]))
            for n in sorted(self.open - self.closing)
        ]
        waiting = list(self.waiting.values())
        self.ahead[i] = people_ahead(me, waiting, rules=self.rules, now=now)
        self.estimates[i] = projected_wait(me, waiting, counters, expected, rules=self.rules,
                                           arrivals_per_s=self._rates(now, i), now=now)
        self._queue(now, i, me)

    def _queue(self, now: datetime, i: int, me: Candidate) -> None:
        self.waiting[i] = me
        self.at(now + timedelta(seconds=self.draws[i][2]), "give_up", i)
        for n in sorted(self.open - self.closing):
            if n not in self.current:
                self._free(now, n)
                if i not in self.waiting:
                    break

    def _rates(self, now: datetime, i: int) -> dict[tuple[str, Priority], float]:
        since = now - timedelta(hours=1)
        counts: dict[tuple[str, Priority], int] = {}
        first = now
        for at, code, green, _s, _q in reversed(self.numbered[:i]):
            if at < since:
                break
            first = at
            key = (code, Priority.GREEN if green else Priority.NORMAL)
            counts[key] = counts.get(key, 0) + 1
        span = max(600.0, (now - first).total_seconds())
        return {k: v / span for k, v in counts.items()}

    def _give_up(self, now: datetime, i: int) -> None:
        if i in self.waiting and self.draws[i][1] < CANCEL_SHARE * 10:  # most stay however long it takes
            del self.waiting[i]
            self.fates[i] = ("cancelled", now)

    def _free(self, now: datetime, n: int) -> None:
        """Counter ``n`` has nobody at it: it closes if its shift is over, else calls the next."""
        self.current.pop(n, None)
        if n in self.closing:
            self._shut(now, n)
            return
        chosen = choose(self.waiting.values(), self.policies[n], recent=self.recent[n], now=now)
        if chosen is None:
            if self.draining:
                self._shut(now, n)
            return
        i = chosen.id
        del self.waiting[i]
        self.recent[n] = [*self.recent[n][-7:], chosen.priority]
        service_s, roll, _patience, walk = self.draws[i]
        self.current[n] = (chosen.service, now)
        if roll < NO_SHOW_SHARE:
            ended = now + timedelta(seconds=90)
            self.fates[i] = ("no_show", now, n, None, ended)
        else:
            started = now + timedelta(seconds=walk)
            ended = started + timedelta(seconds=service_s)
            self.fates[i] = ("done", now, n, started, ended)
            self.done.setdefault(chosen.service, []).append((ended - now).total_seconds())
        self.at(ended, "free", n)


#: Real services take less than their targets on average.
SERVICE_FACTOR = 0.75


def _service_seconds(rng: random.Random, service: ServiceConf) -> float:
    """Spread around the service's usual time (log-normal: a few take much longer)."""
    mean, spread = service.target_service_s * SERVICE_FACTOR, 0.5
    sigma2 = math.log(1 + spread * spread)
    return rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1




# --- the staffing what-if on a past period -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PastTicket:
    """A customer of a past day, as the what-if replays them."""

    issued_at: datetime
    service: str
    green: bool
    service_s: float
    """Their recorded service time (or the service's mean when they were never served)."""
    target_wait_s: int


def what_if(
    days: dict[date, list[PastTicket]], counters: list[CounterConf], services: dict[str, ServiceConf],
    needed: dict[tuple[int, int], int], tz: ZoneInfo, *, rules: dict[str, ServiceRule] | None = None,
) -> dict[str, Any]:
    """Replay the days' real customers with ``needed[(weekday, hour)]`` counters open each hour
    (never fewer than serve every service asked for that day), through the real policy: the share
    called within their target wait, and the counter hours it took."""
    within = called = 0
    counter_s = 0.0
    for day, past_tickets in sorted(days.items()):
        if not past_tickets:
            continue
        past_tickets = sorted(past_tickets, key=lambda p: p.issued_at)
        hours = sorted({p.issued_at.astimezone(tz).hour for p in past_tickets})
        order, covering = counter_order(counters, {p.service for p in past_tickets})
        plan = {h: {c.number for c in order[: min(len(order), max(covering, needed.get((day.weekday(), h), 0)))]}
                for h in range(hours[0], hours[-1] + 1)}
        numbered = [(p.issued_at.astimezone(tz), p.service, p.green, "", 0) for p in past_tickets]
        draws = [(p.service_s, 1.0, 10 * 86400.0, 0.0) for p in past_tickets]
        sim = _Day(numbered, draws, {c.number: c for c in counters}, services, rules or {}, estimate=False)
        opening = datetime.combine(day, time(hours[0]), tz)
        sim.run(opening, datetime.combine(day, time(hours[-1]), tz) + timedelta(hours=1), plan)
        for i, p in enumerate(past_tickets):
            fate = sim.fates.get(i)
            if fate is not None and fate[0] == "done":
                called += 1
                within += (fate[1] - numbered[i][0]).total_seconds() <= p.target_wait_s
        opened: dict[int, datetime] = {}
        for number, at, kind in sim.counter_log:
            if kind is COUNTER_OPENED:
                opened[number] = at
            elif number in opened:
                counter_s += (at - opened.pop(number)).total_seconds()
    return {"sla_share": round(within / called, 4) if called else None,
            "counter_hours": round(counter_s / 3600, 1), "tickets": called}
