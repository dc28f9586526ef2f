"""Supervision over HTTP and websockets: a breach reaches its own branch's dashboards only, is
acknowledged by command; inspections, photos and the reports as the contract says."""

from __future__ import annotations

import io

import aiohttp
import openpyxl

from server.services import standards
from server.services.branches import BranchSpec, create_branch

from .test_ws import base_url, next_event, open_socket, receive, run_command

NORTH = BranchSpec.model_validate({
    "id": "north", "names": {"zh-CN": "北区支行", "en": "North", "zh-TW": "北區分行"},
    "timezone": "Asia/Shanghai",
    "services": [{"code": "A", "names": {"zh-CN": "现金", "en": "Cash", "zh-TW": "現金"}}],
    "counters": [{"number": 1, "services": ["A"]}],
})


async def signed_in(demo, username: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(base_url=base_url(demo), cookie_jar=aiohttp.CookieJar(unsafe=True))
    resp = await session.post("/api/v1/auth/login", json={"username": username, "password": "demo-pass"})
    assert resp.status == 200, await resp.text()
    return session


async def test_a_breach_reaches_the_dashboards_of_its_branch_only_and_is_acknowledged_by_command(demo):
    await create_branch(demo.services, NORTH)
    manager, admin = await signed_in(demo, "manager"), await signed_in(demo, "admin")
    try:
        ws_demo, _ = await open_socket(manager, "dashboard", None)
        assert (await receive(ws_demo))["type"] == "snapshot"
        ws_north, _ = await open_socket(admin, "dashboard", None, branch="north")
        assert (await receive(ws_north))["type"] == "snapshot"

        resp = await demo.client.post("/api/v1/branches/demo/tickets", json={"service": "E"},
                                      headers={"Authorization": "Bearer demo-kiosk"})
        assert resp.status == 201, await resp.text()
        await next_event(ws_demo, "ticket.issued")
        demo.clock.advance(minutes=21)  # E's target wait is 20 minutes
        await standards.evaluate(demo.services, "demo")
        await standards.evaluate(demo.services, "north")
        raised = await next_event(ws_demo, "alert.raised")
        assert (raised["data"]["rule"], raised["data"]["service"]) == ("wait_target", "E")
        assert raised["data"]["suggestion"] == {"action": "open_counter", "counter": 6}

        # North's dashboard got nothing: the next thing it sees is north's own notice.
        resp = await admin.post("/api/v1/branches/north/notices", json={"texts": {"zh-CN": "北区通知"}},
                                headers={"Origin": base_url(demo).rstrip("/")})
        assert resp.status == 201, await resp.text()
        first = await next_event(ws_north)
        assert first["kind"] == "notice.posted", first

        result = await run_command(ws_demo, 1, "breach/acknowledge", breach=raised["data"]["id"],
                                   note="opening counter 6")
        assert result["success"], result
        assert result["result"]["note"] == "opening counter 6"
        acked = await next_event(ws_demo, "alert.acknowledged")
        assert acked["data"]["by"] == "manager"
        again = await run_command(ws_demo, 2, "breach/acknowledge", breach=raised["data"]["id"], note="again")
        assert again["error"]["code"] == "acknowledged"
        await ws_demo.close()
        await ws_north.close()

        report = await manager.get("/api/v1/branches/demo/reports/breaches?from=2026-03-02")
        assert report.status == 200
        assert [r["service"] for r in (await report.json())["rows"]] == ["E"]
        csv = await manager.get("/api/v1/branches/demo/reports/breaches.csv?from=2026-03-02&lang=en")
        assert (await csv.text()).splitlines()[0].startswith("Day,Service,Breaches")
        csv = await manager.get("/api/v1/branches/demo/reports/breaches.csv?from=2026-03-02")  # the branch's zh-CN
        assert (await csv.text()).splitlines()[0].startswith("日期,业务,未达标次数")
        xlsx = await manager.get("/api/v1/branches/demo/reports/breaches.xlsx?from=2026-03-02&lang=zh-TW")
        assert xlsx.status == 200
        sheet = openpyxl.load_workbook(io.BytesIO(await xlsx.read())).active
        assert [c.value for c in sheet[1]][:3] == ["日期", "業務", "未達標次數"]
    finally:
        await manager.close()
        await admin.close()


async def test_an_inspection_with_a_photo_over_http_and_who_may_see_it(demo):
    inspector, teller = await signed_in(demo, "inspector"), await signed_in(demo, "teller1")
    origin = {"Origin": base_url(demo).rstrip("/")}
    try:
        checklist = await (await inspector.get("/api/v1/branches/demo/inspections/checklist")).json()
        items = [{"item": i["code"], "passed": i["code"] != "fac_kiosk"} for i in checklist["items"]]
        failed = next(i for i in items if not i["passed"])
        failed.update(owner="manager", requirement="repair the rating pad", deadline="2026-03-06")
        resp = await inspector.post("/api/v1/branches/demo/inspections", json={"items": items}, headers=origin)
        assert resp.status == 201, await resp.text()
        record = await resp.json()

        form = aiohttp.FormData()
        form.add_field("item", "fac_kiosk")
        form.add_field("photo", b"\xff\xd8\xff\xe0" + b"\0" * 64, filename="pad.jpg", content_type="image/jpeg")
        up = await inspector.post(f"/api/v1/branches/demo/inspections/{record['id']}/photos", data=form,
                                  headers=origin)
        assert up.status == 201, await up.text()
        url = (await up.json())["url"]
        got = await inspector.get(url)
        assert got.status == 200 and got.content_type == "image/jpeg"
        assert (await teller.get(url)).status == 403
        assert (await demo.client.get(url)).status == 401

        bad = aiohttp.FormData()
        bad.add_field("photo", b"<html>", filename="x.jpg", content_type="image/jpeg")
        refused = await inspector.post(f"/api/v1/branches/demo/inspections/{record['id']}/photos", data=bad,
                                       headers=origin)
        assert refused.status == 400 and (await refused.json())["error"]["code"] == "unsupported_type"

        assert (await teller.post("/api/v1/branches/demo/inspections", json={"items": items},
                                  headers=origin)).status == 403
        assert (await inspector.post("/api/v1/branches/demo/counters/1/open", headers=origin)).status == 403
        assert (await inspector.patch("/api/v1/admin/branches/demo", json={"language": "en"},
                                      headers=origin)).status == 403
        bulletin = await inspector.get("/api/v1/inspections/bulletin?month=2026-03")
        assert bulletin.status == 200, await bulletin.text()
        assert (await bulletin.json())["branches_covered"] == ["demo"]
    finally:
        await inspector.close()
        await teller.close()
