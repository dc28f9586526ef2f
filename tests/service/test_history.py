"""The demo's past days come from simulated days: the real policy and estimator, a staffing plan
that follows demand, and figures a real branch would show."""

from __future__ import annotations

import statistics
from collections import defaultdict

import pytest
from sqlalchemy import select

from server.domain.errors import Conflict
from server.services.history import generate_history, staffing_plan
from server.store import tables as t
from tests.service.conftest import World

TICKET, EVENT = t.Ticket.__table__, t.TicketEvent.__table__


async def test_two_weeks_of_demo_history_read_like_a_real_branch(world: World) -> None:
    n = await generate_history(world.app, "demo", weeks=2)
    async with world.app.db.read() as conn:
        rows = (await conn.execute(select(
            TICKET.c.business_date, TICKET.c.state, TICKET.c.wait_s, TICKET.c.target_wait_s,
            TICKET.c.estimated_wait_s, TICKET.c.priority, TICKET.c.counter_id,
        ))).all()
        kinds = [k for (k,) in (await conn.execute(select(EVENT.c.kind))).all()]
    assert n == len(rows) > 2000
    days: dict[object, list] = defaultdict(list)
    for r in rows:
        days[r.business_date].append(r)
    assert len(days) == 12  # Sundays closed
    errors, waits = [], []
    for day, tickets in days.items():
        called = [r for r in tickets if r.wait_s is not None]
        mean_wait = statistics.fmean(r.wait_s for r in called)
        target = statistics.fmean(r.target_wait_s for r in called)
        assert mean_wait < 2 * target, f"{day}: waits of {mean_wait:.0f} s on average"
        assert max(r.wait_s for r in called) < 3 * 3600, f"{day}: someone waited hours"
        lost = sum(1 for r in tickets if r.state in ("expired", "cancelled"))
        assert lost < 0.1 * len(tickets), f"{day}: {lost} of {len(tickets)} never called"
        greens = [r.wait_s for r in called if r.priority == "green"]
        normals = [r.wait_s for r in called if r.priority == "normal"]
        assert statistics.fmean(greens) < statistics.fmean(normals)  # the real policy: green channel first
        errors += [abs(r.estimated_wait_s - r.wait_s) for r in called if r.estimated_wait_s is not None]
        waits += [r.wait_s for r in called]
    # The estimate is the server's estimator's, not a random factor: mostly within ±5 minutes.
    assert sum(1 for e in errors if e <= 300) > 0.75 * len(errors)
    assert len(errors) > 0.95 * len(waits)
    assert kinds.count("counter.opened") >= 4 * 12 and kinds.count("counter.opened") == kinds.count("counter.closed")


async def test_history_is_refused_once_the_branch_has_tickets(world: World) -> None:
    await world.issue("A")
    with pytest.raises(Conflict) as refusal:
        await generate_history(world.app, "demo", weeks=1)
    assert refusal.value.code == "not_empty"


def test_the_staffing_plan_follows_demand_and_always_serves_every_service() -> None:
    from server.services.demo import DEMO_BRANCH
    from server.services.history import HOURLY, SERVICE_MIX
    from server.store.repository import CounterConf, ServiceConf

    services = {s.code: ServiceConf(id=i, code=s.code, names={}, target_wait_s=s.target_wait_s, max_wait_s=None,
                                    target_service_s=s.target_service_s, daily_cap=None, green_allowed=True,
                                    active=True)
                for i, s in enumerate(DEMO_BRANCH.services, 1)}
    counters = [CounterConf(c.number, c.number, {}, c.mode, c.green_only, None, tuple(c.services))
                for c in DEMO_BRANCH.counters]
    quiet = staffing_plan(counters, services, SERVICE_MIX, 120, hours=sorted(HOURLY))
    busy = staffing_plan(counters, services, SERVICE_MIX, 380, hours=sorted(HOURLY))
    for plan in (quiet, busy):
        for open_ in plan.values():
            served = {code for c in counters if c.number in open_ for code in c.services}
            assert served >= set(SERVICE_MIX)
    assert sum(map(len, busy.values())) > sum(map(len, quiet.values()))
    assert len(busy[11]) > len(busy[9])  # the late-morning peak gets more counters than the opening hour


async def test_the_staffing_advice_says_what_its_counters_would_have_achieved(world: World) -> None:
    from server.services import reports

    await generate_history(world.app, "demo", weeks=1)
    manager = await world.staff("manager")
    advice = await reports.staffing(world.app, manager, "demo", weeks=1, sla=0.8)
    simulated = advice["simulated"]
    assert 0.5 < simulated["sla_share"] <= 1  # the period's customers, replayed with the advised counters
    assert simulated["tickets"] > 1000 and simulated["counter_hours"] > 6 * 8
    tighter = (await reports.staffing(world.app, manager, "demo", weeks=1, sla=0.95))["simulated"]
    assert tighter["counter_hours"] >= simulated["counter_hours"]
    assert tighter["sla_share"] >= simulated["sla_share"] - 0.02
