"""Run a scenario on a database of its own, in memory, and gather the figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.domain.errors import InvalidInput
from server.services.context import Services
from server.services.demo import seed_demo
from server.store.engine import create_schema, open_memory_database

from . import measure
from .engine import Outcome, Simulation, VirtualClock
from .scenario import Scenario


@dataclass
class Result:
    outcome: Outcome
    report: dict[str, Any]
    estimate_error: dict[str, Any]
    green_wait_avg_s: float
    normal_wait_avg_s: float

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


async def simulate(scenario: Scenario, *, seed: int = 1, estimator: str = "projected", **sources: Any) -> Result:
    """Run ``scenario`` on a fresh in-memory database (with the demo branch's accounts when the
    scenario's branch is the demo's) and measure it; ``estimator`` is the server's
    (:attr:`Services.estimator`: ``simple`` is the first one, to compare with).

    Raises:
        InvalidInput: the scenario asks for replayed arrivals or recent service times, which
            this runner does not read yet.
    """
    if (scenario.arrivals == "replay" or scenario.service_times == "recent") and not sources:
        raise InvalidInput("arrivals: replay and service_times: recent are not supported by this "
                           "version of the simulator yet; give arrivals per hour and service-time distributions")
    db = open_memory_database()
    try:
        await create_schema(db)
        tz = ZoneInfo(scenario.spec.timezone)
        first = scenario.business_days()[0]
        clock = VirtualClock(datetime.combine(first - timedelta(days=1), time(8, 0), tz).astimezone(UTC))
        app = Services(db, clock, demo=True, estimator=estimator)
        if scenario.branch == "demo":
            await seed_demo(app)
        return await simulate_on(app, clock, scenario, seed=seed, **sources)
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
