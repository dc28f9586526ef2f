"""Run a scenario on a database of its own, in memory, and gather the figures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.domain.errors import InvalidInput
from server.services.context import Services
from server.services.demo import seed_demo
from server.store.engine import create_schema, open_memory_database

from . import measure
from .engine import Arrival, Outcome, Simulation, VirtualClock
from .scenario import Scenario


@dataclass
class Result:
    outcome: Outcome
    report: dict[str, Any]
    estimate_error: dict[str, Any]
    green_wait_avg_s: float
    normal_wait_avg_s: float
    advice: Any = None
    """What ``simulate(advise=…)`` made of the simulated days (the staffing advice, say)."""

    @property
    def sla_share(self) -> float | None:
        share: float | None = self.report["total"]["sla_share"]
        return share

    def as_json(self) -> dict[str, Any]:
        o = self.outcome
        return {
            "branch": o.branch_id,
            "days": [d.isoformat() for d in o.days],
            "issued": o.issued,
            "refused": o.refused,
            "use_cases": o.use_cases,
            "counter_hours": round(o.counter_hours, 2),
            "sla_share": self.sla_share,
            "green_wait_avg_s": round(self.green_wait_avg_s, 1),
            "normal_wait_avg_s": round(self.normal_wait_avg_s, 1),
            "estimate_error": self.estimate_error,
            "report": self.report,
        }


async def simulate(
    scenario: Scenario, *, seed: int = 1, estimator: str = "projected",
    advise: Callable[[Services, VirtualClock, Result], Awaitable[Any]] | None = None, **sources: Any,
) -> Result:
    """Run ``scenario`` on a fresh in-memory database (with the demo branch's accounts when the
    scenario's branch is the demo's) and measure it; ``estimator`` is the server's
    (:attr:`Services.estimator`: ``simple`` is the first one, to compare with).

    Raises:
        InvalidInput: the scenario asks for replayed arrivals or recent service times and
            ``sources`` (:func:`load_sources`) were not given.
    """
    if (scenario.arrivals == "replay" or scenario.service_times == "recent") and not sources:
        raise InvalidInput("arrivals: replay and service_times: recent read their source first "
                           "(server.simulate.run.load_sources, as `branchq simulate` does)")
    db = open_memory_database()
    try:
        await create_schema(db)
        tz = ZoneInfo(scenario.spec.timezone)
        first = scenario.business_days()[0]
        clock = VirtualClock(datetime.combine(first - timedelta(days=1), time(8, 0), tz).astimezone(UTC))
        app = Services(db, clock, demo=True, estimator=estimator)
        if scenario.branch == "demo":
            await seed_demo(app)
        result = await simulate_on(app, clock, scenario, seed=seed, **sources)
        if advise is not None:
            result.advice = await advise(app, clock, result)
        return result
    finally:
        await db.dispose()


async def simulate_on(
    app: Services, clock: VirtualClock, scenario: Scenario, *, seed: int = 1, **sources: Any
) -> Result:
    """Run ``scenario`` on ``app`` (whose clock is ``clock``) and measure the simulated days."""
    outcome = await Simulation(app, clock, scenario, seed=seed, **sources).run()
    first, last = outcome.days[0], outcome.days[-1]
    tz = ZoneInfo(outcome.timezone)
    end = datetime.combine(last + timedelta(days=1), time(0, 0), tz).astimezone(UTC)
    clock.now = max(clock.now, end)
    report = await measure.report(app, outcome.branch_id, outcome.timezone, first, last, now=clock.now)
    seen = await measure.seen_estimates(app, outcome.branch_id, first, last)
    green, normal = await measure.green_waits(app, outcome.branch_id, first, last)
    return Result(outcome, report, measure.estimate_error(seen), green, normal)


# --- the staffing what-if: the day again, with the counters the advice recommends ---------------


@dataclass
class AdvisedRun:
    """A scenario as planned, and again with the counters the staffing advice recommends."""

    planned: Result
    advised: Result
    sla: float
    counters_by_hour: dict[int, int]

    def as_json(self) -> dict[str, Any]:
        def brief(r: Result) -> dict[str, Any]:
            return {"sla_share": r.sla_share, "counter_hours": round(r.outcome.counter_hours, 2),
                    "mean_wait_s": r.estimate_error["total"]["mean_wait_s"]}

        return {"sla_target": self.sla, "counters_by_hour": self.counters_by_hour,
                "planned": brief(self.planned), "advised": brief(self.advised),
                "met": self.advised.sla_share is not None and self.advised.sla_share >= self.sla}


def counter_order(scenario: Scenario, wanted: set[str]) -> list[int]:
    """The order counters open in as more are needed: first a few that serve every service
    customers come for (most uncovered services first), then the others, green-only last."""
    counters = sorted(scenario.spec.counters, key=lambda c: c.number)
    order: list[int] = []
    uncovered = set(wanted)
    rest = list(counters)
    while uncovered and rest:
        best = max(rest, key=lambda c: (len(uncovered & set(c.services)), -c.green_only, len(c.services), -c.number))
        if not uncovered & set(best.services):
            break
        order.append(best.number)
        rest.remove(best)
        uncovered -= set(best.services)
    return order + [c.number for c in rest if not c.green_only] + [c.number for c in rest if c.green_only]


def advised_staffing(scenario: Scenario, needed: dict[int, int]) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """Shifts opening, each hour, the counters the advice needs there (never fewer than it takes
    to serve every service), and the counters open by hour."""
    wanted = set(scenario.arrivals) if isinstance(scenario.arrivals, dict) else {s.code for s in scenario.spec.services}
    order = counter_order(scenario, wanted)
    covering = next((k for k in range(1, len(order) + 1)
                     if wanted <= {code for n in order[:k] for code in _services(scenario, n)}), len(order))
    first = scenario.opening.hour
    last = scenario.closing.hour + (1 if scenario.closing.minute or scenario.closing.second else 0)
    by_hour = {h: min(len(order), max(covering, needed.get(h, 0))) for h in range(first, last)}
    shifts: list[dict[str, Any]] = []
    for rank, number in enumerate(order):
        begin: int | None = None
        for h in [*range(first, last), last]:
            on = h < last and by_hour[h] > rank
            if on and begin is None:
                begin = h
            if not on and begin is not None:
                end = scenario.closing if h == last else time(h)
                shifts.append({"counter": number, "from": max(time(begin), scenario.opening).strftime("%H:%M"),
                               "to": end.strftime("%H:%M")})
                begin = None
    return shifts, by_hour


def _services(scenario: Scenario, number: int) -> tuple[str, ...]:
    return next(tuple(c.services) for c in scenario.spec.counters if c.number == number)


async def simulate_advice(scenario: Scenario, *, seed: int = 1, sla: float = 0.8, **sources: Any) -> AdvisedRun:
    """``branchq simulate --plan advice``: run the scenario as planned, take the staffing advice
    (Erlang C, :func:`server.reports.advice.staffing_advice`) of the simulated days, and run the
    same days (same seed, same customers) with the counters it recommends, each hour the most
    it asks for on any weekday of the period."""
    from server.reports.advice import staffing_advice
    from server.reports.summary import Period

    async def advise(app: Services, clock: VirtualClock, result: Result) -> dict[int, int]:
        o = result.outcome
        async with app.db.read() as conn:
            advice = await staffing_advice(conn, o.branch_id, o.timezone, Period(o.days[0], o.days[-1]),
                                           sla=sla, now=clock.now)
        needed: dict[int, int] = {}
        for row in advice["rows"]:
            needed[row["hour"]] = max(needed.get(row["hour"], 0), row["counters_needed"])
        return needed

    planned = await simulate(scenario, seed=seed, advise=advise, **sources)
    shifts, by_hour = advised_staffing(scenario, planned.advice)
    data = scenario.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data["staffing"] = shifts
    advised = await simulate(Scenario.model_validate(data), seed=seed, **sources)
    return AdvisedRun(planned, advised, sla, by_hour)


# --- replayed arrivals and the branch's own service times ------------------------------------


async def load_sources(scenario: Scenario, database: str | None) -> dict[str, Any]:
    """What ``arrivals: replay`` and ``service_times: recent`` read: the source period's real
    arrivals by day and its service times by service, from the source's database (or
    ``database``, the one given on the command line).

    Raises:
        InvalidInput: no database to read, or the period holds no ticket of the branch.
    """
    from server.domain.model import Priority
    from server.store import history as past
    from server.store.engine import open_database
    from server.store.repository import aware

    src = scenario.source
    if src is None:
        return {}
    url = src.database or database
    if not url:
        raise InvalidInput("source: give a database (in the scenario or with --database)")
    db = open_database(url)
    try:
        async with db.read() as conn:
            arrivals = await past.replayed_arrivals(conn, src.branch, src.first, src.last)
            times = await past.recent_service_times(conn, src.branch, src.first, src.last)
    finally:
        await db.dispose()
    out: dict[str, Any] = {}
    if scenario.arrivals == "replay":
        if not arrivals:
            raise InvalidInput(f"source: branch {src.branch!r} has no tickets from {src.first} to {src.last}")
        replay: dict[Any, list[Arrival]] = {}
        for r in arrivals:
            replay.setdefault(r.business_date, []).append(
                Arrival(aware(r.issued_at), r.code, Priority(r.priority), r.green_reason))
        out["replay"] = replay
    if scenario.service_times == "recent":
        recent: dict[str, list[float]] = {}
        for r in times:
            recent.setdefault(r.code, []).append(float(r.service_s))
        out["recent_times"] = recent
    return out
