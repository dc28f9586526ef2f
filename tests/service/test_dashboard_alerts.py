"""The dashboard's snapshot carries the alerts of server/domain/alerts.py, read from the branch."""

from __future__ import annotations

from server.protocol import PauseCounter
from server.services import counters
from server.services.snapshot import branch_snapshot


async def dashboard_alerts(w) -> list[tuple[str, str | int | None]]:
    _seq, state = await branch_snapshot(w.app, await w.staff("manager"), "demo", "dashboard")
    return [(a["code"], a["service"] or a["counter"]) for a in state["alerts"]]


async def test_the_dashboard_alerts_when_tickets_wait_and_no_counter_serving_them_is_open(world):
    assert await dashboard_alerts(world) == []
    await world.issue("D")
    assert await dashboard_alerts(world) == [("no_open_counter", "D")]
    await counters.open_counter(world.app, await world.staff("teller5"), "demo", 5)
    assert await dashboard_alerts(world) == []


async def test_the_dashboard_alerts_when_the_oldest_ticket_waited_past_its_target(world):
    await counters.open_counter(world.app, await world.staff("teller5"), "demo", 5)
    await world.issue("D")
    _seq, state = await branch_snapshot(world.app, await world.staff("manager"), "demo", "dashboard")
    target = next(s["target_wait_s"] for s in state["services"] if s["code"] == "D")
    world.clock.advance(seconds=target + 1)
    assert await dashboard_alerts(world) == [("past_target_wait", "D")]


async def test_the_dashboard_alerts_on_a_counter_paused_by_the_server_or_for_too_long(world):
    teller = await world.staff("teller5")
    await counters.open_counter(world.app, teller, "demo", 5)
    await counters.pause_counter(world.app, teller, "demo", 5, PauseCounter(code="meeting"))
    assert await dashboard_alerts(world) == []
    world.clock.advance(minutes=16)
    assert await dashboard_alerts(world) == [("paused_too_long", 5)]
    await counters.open_counter(world.app, teller, "demo", 5)
    await counters.pause_counter(world.app, teller, "demo", 5, PauseCounter(code="system"))
    assert await dashboard_alerts(world) == [("teller_gone", 5)]


async def test_other_roles_get_no_alerts(world):
    await world.issue("D")
    _seq, state = await branch_snapshot(world.app, await world.device("display"), "demo", "display")
    assert "alerts" not in state
