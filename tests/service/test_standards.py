"""Service standards that act: the evaluator records, clears, escalates; managers acknowledge; the report."""

from __future__ import annotations

import asyncio

from server.services import counters, standards
from server.services.snapshot import branch_snapshot
from server.store import supervision as store


async def open_rows(w):
    async with w.app.db.read() as conn:
        return await store.open_breaches(conn, "demo")


async def test_a_wait_past_target_is_recorded_once_however_often_it_is_evaluated(world):
    # Demo D: target wait 15 min, max 45; counter 5 serves D.
    await counters.open_counter(world.app, await world.staff("teller5"), "demo", 5)
    await counters.call_next(world.app, await world.staff("teller5"), "demo", 5)  # nobody: stays idle
    await world.issue("D")
    await world.issue("D")
    await counters.call_next(world.app, await world.staff("teller5"), "demo", 5)
    world.clock.advance(minutes=16)
    first = await standards.evaluate(world.app, "demo")
    assert [b.key for b in first.raise_] == ["service_target:#5", "wait_target:D"]
    for _ in range(3):
        again = await standards.evaluate(world.app, "demo")
        assert again.empty
    assert sorted(r.key for r in await open_rows(world)) == ["service_target:#5", "wait_target:D"]


async def test_two_evaluators_at_once_record_one_breach(world):
    await world.issue("E")  # nobody opened counter 6: waits
    world.clock.advance(minutes=21)  # E's target wait is 20 min
    await asyncio.gather(*(standards.evaluate(world.app, "demo") for _ in range(4)))
    assert [r.key for r in await open_rows(world)] == ["wait_target:E"]


async def test_a_breach_clears_when_the_standard_holds_again(world):
    teller = await world.staff("teller6")
    await world.issue("E")
    world.clock.advance(minutes=21)
    await standards.evaluate(world.app, "demo")
    await counters.open_counter(world.app, teller, "demo", 6)
    await counters.call_next(world.app, teller, "demo", 6)
    plan = await standards.evaluate(world.app, "demo")
    assert len(plan.clear) == 1
    assert await open_rows(world) == []


async def test_an_unacknowledged_breach_escalates_to_the_regional_manager_after_ten_minutes(world):
    await world.issue("E")
    world.clock.advance(minutes=21)
    await standards.evaluate(world.app, "demo")
    world.clock.advance(minutes=9)
    assert (await standards.evaluate(world.app, "demo")).escalate == ()
    world.clock.advance(minutes=1)
    plan = await standards.evaluate(world.app, "demo")
    assert len(plan.escalate) == 1
    [row] = await open_rows(world)
    assert row.level == 2 and row.escalated_at is not None
    world.clock.advance(minutes=30)
    assert (await standards.evaluate(world.app, "demo")).escalate == ()  # once


async def test_an_acknowledged_breach_is_not_escalated_and_keeps_the_note(world):
    await world.issue("E")
    world.clock.advance(minutes=21)
    await standards.evaluate(world.app, "demo")
    [row] = await open_rows(world)
    manager = await world.staff("manager")
    world.clock.advance(minutes=2)
    answer = await standards.acknowledge(world.app, manager, "demo", row.id, "teller 4 moves to counter 6")
    assert answer["acknowledged_by"] == "manager" and answer["note"] == "teller 4 moves to counter 6"
    world.clock.advance(minutes=30)
    assert (await standards.evaluate(world.app, "demo")).escalate == ()
    await world.refused("acknowledged", lambda: standards.acknowledge(world.app, manager, "demo", row.id, "again"))


async def test_acknowledging_needs_a_manager_and_a_note(world):
    await world.issue("E")
    world.clock.advance(minutes=21)
    await standards.evaluate(world.app, "demo")
    [row] = await open_rows(world)
    teller = await world.staff("teller1")
    await world.refused("forbidden", lambda: standards.acknowledge(world.app, teller, "demo", row.id, "ok"))
    manager = await world.staff("manager")
    await world.refused("invalid_input", lambda: standards.acknowledge(world.app, manager, "demo", row.id, "  "))
    await world.refused("not_found", lambda: standards.acknowledge(world.app, manager, "demo", 999, "ok"))


async def test_the_queue_breach_suggests_opening_a_closed_counter_that_serves_the_service(world):
    await world.issue("E")
    world.clock.advance(minutes=21)
    await standards.evaluate(world.app, "demo")
    [row] = await open_rows(world)
    assert row.suggestion == {"action": "open_counter", "counter": 6}


async def test_an_idle_open_counter_with_waiting_tickets_is_a_breach(world):
    # Demo A: max idle 3 minutes. Counter 3 (A, B, C) opens and calls nobody while A waits.
    await world.issue("A")
    await counters.open_counter(world.app, await world.staff("teller3"), "demo", 3)
    world.clock.advance(minutes=4)
    plan = await standards.evaluate(world.app, "demo")
    assert "counter_idle:#3" in [b.key for b in plan.raise_]


async def test_the_dashboard_snapshot_lists_open_breaches(world):
    await world.issue("E")
    world.clock.advance(minutes=21)
    await standards.evaluate(world.app, "demo")
    _seq, state = await branch_snapshot(world.app, await world.staff("manager"), "demo", "dashboard")
    assert [b["key"] for b in state["breaches"]] == ["wait_target:E"]


async def test_the_report_counts_breaches_minutes_and_time_to_acknowledge(world):
    manager = await world.staff("manager")
    await world.issue("E")
    world.clock.advance(minutes=21)
    await standards.evaluate(world.app, "demo")
    [row] = await open_rows(world)
    world.clock.advance(minutes=4)
    await standards.acknowledge(world.app, manager, "demo", row.id, "on it")
    world.clock.advance(minutes=6)
    teller = await world.staff("teller6")
    await counters.open_counter(world.app, teller, "demo", 6)
    await counters.call_next(world.app, teller, "demo", 6)
    await standards.evaluate(world.app, "demo")
    report = await standards.breach_report(world.app, manager, "demo", first="2026-03-02", last="2026-03-02")
    assert report["rows"] == [{
        "day": "2026-03-02", "service": "E", "breaches": 1, "severe": 0, "escalated": 0,
        "minutes_in_breach": 10.0, "acknowledged": 1, "minutes_to_acknowledge": 4.0,
    }]
