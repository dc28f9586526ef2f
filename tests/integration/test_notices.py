"""Notices: a manager's text reaches every display and kiosk; an emergency is an incident, not a notice."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from server.client import BranchClient
from server.services.notices import clear_expired
from server.store import tables as t
from tests.conftest import KIOSK, login, seconds

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


@pytest.fixture
def settings(settings):
    """The notice sweep every 0.2 s, so a test sees it act on a moved clock at once."""
    return settings.model_copy(update={"notice_check_s": 0.2})


async def _notice_events(services, notice_id: int, kind: str) -> int:
    async with services.db.read() as conn:
        rows = (await conn.execute(select(t.TicketEvent.__table__.c.data).where(
            t.TicketEvent.__table__.c.kind == kind))).scalars()
        return sum(1 for data in rows if data.get("id") == notice_id)


async def test_a_notice_past_its_end_time_is_cleared_on_every_screen_without_a_reload(demo):
    """Nobody clears it: the server's sweep takes it down, once, and the screens hear it at once."""
    c, clock = demo.client, demo.clock
    url = str(c.make_url(""))
    async with (BranchClient(url, role="display", branch="demo", token="demo-display") as display,
                BranchClient(url, role="kiosk", branch="demo", token="demo-kiosk") as kiosk):
        await login(c, "manager")
        resp = await c.post(f"{B}/notices", json={"texts": {"zh-CN": "十点后暂停外币兑换"}, "minutes": 10})
        assert resp.status == 201, await resp.text()
        notice = await resp.json()
        await display.next_event("notice.posted")
        clock.advance(minutes=9)
        await asyncio.sleep(seconds(0.6))  # three sweeps before its end: nothing happens
        assert [n["id"] for n in (await display.command("snapshot"))["state"]["notices"]] == [notice["id"]]
        clock.advance(minutes=2)
        cleared = await display.next_event("notice.cleared", timeout=seconds(5))
        assert cleared.data == {"id": notice["id"]}
        await kiosk.next_event("notice.cleared", timeout=seconds(5))
        assert (await display.command("snapshot"))["state"]["notices"] == []
        assert (await kiosk.command("snapshot"))["state"]["notices"] == []
    await asyncio.sleep(seconds(0.6))  # more sweeps: it stays cleared, and is announced once
    assert await _notice_events(demo.services, notice["id"], "notice.cleared") == 1
    async with demo.services.db.read() as conn:
        row = (await conn.execute(select(t.Notice.__table__).where(t.Notice.__table__.c.id == notice["id"]))).one()
    assert row.cleared_at == row.expires_at, "it came down when its time was over"
    assert (await c.post(f"{B}/notices/{notice['id']}/clear")).status == 404


async def test_two_sweeps_at_once_clear_an_expired_notice_once(demo):
    """As two server processes would: the conditional update lets one of them take it down."""
    c, clock = demo.client, demo.clock
    await login(c, "manager")
    posted = [await (await c.post(f"{B}/notices", json={"texts": {"zh-CN": f"通知 {i}"}, "minutes": 5})).json()
              for i in range(3)]
    lasting = await (await c.post(f"{B}/notices", json={"texts": {"zh-CN": "长期通知"}})).json()
    clock.advance(minutes=6)
    results = await asyncio.gather(*(clear_expired(demo.services) for _ in range(4)))
    taken = sorted(pair for result in results for pair in result)
    # The app's own sweep may have run meanwhile: whoever took each down, it came down once.
    assert len(taken) == len(set(taken))
    for notice in posted:
        assert await _notice_events(demo.services, notice["id"], "notice.cleared") == 1
    assert await _notice_events(demo.services, lasting["id"], "notice.cleared") == 0
    async with demo.services.db.read() as conn:
        up = (await conn.execute(select(func.count()).select_from(t.Notice.__table__).where(
            t.Notice.__table__.c.cleared_at.is_(None)))).scalar_one()
    assert up == 1, "a notice with no end time stays up"
