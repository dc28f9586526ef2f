"""Notices: a manager's text reaches every display and kiosk; an emergency is an incident, not a notice."""

from __future__ import annotations

from server.client import BranchClient
from tests.conftest import KIOSK, login

B = "/api/v1/branches/demo"


async def test_a_posted_notice_reaches_displays_and_kiosks_and_can_be_cleared(demo):
    c = demo.client
    url = str(c.make_url(""))
    async with BranchClient(url, role="display", branch="demo", token="demo-display") as display:
        assert display.state["notices"] == []
        await login(c, "manager")
        resp = await c.post(f"{B}/notices", json={
            "texts": {"zh-CN": "系统维护，暂停对公业务", "en": "Corporate services paused for maintenance"},
            "level": "info", "minutes": 30})
        assert resp.status == 201, await resp.text()
        notice = await resp.json()
        event = await display.next_event("notice.posted")
        assert event.data == {"id": notice["id"], "level": "info"}
        snapshot = await display.command("snapshot")
        assert snapshot["state"]["notices"] == [
            {"id": notice["id"], "texts": notice["texts"], "level": "info"}]
        kiosk_snapshot = await _kiosk_snapshot(url)
        assert kiosk_snapshot["notices"][0]["texts"]["zh-CN"].startswith("系统维护")
        cleared = await c.post(f"{B}/notices/{notice['id']}/clear")
        assert cleared.status == 200
        await display.next_event("notice.cleared")
        assert (await display.command("snapshot"))["state"]["notices"] == []
        again = await c.post(f"{B}/notices/{notice['id']}/clear")
        assert again.status == 404


async def _kiosk_snapshot(url: str) -> dict:
    async with BranchClient(url, role="kiosk", branch="demo", token="demo-kiosk") as kiosk:
        return kiosk.state


async def test_notices_expire_and_need_chinese_text_and_a_manager(demo):
    c, clock = demo.client, demo.clock
    await login(c, "teller3")
    resp = await c.post(f"{B}/notices", json={"texts": {"zh-CN": "hi"}})
    assert resp.status == 403
    await login(c, "manager")
    bad = await c.post(f"{B}/notices", json={"texts": {"en": "English only"}})
    assert bad.status == 400
    resp = await c.post(f"{B}/notices", json={"texts": {"zh-CN": "今日下午四点停止取号"}, "minutes": 10})
    assert resp.status == 201
    assert len(await (await c.get(f"{B}/notices")).json()) == 1
    clock.advance(minutes=11)
    assert await (await c.get(f"{B}/notices")).json() == []
    assert (await c.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)).status == 201


async def test_an_emergency_is_started_as_an_incident_and_a_notice_only_informs(demo):
    """A notice of level emergency is refused with where to start one; the incident stops issuing."""
    c = demo.client
    await login(c, "manager")
    old_way = await c.post(f"{B}/notices", json={"texts": {"zh-CN": "紧急疏散"}, "level": "emergency"})
    assert old_way.status == 400 and "/emergency" in (await old_way.json())["error"]["message"]
    started = await c.post(f"{B}/emergency", json={"kind": "disaster", "texts": {"zh-CN": "紧急疏散"}})
    assert started.status == 201, await started.text()
    refused = await c.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)
    body = await refused.json()
    assert refused.status == 409 and body["error"]["code"] == "emergency", body
    staff = await c.post(f"{B}/tickets", json={"service": "A"})
    assert staff.status == 409, "emergency mode stops staff issuing of its scope too"
    assert (await c.delete(f"{B}/emergency")).status == 200
    assert (await c.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)).status == 201
    # An ordinary notice stops nothing.
    await c.post(f"{B}/notices", json={"texts": {"zh-CN": "今日对公业务暂停"}})
    assert (await c.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)).status == 201
