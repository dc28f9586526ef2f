"""The simulation: customers and tellers acting on a virtual clock through the real use cases.

Nothing of a ticket's life is bypassed. Each customer is issued a ticket by
:func:`server.services.tickets.issue_ticket` (the estimate they are given is the
server's own); each teller opens a counter with
:func:`~server.services.counters.open_counter`, calls the next with
:func:`~server.services.counters.call_next` (the real policy picks), starts, recalls,
marks no-shows, transfers and finishes through the counter use cases; the business
day rolls over as on the server (yesterday's leftovers expire). Every use case is
one unit of work on the same store. Only the clock is virtual: it jumps from one
event to the next, so a day takes as long as its use cases take to run.

Events are kept in a heap ordered by (time, order of scheduling): with the same
scenario and seed the same things happen in the same order.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from server.domain.access import Actor
from server.domain.errors import BranchqError
from server.domain.model import GreenReason, Priority, TransferPosition
from server.protocol import IssueTicket, Transfer
from server.services import auth, counters, tickets
from server.services.branches import create_branch
from server.services.context import Services
from server.store import accounts
from server.store import repository as repo
from server.store import tables as t

from .scenario import Exponential, LogNormal, Scenario, Shift

TICKET = t.Ticket.__table__
SERVICE = t.Service.__table__


class VirtualClock:
    """The simulation's clock: it stands still until the simulation moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True, slots=True)
class Arrival:
    at: datetime
    service: str
    priority: Priority
    reason: str | None = None


@dataclass
class _Counter:
    number: int
    actor: Actor
    shifts: list[Shift]
    open: bool = False
    current: int | None = None
    closing: bool = False
    """The shift has ended: close once the current customer is done."""
    drain: bool = False
    """The branch has closed: serve out the queue, then close."""
    opened_at: datetime | None = None


@dataclass
class Outcome:
    """What the run did, besides what the database now holds."""

    branch_id: str
    days: list[date]
    timezone: str
    issued: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    counter_seconds: float = 0.0
    counter_hours_by_counter: dict[int, float] = field(default_factory=dict)
    use_cases: int = 0

    @property
    def counter_hours(self) -> float:
        return self.counter_seconds / 3600


