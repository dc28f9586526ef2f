"""Emergency mode at the use cases: who may start it, what stops, what counters may still do,
the timeline, the report, and drills kept out of the summary's figures."""

from __future__ import annotations

import pytest

from server.domain.errors import Forbidden
from server.protocol import CallTicket, EmergencyIn, IncidentEntryIn, IssueTicket
from server.services import counters, emergency, snapshot, tickets

from .conftest import World


def body(**fields) -> EmergencyIn:
    return EmergencyIn(**{"kind": "crowd", "texts": {"zh-CN": "大厅人员过多，暂停取号"}, **fields})


async def start(w: World, **fields):
    return await emergency.start_emergency(w.app, await w.staff("manager"), "demo", body(**fields))


@pytest.mark.parametrize("who", ["teller1", "kiosk", "display", "evaluator"])
async def test_only_a_manager_may_start_or_end_an_emergency(world: World, who: str):
    actor = await (world.device(who) if who in ("kiosk", "display", "evaluator") else world.staff(who))
    with pytest.raises(Forbidden):
        await emergency.start_emergency(world.app, actor, "demo", body())
    await start(world)
    with pytest.raises(Forbidden):
        await emergency.end_emergency(world.app, actor, "demo")


async def test_an_emergency_stops_issuing_of_its_scope_for_kiosks_and_staff_until_it_ends(world: World):
    await start(world, scope=["A", "B"])
    kiosk, manager = await world.device("kiosk"), await world.staff("manager")
    await world.refused("emergency", lambda: world.issue("A"))
    await world.refused("emergency", lambda: tickets.issue_ticket(world.app, manager, "demo", IssueTicket(service="B")))
    assert (await world.issue("C")).number == "C001", "services outside the scope issue as ever"
    await emergency.end_emergency(world.app, manager, "demo")
    assert (await tickets.issue_ticket(world.app, kiosk, "demo", IssueTicket(service="A"))).number == "A001"


async def test_a_second_start_while_one_is_active_is_refused_and_changes_nothing(world: World):
    await start(world)
    manager = await world.staff("manager")
    await world.refused("emergency_active",
                        lambda: emergency.start_emergency(world.app, manager, "demo", body(kind="disaster")))
    await emergency.end_emergency(world.app, manager, "demo")
    await world.refused("no_emergency", lambda: emergency.end_emergency(world.app, manager, "demo"))
    assert (await start(world, drill=True)).drill, "after the end, a new one may start"


async def test_bad_scope_or_message_is_refused_and_changes_nothing(world: World):
    manager = await world.staff("manager")
    await world.refused("not_found",
                        lambda: emergency.start_emergency(world.app, manager, "demo", body(scope=["Z"])))
    await world.refused("invalid_input",
                        lambda: emergency.start_emergency(world.app, manager, "demo",
                                                          EmergencyIn.model_construct(kind="crowd", scope="all",
                                                                                      texts={"en": "Leave"},
                                                                                      drill=False)))


async def test_counters_finish_the_tickets_already_called_but_call_nothing_new_of_the_scope(world: World):
    teller = await world.staff("teller3")
    await counters.open_counter(world.app, teller, "demo", 3)
    first, waiting_a, waiting_c = await world.issue("A"), await world.issue("A"), await world.issue("C")
    called = await counters.call_next(world.app, teller, "demo", 3)
    assert called.ticket is not None and called.ticket.number == first.number
    await start(world, scope=["A"])
    await counters.start(world.app, teller, "demo", 3)
    # call-next finishes the current A ticket and calls C (outside the scope), never the waiting A.
    nxt = await counters.call_next(world.app, teller, "demo", 3)
    assert nxt.ticket is not None and nxt.ticket.number == waiting_c.number
    await counters.start(world.app, teller, "demo", 3)
    finished = await counters.call_next(world.app, teller, "demo", 3)
    assert finished.ticket is None, "only the stopped A ticket waits: nobody is called"
    await world.refused("emergency", lambda: counters.call_ticket(world.app, teller, "demo", 3,
                                                                  CallTicket(ticket=waiting_a.number)))
    await emergency.end_emergency(world.app, await world.staff("manager"), "demo")
    resumed = await counters.call_next(world.app, teller, "demo", 3)
    assert resumed.ticket is not None and resumed.ticket.number == waiting_a.number


async def test_the_incident_keeps_its_timeline_and_its_report(world: World):
    manager = await world.staff("manager")
    await world.issue("A")
    await world.issue("B")
    await world.issue("C")
    started = await start(world, scope=["A", "B"], kind="system_failure")
    assert started.waiting_at_start == 2 and started.state == "active"
    world.clock.advance(minutes=5)
    await emergency.add_entry(world.app, manager, "demo", started.id,
                              IncidentEntryIn(text="核心系统中断，已通知科技部"))
    await emergency.add_entry(world.app, manager, "demo", started.id,
                              IncidentEntryIn(kind="action", text="引导客户至自助区"))
    reported = await emergency.report_upward(world.app, manager, "demo", started.id)
    first_report = reported.reported_upward_at
    world.clock.advance(minutes=10)
    again = await emergency.report_upward(world.app, manager, "demo", started.id)
    assert again.reported_upward_at == first_report, "reported upward once: the first time is kept"
    world.clock.advance(minutes=15)
    ended = await emergency.end_emergency(world.app, manager, "demo")
    assert ended.state == "ended" and ended.stopped_s == 30 * 60
    assert [e.kind for e in ended.timeline] == ["started", "note", "action", "reported_upward", "ended"]
    report = await emergency.incident_report(world.app, manager, "demo", started.id)
    assert report["waiting_at_start"] == 2 and report["tickets_affected"] == 2
    assert report["stopped_minutes"] == 30.0
    assert sorted(t["number"] for t in report["tickets"]) == ["A001", "B001"]
    assert [i.id for i in await emergency.list_incidents(world.app, manager, "demo")] == [started.id]


async def test_a_drill_is_kept_out_of_the_summary_reports_incident_figures(world: World):
    manager = await world.staff("manager")
    await start(world, drill=True)
    world.clock.advance(minutes=12)
    await emergency.end_emergency(world.app, manager, "demo")
    await start(world, kind="system_failure")
    world.clock.advance(minutes=20)
    await emergency.end_emergency(world.app, manager, "demo")
    # (The whole summary report is read over HTTP on both databases: tests/integration/test_emergency.py.)
    day = world.clock().date()
    async with world.app.db.read() as conn:
        figures = await emergency.incident_figures(conn, "demo", day, day, world.clock())
    assert figures == {"count": 1, "stopped_minutes": 20.0, "drills": 1, "drill_minutes": 12.0,
                                   "active": False}


async def test_every_screens_snapshot_carries_the_incident_in_force_without_names_or_notes(world: World):
    started = await start(world, scope=["D"], drill=True)
    kiosk = await world.device("kiosk")
    _seq, state = await snapshot.branch_snapshot(world.app, kiosk, "demo", "kiosk")
    assert state["emergency"] == {"id": started.id, "kind": "crowd", "scope": ["D"], "drill": True,
                                  "texts": {"zh-CN": "大厅人员过多，暂停取号"},
                                  "started_at": started.started_at.isoformat()}
    _seq, staff_state = await snapshot.branch_snapshot(world.app, await world.staff("manager"), "demo", "dashboard")
    assert staff_state["emergency"]["timeline"][0]["kind"] == "started"
    await emergency.end_emergency(world.app, await world.staff("manager"), "demo")
    _seq, state = await snapshot.branch_snapshot(world.app, kiosk, "demo", "kiosk")
    assert state["emergency"] is None
