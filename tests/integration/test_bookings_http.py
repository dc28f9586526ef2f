"""Appointments and remote tickets over HTTP on SQLite and PostgreSQL: the whole life, capacity
under concurrency, and bad input refused with a clear 4xx and nothing changed.

The clock starts on Monday 2026-03-02 09:30 in Shanghai; the demo branch is open all day and
takes appointments (30-minute slots, 30 min cut-off, check-in from 30 min before to 10 min
after, late → walk-in) and remote tickets (cap 0.3). Service D has one place per slot.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.store import tables as t
from tests.conftest import KIOSK, login
from tests.integration.snapshot import snapshot

B = "/api/v1/branches/demo"
PHONE = "13812345678"


def body(slot: str, *, phone: str = PHONE, **extra: Any) -> dict:
    return {"service": slot.split("-")[0], "slot": slot, "consent": True,
            "contact": {"name": "王五", "phone": phone}, **extra}


def shanghai(day: int, hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 3, day, h, m, tzinfo=UTC) - timedelta(hours=8)


async def ok(resp, status: int = 200) -> Any:
    assert resp.status == status, f"{resp.status} {await resp.text()}"
    return await resp.json()


async def refused(demo, method: str, path: str, status: int, code: str, **kwargs: Any) -> dict:
    """The request is refused with ``status`` and ``code`` in the error shape, and nothing changes."""
    before = await snapshot(demo.services)
    resp = await demo.client.request(method, path, **kwargs)
    assert resp.status == status, f"{method} {path}: {resp.status} {await resp.text()}"
    error = (await resp.json())["error"]
    assert error["code"] == code and error["message"], error
    assert await snapshot(demo.services) == before, "a refused request changed the database"
    return error


async def test_book_reschedule_check_in_at_the_kiosk_and_be_called_on_time(demo):
    c = demo.client
    slots = await ok(await c.get(f"{B}/slots", params={"service": "C", "date": "2026-03-02"}))
    assert slots["slots"][0]["slot"] == "C-202603021000" and slots["slots"][0]["free"] == 3
    created = await ok(await c.post(f"{B}/bookings", json=body("C-202603021000")), 201)
    moved = await ok(await c.post(f"/api/v1/bookings/{created['token']}/reschedule", json={"slot": "C-202603021100"}))
    assert moved["slot"] == "C-202603021100" and moved["state"] == "booked"
    free = await ok(await c.get(f"{B}/slots", params={"service": "C", "date": "2026-03-02"}))
    assert {s["slot"]: s["free"] for s in free["slots"]}["C-202603021100"] == 2

    demo.clock.now = shanghai(2, "10:50")
    walk_in = await ok(await c.post(f"{B}/tickets", json={"service": "C"}, headers=KIOSK), 201)
    done = await ok(await c.post(f"{B}/bookings/{created['code']}/check-in", json={}, headers=KIOSK), 201)
    assert done["on_time"] and done["ticket"]["number"] == "Y001"
    demo.clock.now = shanghai(2, "11:01")
    late_walk_in = await ok(await c.post(f"{B}/tickets", json={"service": "C"}, headers=KIOSK), 201)

    await login(c, "teller4")
    await ok(await c.post(f"{B}/counters/4/open"))
    queue = await ok(await c.get(f"{B}/queue", params={"counter": 4}))
    assert [e["number"] for e in queue["tickets"]] == [walk_in["number"], "Y001", late_walk_in["number"]]
    assert datetime.fromisoformat(queue["tickets"][1]["appointment"]) == shanghai(2, "11:00")
    assert queue["tickets"][0]["appointment"] is None
    first = await ok(await c.post(f"{B}/counters/4/call-next", json={}))
    assert first["ticket"]["number"] == walk_in["number"]
    await ok(await c.post(f"{B}/counters/4/finish", json={}))
    second = await ok(await c.post(f"{B}/counters/4/call-next", json={}))
    assert second["ticket"]["number"] == "Y001"  # on time: 11:01, within slot + grace
    day = await ok(await c.get(f"{B}/bookings", params={"date": "2026-03-02"}))
    assert any(b["code"] == created["code"] and b["ticket"] == "Y001" for b in day["bookings"])
    seen = await ok(await c.get(f"/api/v1/bookings/{created['token']}"))
    assert seen["state"] == "checked_in" and seen["ticket"]["number"] == "Y001"


async def test_cancel_frees_the_place_and_a_late_arrival_is_a_walk_in(demo):
    c = demo.client
    a = await ok(await c.post(f"{B}/bookings", json=body("D-202603021000")), 201)
    await refused(demo, "POST", f"{B}/bookings", 409, "slot_full", json=body("D-202603021000", phone="13900000000"))
    seen = await ok(await c.post(f"/api/v1/bookings/{a['token']}/cancel"))
    assert seen["state"] == "cancelled"
    await refused(demo, "POST", f"/api/v1/bookings/{a['token']}/cancel", 409, "not_booked")
    b = await ok(await c.post(f"{B}/bookings", json=body("D-202603021000", phone="13900000000")), 201)
    demo.clock.now = shanghai(2, "10:15")
    late = await ok(await c.post(f"{B}/bookings/{b['code']}/check-in", json={"token": b["token"]}), 201)
    assert not late["on_time"] and late["ticket"]["number"] == "D001"


async def test_a_holiday_over_a_booked_day_cancels_the_booking_over_http(demo):
    c = demo.client
    created = await ok(await c.post(f"{B}/bookings", json=body("A-202603041000")), 201)
    await login(c, "admin")
    resp = await c.get("/api/v1/admin/branches/demo/config")
    assert resp.status == 200, await resp.text()
    config = yaml.safe_load(await resp.text())
    config["holidays"] = ["2026-03-04"]
    resp = await c.put("/api/v1/admin/branches/demo/config", data=yaml.safe_dump(config, allow_unicode=True),
                       headers={"Content-Type": "application/yaml", "Origin": str(c.make_url("")).rstrip("/")})
    assert resp.status == 200, await resp.text()
    seen = await ok(await c.get(f"/api/v1/bookings/{created['token']}"))
    assert seen["state"] == "cancelled_by_branch"
    async with demo.services.db.read() as conn:
        kinds = (await conn.execute(select(t.BookingMessage.kind))).scalars().all()
    assert "cancelled_by_branch" in kinds


async def test_remote_tickets_from_the_phone_stop_at_the_cap(demo):
    c = demo.client
    first = await ok(await c.post(f"{B}/remote-tickets", json={"service": "E", "travel_min": 15}), 201)
    assert first["ticket"]["number"] == "E001" and first["come_now"] is False  # no counter open: no estimate
    await refused(demo, "POST", f"{B}/remote-tickets", 409, "remote_cap", json={"service": "E"})


@pytest.mark.parametrize(("path", "payload", "status", "code"), [
    ("/bookings", body("A-202603020900"), 409, "slot_past"),
    ("/bookings", body("A-202603021015"), 404, "no_such_slot"),
    ("/bookings", body("A-202604300900"), 409, "too_far"),
    ("/bookings", body("A-2026"), 400, "invalid_input"),
    ("/bookings", {**body("A-202603031000"), "contact": {"name": "x", "phone": "12ab"}}, 400, "invalid_input"),
    ("/bookings", {**body("A-202603031000"), "contact": {"name": "x", "email": "not-an-address"}}, 400,
     "invalid_input"),
    ("/bookings", {**body("A-202603031000"), "contact": {"name": "x"}}, 400, "invalid_input"),
    ("/bookings", {**body("A-202603031000"), "consent": False}, 400, "invalid_input"),
    ("/bookings", body("A-202602301000"), 404, "no_such_slot"),
    ("/bookings", {**body("Q-202603031000")}, 404, "not_found"),
    ("/remote-tickets", {"service": "E", "travel_min": -1}, 400, "invalid_input"),
])
async def test_bad_bookings_are_refused_with_a_clear_4xx_and_nothing_changes(demo, path, payload, status, code):
    await refused(demo, "POST", B + path, status, code, json=payload)


async def test_unknown_reused_and_early_check_ins_are_refused(demo):
    c = demo.client
    created = await ok(await c.post(f"{B}/bookings", json=body("A-202603021100")), 201)
    await refused(demo, "POST", f"{B}/bookings/ZZZZZZZZ/check-in", 404, "unknown_booking", json={}, headers=KIOSK)
    await refused(demo, "POST", f"{B}/bookings/{created['code']}/check-in", 409, "too_early", json={}, headers=KIOSK)
    await refused(demo, "POST", f"{B}/bookings/{created['code']}/check-in", 404, "token_needed", json={})
    demo.clock.now = shanghai(2, "10:40")
    await ok(await c.post(f"{B}/bookings/{created['code']}/check-in", json={}, headers=KIOSK), 201)
    await refused(demo, "POST", f"{B}/bookings/{created['code']}/check-in", 409, "checked_in", json={}, headers=KIOSK)
    await refused(demo, "GET", "/api/v1/bookings/no-such-booking-token", 404, "unknown_booking")


async def test_sixteen_clients_booking_the_last_places_of_a_slot_get_exactly_the_capacity(demo):
    """Service C has 3 places a slot, one taken already; 16 clients at once, each its own contact,
    for the last 2: exactly 2 succeed, and the slot holds exactly its capacity."""
    await ok(await demo.client.post(f"{B}/bookings", json=body("C-202603031000", phone="13700000000")), 201)
    clients = []
    for _ in range(16):
        client = TestClient(demo.client.server)
        await client.start_server()
        clients.append(client)

    async def attempt(i: int, client: TestClient) -> int:
        resp = await client.post(f"{B}/bookings", json=body("C-202603031000", phone=f"139{i:08d}"))
        await resp.read()
        return resp.status

    try:
        statuses = await asyncio.gather(*(attempt(i, c) for i, c in enumerate(clients)))
    finally:
        for client in clients:
            await client.close()
    assert sorted(statuses).count(201) == 2, statuses
    assert set(statuses) <= {201, 409, 503}, statuses
    async with demo.services.db.read() as conn:
        booked = (await conn.execute(select(t.Booking.id).where(t.Booking.state == "booked"))).all()
        places = (await conn.execute(select(t.BookingSlot.booked))).scalars().all()
    assert len(booked) == 3 and places == [3]


async def test_two_customers_swapping_slots_at_once_never_deadlock(demo):
    """Each moves to the other's slot of a one-place service: one wins, the other finds it full."""
    a = await ok(await demo.client.post(f"{B}/bookings", json=body("D-202603031000")), 201)
    b = await ok(await demo.client.post(f"{B}/bookings", json=body("D-202603031100", phone="13900000000")), 201)
    clients = [TestClient(demo.client.server) for _ in range(2)]
    for client in clients:
        await client.start_server()

    async def move(client: TestClient, token: str, slot: str) -> int:
        resp = await client.post(f"/api/v1/bookings/{token}/reschedule", json={"slot": slot})
        await resp.read()
        return resp.status

    try:
        statuses = await asyncio.gather(move(clients[0], a["token"], "D-202603031100"),
                                        move(clients[1], b["token"], "D-202603031000"))
    finally:
        for client in clients:
            await client.close()
    assert sorted(statuses) in ([409, 409], [200, 409]), statuses
    async with demo.services.db.read() as conn:
        places = (await conn.execute(select(t.BookingSlot.booked))).scalars().all()
    assert sorted(places) == [1, 1]


async def test_bookings_are_limited_per_client_address(demo):
    from limits import parse_many

    from server.web.limits import LIMITER

    demo.client.server.app[LIMITER]._rules["booking"] = tuple(parse_many("2/minute"))
    await ok(await demo.client.post(f"{B}/bookings", json=body("A-202603031000")), 201)
    await ok(await demo.client.post(f"{B}/bookings", json=body("A-202603041000", phone="13900000000")), 201)
    await refused(demo, "POST", f"{B}/bookings", 429, "rate_limited", json=body("A-202603051000", phone="13900000001"))
