"""Emergency mode over HTTP on both databases, and across two server processes on PostgreSQL."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import openpyxl
import pytest

from server.client import BranchClient
from tests.conftest import KIOSK, _truncate_pg, login, seconds
from tests.integration.server_process import ServerProcess
from tests.integration.test_ws_processes import ok, signed_in

B = "/api/v1/branches/demo"
CROWD = {"kind": "crowd", "scope": ["A", "B"], "texts": {"zh-CN": "大厅人员过多，暂停取号", "en": "Issuing paused"}}


@pytest.mark.parametrize("who", ["teller3", "demo-kiosk", "demo-display", "demo-evaluator"])
async def test_a_teller_or_a_device_cannot_start_or_end_an_emergency(demo, who):
    c = demo.client
    headers = {}
    if who.startswith("demo-"):
        headers = {"Authorization": f"Bearer {who}"}
    else:
        await login(c, who)
    resp = await c.post(f"{B}/emergency", json=CROWD, headers=headers)
    assert resp.status == 403, await resp.text()
    assert (await c.delete(f"{B}/emergency", headers=headers)).status == 403
    assert (await c.get(f"{B}/incidents", headers=headers)).status == 403
    await login(c, "manager")
    assert (await c.get(f"{B}/emergency")).status == 200
    assert (await (await c.get(f"{B}/emergency")).json())["active"] is None


async def test_bad_input_is_refused_with_a_clear_4xx_and_nothing_started(demo):
    c = demo.client
    await login(c, "manager")
    for bad in ({"kind": "fire", "texts": {"zh-CN": "x"}}, {"kind": "crowd", "texts": {"en": "only"}},
                {"kind": "crowd", "texts": {"zh-CN": "   "}}, {"kind": "crowd", "scope": [],
                "texts": {"zh-CN": "x"}}, {"kind": "crowd", "scope": "some", "texts": {"zh-CN": "x"}}):
        resp = await c.post(f"{B}/emergency", json=bad)
        assert resp.status == 400, (bad, await resp.text())
        assert (await resp.json())["error"]["code"] == "invalid_input"
    unknown = await c.post(f"{B}/emergency", json={"kind": "crowd", "scope": ["Z"], "texts": {"zh-CN": "x"}})
    assert unknown.status == 404 and "no service Z" in (await unknown.json())["error"]["message"]
    assert (await (await c.get(f"{B}/emergency")).json())["active"] is None
    assert (await c.get(f"{B}/incidents/99999")).status == 404
    gone = await c.delete(f"{B}/emergency")
    assert gone.status == 409 and (await gone.json())["error"]["code"] == "no_emergency"


async def test_an_incident_from_start_to_report_with_a_drill_kept_out_of_the_summary(demo):
    c, clock = demo.client, demo.clock
    await login(c, "manager")
    for service in ("A", "A", "B", "C"):
        assert (await c.post(f"{B}/tickets", json={"service": service}, headers=KIOSK)).status == 201
    started = await ok(await c.post(f"{B}/emergency", json=CROWD), 201)
    assert started["waiting_at_start"] == 3 and started["state"] == "active" and not started["drill"]
    again = await c.post(f"{B}/emergency", json={**CROWD, "scope": "all"})
    assert again.status == 409 and (await again.json())["error"]["code"] == "emergency_active"
    refused = await c.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)
    assert refused.status == 409 and (await refused.json())["error"]["code"] == "emergency"
    assert (await c.post(f"{B}/tickets", json={"service": "C"}, headers=KIOSK)).status == 201
    state = await ok(await c.get(f"{B}/emergency"))
    assert state["stopped_services"] == ["A", "B"] and state["active"]["id"] == started["id"]
    i = f"{B}/incidents/{started['id']}"
    await ok(await c.post(f"{i}/entries", json={"text": "=HYPERLINK(\"x\") 已疏导客户"}), 201)
    await ok(await c.post(f"{i}/reported-upward"))
    clock.advance(minutes=25)
    ended = await ok(await c.delete(f"{B}/emergency"))
    assert ended["stopped_s"] == 25 * 60 and ended["state"] == "ended"
    assert (await c.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)).status == 201

    drill = await ok(await c.post(f"{B}/emergency", json={**CROWD, "scope": "all", "drill": True}), 201)
    clock.advance(minutes=10)
    await ok(await c.delete(f"{B}/emergency"))

    summary = await ok(await c.get(f"{B}/reports/summary"))
    assert summary["incidents"] == {"count": 1, "stopped_minutes": 25.0, "drills": 1, "drill_minutes": 10.0,
                                    "active": False}
    listed = await ok(await c.get(f"{B}/incidents"))
    assert [x["id"] for x in listed] == [drill["id"], started["id"]]

    report = await ok(await c.get(i))
    assert report["tickets_affected"] == 3 and report["waiting_at_start"] == 3
    assert report["stopped_minutes"] == 25.0
    assert [e["kind"] for e in report["timeline"]] == ["started", "note", "reported_upward", "ended"]
    csv_resp = await c.get(f"{i}.csv")
    assert csv_resp.status == 200 and csv_resp.content_type == "text/csv"
    text = await csv_resp.text()
    assert "'=HYPERLINK" in text and "A001" in text, "a note is text, never a formula"
    xlsx = await c.get(f"{i}.xlsx")
    assert xlsx.status == 200
    book = openpyxl.load_workbook(io.BytesIO(await xlsx.read()))
    assert book.sheetnames == ["summary", "tickets", "timeline"]
    assert sorted(r[0].value for r in book["tickets"].iter_rows(min_row=2)) == ["A001", "A002", "B001"]


async def test_a_reconnecting_kiosk_sees_the_incident_in_its_snapshot_and_the_end_as_an_event(demo):
    c = demo.client
    url = str(c.make_url(""))
    await login(c, "manager")
    started = await ok(await c.post(f"{B}/emergency", json={**CROWD, "drill": True}), 201)
    async with BranchClient(url, role="kiosk", branch="demo", token="demo-kiosk") as kiosk:
        assert kiosk.state["emergency"]["id"] == started["id"] and kiosk.state["emergency"]["drill"] is True
        assert "timeline" not in kiosk.state["emergency"], "a kiosk is told no names and no notes"
        await ok(await c.delete(f"{B}/emergency"))
        ended = await kiosk.next_event("emergency.ended")
        assert ended.data["id"] == started["id"]


@pytest.mark.slow
@pytest.mark.postgres
async def test_two_processes_agree_on_an_emergency_from_start_to_end(pg_database, tmp_path: Path):
    """Started on A: a kiosk on B is refused at once, a board on B shows it, counters finish, the end restores."""
    await _truncate_pg(pg_database)
    a = ServerProcess(pg_database, tmp_path / "a", demo=True)
    b = ServerProcess(pg_database, tmp_path / "b", demo=True)
    async with a, b:
        manager = await signed_in(a, "manager")
        teller = await signed_in(b, "teller3")
        second_manager = await signed_in(b, "manager")
        kiosk_b = b.session()
        kiosk_headers = {"Authorization": "Bearer demo-kiosk"}
        try:
            await ok(await teller.post(f"{B}/counters/3/open"))
            for _ in range(3):
                await ok(await kiosk_b.post(f"{B}/tickets", json={"service": "A"}, headers=kiosk_headers), 201)
            called = await ok(await teller.post(f"{B}/counters/3/call-next"))
            async with BranchClient(b.base_url, role="display", branch="demo", token="demo-display") as board:
                # Two managers on two processes press at once: one incident, one refusal.
                both = await asyncio.gather(
                    manager.post(f"{B}/emergency", json={**CROWD, "scope": "all"}),
                    second_manager.post(f"{B}/emergency", json={**CROWD, "scope": "all"}),
                )
                assert sorted(r.status for r in both) == [201, 409], [r.status for r in both]
                started = await (both[0] if both[0].status == 201 else both[1]).json()
                shown = await board.next_event("emergency.started", timeout=seconds(10))
                assert shown.data["id"] == started["id"] and shown.data["texts"]["zh-CN"] == CROWD["texts"]["zh-CN"]
                # The kiosk on B is refused at once: the incident is in the database, not in A's memory.
                refused = await kiosk_b.post(f"{B}/tickets", json={"service": "A"}, headers=kiosk_headers)
                assert refused.status == 409 and (await refused.json())["error"]["code"] == "emergency"
                state_b = await ok(await second_manager.get(f"{B}/emergency"))
                assert state_b["active"]["id"] == started["id"]
                # The counter finishes the ticket it called; nothing new of the scope is called.
                await ok(await teller.post(f"{B}/counters/3/start"))
                finished = await ok(await teller.post(f"{B}/counters/3/call-next",
                                                      json={"expect": called["ticket"]["id"]}))
                assert finished["ticket"] is None
                async with BranchClient(b.base_url, role="kiosk", branch="demo", token="demo-kiosk") as late:
                    assert late.state["emergency"]["id"] == started["id"], "a kiosk connecting meanwhile sees it"
                await ok(await manager.delete(f"{B}/emergency"))
                await board.next_event("emergency.ended", timeout=seconds(10))
                assert (await board.command("snapshot"))["state"]["emergency"] is None
            await ok(await kiosk_b.post(f"{B}/tickets", json={"service": "A"}, headers=kiosk_headers), 201)
            resumed = await ok(await teller.post(f"{B}/counters/3/call-next"))
            assert resumed["ticket"] is not None
        finally:
            for s in (manager, teller, second_manager, kiosk_b):
                await s.close()