class Simulation:
    """One scenario on one :class:`Services` (normally an in-memory database of its own)."""

    def __init__(self, app: Services, clock: VirtualClock, scenario: Scenario, *, seed: int = 1,
                 recent_times: dict[str, list[float]] | None = None,
                 replay: dict[date, list[Arrival]] | None = None) -> None:
        self.app, self.clock, self.scenario = app, clock, scenario
        self.rng = random.Random(seed)
        self.branch_id = scenario.spec.id
        self.tz = ZoneInfo(scenario.spec.timezone)
        self.recent_times = recent_times or {}
        self.replay = replay or {}
        self._heap: list[tuple[datetime, int, Callable[..., Awaitable[None]], tuple[Any, ...]]] = []
        self._order = 0
        self.counters: dict[int, _Counter] = {}
        self.kiosk: Actor | None = None
        self.transferred: set[int] = set()
        self.service_of: dict[int, str] = {}
        self.outcome = Outcome(self.branch_id, scenario.business_days(), scenario.spec.timezone)

    # --- set-up ---------------------------------------------------------------------------

    async def prepare(self) -> None:
        """The branch (created from the scenario when missing), a kiosk and a teller per counter."""
        spec = self.scenario.spec
        profiles = {s.counter: s.services for s in self.scenario.shifts() if s.services is not None}
        async with self.app.db.read() as conn:
            exists = await repo.load_branch(conn, spec.id) is not None
        if not exists:
            if profiles:
                data = spec.model_dump(mode="json")
                for c in data["counters"]:
                    if c["number"] in profiles:
                        c["services"] = list(profiles[c["number"]])
                spec = type(spec).model_validate(data)
            await create_branch(self.app, spec)
        elif profiles:
            raise BranchqError("a staffing plan's profiles apply to a branch the simulation creates, "
                               "not to one that exists already")
        self.kiosk = await self._kiosk()
        tellers = await self._tellers()
        by_counter: dict[int, list[Shift]] = {}
        for shift in self.scenario.shifts():
            by_counter.setdefault(shift.counter, []).append(shift)
        for number, shifts in sorted(by_counter.items()):
            self.counters[number] = _Counter(number, tellers[number], sorted(shifts, key=lambda s: s.begin))

    async def _kiosk(self) -> Actor:
        async with self.app.db.read() as conn:
            row = (await conn.execute(
                select(accounts.DEVICE.c.id, accounts.DEVICE.c.name).where(
                    accounts.DEVICE.c.branch_id == self.branch_id, accounts.DEVICE.c.kind == "kiosk",
                    accounts.DEVICE.c.revoked.is_(False),
                ).order_by(accounts.DEVICE.c.id).limit(1)
            )).first()
        if row is None:
            token = await auth.add_device(self.app, branch_id=self.branch_id, kind="kiosk", name="simulated kiosk")
            return await auth.device_actor(self.app, token)
        return Actor("device", row.id, role="kiosk", branch_id=self.branch_id, name=row.name)

    async def _tellers(self) -> dict[int, Actor]:
        """Counter number → a teller who works there (created, without a password, when none does)."""
        async with self.app.db.read() as conn:
            rows = await accounts.teller_counters(conn, self.branch_id)
        staff: dict[int, int] = {}
        for staff_id, numbers in sorted(rows):
            for n in numbers or []:
                staff.setdefault(n, staff_id)
        out: dict[int, Actor] = {}
        for shift in self.scenario.shifts():
            n = shift.counter
            if n in out:
                continue
            if n not in staff:
                # A hash no password matches: the account can act here but never sign in.
                staff[n] = await auth.add_staff(
                    self.app, username=f"sim-teller-{n}", password="", password_hash="!simulated",
                    role="teller", branch_id=self.branch_id, counters=[n],
                )
            actor = await auth.staff_actor(self.app, staff[n])
            assert actor is not None
            out[n] = actor
        return out

    # --- the event heap -------------------------------------------------------------------

    def at(self, when: datetime, step: Callable[..., Awaitable[None]], *args: Any) -> None:
        self._order += 1
        heapq.heappush(self._heap, (when, self._order, step, args))

    async def run(self) -> Outcome:
        """Simulate every day of the scenario; what happened is in the database and the outcome."""
        await self.prepare()
        for day in self.outcome.days:
            self._schedule_day(day)
        while self._heap:
            when, _order, step, args = heapq.heappop(self._heap)
            self.clock.now = max(self.clock.now, when)
            await step(*args)
        return self.outcome

    def _local(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, self.tz).astimezone(UTC)

    def _schedule_day(self, day: date) -> None:
        sc = self.scenario
        for arrival in self._arrivals(day):
            self.at(arrival.at, self._arrive, arrival)
        closing = self._local(day, sc.closing)
        for c in self.counters.values():
            for shift in c.shifts:
                self.at(self._local(day, shift.begin), self._open, c)
                self.at(self._local(day, shift.end), self._shift_end, c, self._local(day, shift.end) >= closing)

    def _arrivals(self, day: date) -> list[Arrival]:
        sc = self.scenario
        if sc.arrivals == "replay":
            source_days = sorted(self.replay)
            if not source_days:
                return []
            past = source_days[self.outcome.days.index(day) % len(source_days)]
            return [
                Arrival(datetime.combine(day, a.at.astimezone(self.tz).time(), self.tz).astimezone(UTC),
                        a.service, a.priority, a.reason)
                for a in self.replay[past]
            ]
        factor = sc.factor(day)
        out = []
        opening, closing = self._local(day, sc.opening), self._local(day, sc.closing)
        for code in sorted(sc.arrivals):
            for hour, rate in sorted(sc.arrivals[code].items()):
                # A non-homogeneous Poisson process, constant within each hour: Poisson(λ) arrivals
                # spread uniformly over the part of the hour the branch is open.
                lo = max(opening, self._local(day, time(hour)))
                hi = min(closing, self._local(day, time(hour)) + timedelta(hours=1))
                span = (hi - lo).total_seconds()
                if span <= 0:
                    continue
                for _ in range(_poisson(self.rng, rate * factor * span / 3600)):
                    at = lo + timedelta(seconds=self.rng.uniform(0, span))
                    green = self.rng.random() < sc.green_share
                    out.append(Arrival(at, code, Priority.GREEN if green else Priority.NORMAL,
                                       self.rng.choice(GREEN_REASONS) if green else None))
        out.sort(key=lambda a: (a.at, a.service))
        return out

    # --- customers --------------------------------------------------------------------------

    async def _arrive(self, a: Arrival) -> None:
        assert self.kiosk is not None
        self.outcome.use_cases += 1
        try:
            issued = await tickets.issue_ticket(
                self.app, self.kiosk, self.branch_id,
                IssueTicket(service=a.service, priority=a.priority, green_reason=a.reason),
            )
        except BranchqError as refusal:
            self.outcome.refused[refusal.code] = self.outcome.refused.get(refusal.code, 0) + 1
            return
        self.outcome.issued += 1
        self.service_of[issued.id] = a.service
        await self._wake(a.service)

    async def _wake(self, service: str) -> None:
        """An idle open counter serving ``service`` calls (lowest number first)."""
        for c in self.counters.values():
            if c.open and c.current is None and not c.closing and service in self._profile(c.number):
                await self._call(c)
                if c.current is not None:
                    return

    def _profile(self, number: int) -> tuple[str, ...]:
        conf = self._config_counters.get(number)
        return conf if conf is not None else ()

    @property
    def _config_counters(self) -> dict[int, tuple[str, ...]]:
        cached = getattr(self, "_profiles", None)
        return cached if cached is not None else {}

    async def _load_profiles(self) -> None:
        async with self.app.reading(self.branch_id) as (_conn, _branch, config):
            self._profiles = {n: tuple(c.services) for n, c in config.counters.items()}

    # --- tellers ------------------------------------------------------------------------------

    async def _open(self, c: _Counter) -> None:
        if not self._config_counters:
            await self._load_profiles()
        c.closing = c.drain = False
        if c.open:
            return
        self.outcome.use_cases += 1
        await counters.open_counter(self.app, c.actor, self.branch_id, c.number)
        c.open, c.opened_at = True, self.clock.now
        await self._call(c)

    async def _shift_end(self, c: _Counter, at_closing: bool) -> None:
        if not c.open:
            return
        if at_closing:
            c.drain = True  # anyone left waiting is served before the counter closes
            if c.current is None:
                await self._call(c)
            return
        c.closing = True
        if c.current is None:
            await self._close(c)

    async def _close(self, c: _Counter) -> None:
        self.outcome.use_cases += 1
        await counters.close_counter(self.app, c.actor, self.branch_id, c.number)
        c.open, c.closing, c.drain = False, False, False
        assert c.opened_at is not None
        span = (self.clock.now - c.opened_at).total_seconds()
        self.outcome.counter_seconds += span
        self.outcome.counter_hours_by_counter[c.number] = (
            self.outcome.counter_hours_by_counter.get(c.number, 0.0) + span / 3600
        )

    async def _call(self, c: _Counter) -> None:
        """Call-next at ``c`` (the current customer, if any, is finished by it)."""
        self.outcome.use_cases += 1
        result = await counters.call_next(self.app, c.actor, self.branch_id, c.number, expect=c.current)
        c.current = result.ticket.id if result.ticket is not None else None
        if c.current is None:
            if c.drain or c.closing:
                await self._close(c)
            return
        sc = self.scenario
        ticket = c.current
        if self.rng.random() < sc.no_show_share:
            self.at(self.clock.now + timedelta(seconds=sc.no_show_after_s / 2), self._recall, c, ticket)
            self.at(self.clock.now + timedelta(seconds=sc.no_show_after_s), self._no_show, c, ticket)
            return
        walk = self.rng.expovariate(1 / sc.walk_s) if sc.walk_s > 0 else 0.0
        self.at(self.clock.now + timedelta(seconds=walk), self._start, c, ticket)

    async def _recall(self, c: _Counter, ticket: int) -> None:
        self.outcome.use_cases += 1
        await counters.recall(self.app, c.actor, self.branch_id, c.number, expect=ticket)

    async def _no_show(self, c: _Counter, ticket: int) -> None:
        self.outcome.use_cases += 1
        await counters.no_show(self.app, c.actor, self.branch_id, c.number, expect=ticket)
        c.current = None
        await self._next(c)

    async def _start(self, c: _Counter, ticket: int) -> None:
        self.outcome.use_cases += 1
        await counters.start(self.app, c.actor, self.branch_id, c.number, expect=ticket)
        service = self.service_of.get(ticket, "")
        self.at(self.clock.now + timedelta(seconds=self.service_seconds(service)), self._done, c, ticket)

    async def _done(self, c: _Counter, ticket: int) -> None:
        sc = self.scenario
        if ticket not in self.transferred and sc.transfer_share and self.rng.random() < sc.transfer_share:
            others = sorted({code for p in self._config_counters.values() for code in p} - {self.service_of[ticket]})
            if others:
                to = self.rng.choice(others)
                self.outcome.use_cases += 1
                await counters.transfer(self.app, c.actor, self.branch_id, c.number,
                                        Transfer(service=to, position=TransferPosition.LAST, expect=ticket))
                self.transferred.add(ticket)
                self.service_of[ticket] = to
                c.current = None
                await self._next(c)
                await self._wake(to)
                return
        if c.closing:
            self.outcome.use_cases += 1
            await counters.finish(self.app, c.actor, self.branch_id, c.number, expect=ticket)
            c.current = None
            await self._close(c)
            return
        await self._call(c)  # finishes this customer and calls the next in one step

    async def _next(self, c: _Counter) -> None:
        if c.closing:
            await self._close(c)
        else:
            await self._call(c)

    # --- service times -------------------------------------------------------------------------

    def service_seconds(self, service: str) -> float:
        sc = self.scenario
        if sc.service_times == "recent":
            times = self.recent_times.get(service) or [v for vs in self.recent_times.values() for v in vs]
            return self.rng.choice(times) if times else 300.0
        spec = sc.service_times.get(service) or sc.service_times.get("default")
        if spec is None:
            target = next((s.target_service_s for s in sc.spec.services if s.code == service), 300)
            spec = LogNormal(mean_s=float(target))
        if isinstance(spec, Exponential):
            return self.rng.expovariate(1 / spec.mean_s)
        return lognormal(self.rng, spec.mean_s, spec.spread)


GREEN_REASONS: tuple[str, ...] = tuple(r.value for r in GreenReason)


def lognormal(rng: random.Random, mean: float, spread: float) -> float:
    """A log-normal draw with this mean and coefficient of variation."""
    if spread <= 0:
        return mean
    sigma2 = math.log(1 + spread * spread)
    return rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method in steps, exact for any mean)."""
    k, left = 0, mean
    while left > 0:
        step = min(left, 30.0)
        left -= step
        limit, p = math.exp(-step), rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
    return k
