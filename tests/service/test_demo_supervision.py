"""The demo's supervision history: a past drill kept out of the KPIs, an inspection with one open
rectification whose failed item names a teller (so the assessment shows a finding)."""

from __future__ import annotations

from datetime import timedelta

from server.services import assessment, emergency, inspections
from server.services.demo_supervision import seed_demo_supervision


async def test_the_demo_has_a_past_drill_and_an_inspection_with_one_open_rectification(world):
    assert await seed_demo_supervision(world.app) is True
    assert await seed_demo_supervision(world.app) is False  # once
    manager = await world.staff("manager")
    [drill] = await emergency.list_incidents(world.app, manager, "demo", first=None, last=None)
    assert drill.drill is True and drill.ended_at is not None and drill.reported_upward_at is not None
    assert drill.ended_at - drill.started_at == timedelta(minutes=15)
    assert (await emergency.emergency_state(world.app, manager, "demo")).active is None
    listed = await inspections.list_inspections(world.app, manager, "demo")
    assert len(listed["inspections"]) == 1
    assert [(r["item"], r["state"], r["owner"]) for r in listed["rectifications"]] == [
        ("con_appearance", "open", "manager")]
    day = drill.started_at.date()
    async with world.app.db.read() as conn:
        figures = await emergency.incident_figures(conn, "demo", day, day, world.clock())
    assert figures["count"] == 0  # a drill is kept out of the summary's figures
    report = await assessment.assessment_report(world.app, manager, "demo", first=None, last=None)
    [t3] = [t for t in report["tellers"] if t["username"] == "teller3"]
    assert t3["figures"]["findings"] == 1
