"""The realtime protocol on ``GET /ws`` (DESIGN.md, "Realtime protocol"), in process.

Every test runs on SQLite and on PostgreSQL (the ``demo`` fixture; the rate-limit one,
which needs its own settings, on SQLite only). Sockets are either
plain aiohttp websocket clients, to see the exact frames and close codes, or the shared
device client :class:`server.client.BranchClient`. Nothing here sleeps for a fixed time:
each wait is for the frame, event or close itself, bounded by ``seconds()``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import os
import socket
import struct
import weakref
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import WSMsgType, WSServerHandshakeError, web
from sqlalchemy import func, select

import server.web.ws as ws_module
from server.app import create_app
from server.client import BranchClient, Refused
from server.protocol import EventMessage, IssueTicket
from server.services import auth, tickets
from server.services.demo import seed_demo
from server.settings import Settings
from server.store import tables as t
from server.web.api import SERVICES
from server.web.hub import Conn
from server.web.ws import HUB
from tests.conftest import KIOSK, seconds
from tests.integration.snapshot import snapshot as db_snapshot

B = "/api/v1/branches/demo"
DISPLAY_TOKEN = "demo-display"
KIOSK_TOKEN = "demo-kiosk"

POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
GOING_AWAY = 1001
TRY_AGAIN_LATER = 1013


# --- helpers ---------------------------------------------------------------------------


def base_url(demo) -> str:
    return str(demo.client.make_url(""))


async def say_hello(ws, role: str = "display", token: str | None = DISPLAY_TOKEN,
                    branch: str = "demo", **extra: Any) -> None:
    hello: dict[str, Any] = {"type": "hello", "role": role, "branch": branch, **extra}
    if token is not None:
        hello["token"] = token
    await ws.send_json(hello)


#: Frames read while waiting for a command's result, kept for the next receive() of that socket.
_backlog: weakref.WeakKeyDictionary[Any, deque[dict[str, Any]]] = weakref.WeakKeyDictionary()


async def receive(ws, timeout: float = 5) -> dict[str, Any]:
    kept = _backlog.get(ws)
    if kept:
        return kept.popleft()
    msg = await ws.receive(timeout=seconds(timeout))
    assert msg.type == WSMsgType.TEXT, (
        f"expected a text frame, got {msg.type.name} {msg.data!r} {msg.extra!r}"
    )
    return orjson.loads(msg.data)


async def closed_with(ws, timeout: float = 5) -> tuple[int | None, str]:
    """Read until the server closes the socket: (close code, reason). Text frames are skipped."""
    async with asyncio.timeout(seconds(timeout)):
        while True:
            msg = await ws.receive()
            if msg.type == WSMsgType.CLOSE:
                return msg.data, msg.extra or ""
            if msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return ws.close_code, ""
            assert msg.type == WSMsgType.TEXT, f"unexpected {msg.type.name}"


async def next_event(ws, kind: str | None = None, timeout: float = 5) -> dict[str, Any]:
    async with asyncio.timeout(seconds(timeout)):
        while True:
            message = await receive(ws, timeout)
            if message["type"] == "event" and (kind is None or message["kind"] == kind):
                return message


async def run_command(ws, command_id: int | None, type_: str, **args: Any) -> dict[str, Any]:
    """Send a command and return its result frame; events that come first wait for receive()."""
    await ws.send_json({"id": command_id, "type": type_, **args})
    kept: deque[dict[str, Any]] = deque()
    try:
        async with asyncio.timeout(seconds(5)):
            while True:
                message = await receive(ws)
                if message["type"] == "result":
                    assert message["id"] == command_id
                    return message
                kept.append(message)
    finally:
        _backlog.setdefault(ws, deque()).extend(kept)


async def open_socket(client, role: str = "display", token: str | None = DISPLAY_TOKEN,
                      **hello: Any):
    """A socket past the hello phase: (ws, welcome). The first sync is left to the caller."""
    ws = await client.ws_connect("/ws")
    await say_hello(ws, role, token, **hello)
    welcome = await receive(ws)
    assert welcome["type"] == "welcome", welcome
    return ws, welcome


async def synced_socket(client, role: str = "display", token: str | None = DISPLAY_TOKEN):
    """A socket past hello and its snapshot: (ws, welcome, snapshot)."""
    ws, welcome = await open_socket(client, role, token)
    snapshot = await receive(ws)
    assert snapshot["type"] == "snapshot", snapshot
    return ws, welcome, snapshot


@contextlib.asynccontextmanager
async def staff_session(demo, username: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A separate browser-like session signed in as ``username`` (its own cookie jar)."""
    session = aiohttp.ClientSession(
        base_url=base_url(demo), cookie_jar=aiohttp.CookieJar(unsafe=True)
    )
    try:
        resp = await session.post(
            "/api/v1/auth/login", json={"username": username, "password": "demo-pass"}
        )
        assert resp.status == 200, await resp.text()
        yield session
    finally:
        await session.close()


@pytest.fixture
async def teller3(demo) -> AsyncIterator[aiohttp.ClientSession]:
    """teller3 signed in, with counter 3 open."""
    async with staff_session(demo, "teller3") as session:
        resp = await session.post(f"{B}/counters/3/open")
        assert resp.status == 200, await resp.text()
        yield session


async def issue(demo, n: int, service: str = "A", headers: dict | None = None) -> list[dict]:
    issued = []
    for _ in range(n):
        resp = await demo.client.post(
            f"{B}/tickets", json={"service": service}, headers=headers or KIOSK
        )
        assert resp.status == 201, await resp.text()
        issued.append(await resp.json())
    return issued


async def call_next(session: aiohttp.ClientSession, counter: int = 3, **body: Any) -> dict:
    """``body``: e.g. ``expect``, which a call-next moments after a call needs (else 409 just_called)."""
    resp = await session.post(f"{B}/counters/{counter}/call-next", json=body or None)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def db_counts(demo) -> dict[str, int]:
    """Tickets, events and the branch's event seq: what bad input must never change."""
    async with demo.services.db.read() as conn:
        tickets_n = (await conn.execute(select(func.count()).select_from(t.Ticket))).scalar_one()
        events_n = (await conn.execute(select(func.count()).select_from(t.TicketEvent))).scalar_one()
        seq = (await conn.execute(select(t.Branch.event_seq).where(t.Branch.id == "demo"))).scalar_one()
    return {"tickets": tickets_n, "events": events_n, "event_seq": seq}


async def whole_database(demo) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table: what bad input must leave exactly as it was."""
    return await db_snapshot(demo.services)


def all_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in all_keys(v)}
    return set()


# --- what a display sees ---------------------------------------------------------------


async def test_display_gets_welcome_then_a_token_free_snapshot_then_ticket_called(demo, teller3):
    issued = await issue(demo, 3)
    first = await call_next(teller3)  # so the snapshot has a current ticket and a recent call

    ws, welcome, snapshot = await synced_socket(demo.client)
    try:
        assert welcome["role"] == "display" and welcome["branch"] == "demo"
        assert isinstance(welcome["device"], int) and welcome["staff"] is None

        state = snapshot["state"]
        assert set(state) == {"branch", "services", "counters", "calls", "notices", "emergency"}, \
            "a display never sees the queue"
        assert all("token" not in n for n in state["notices"])
        assert {s["code"] for s in state["services"]} == {"A", "B", "C", "D", "E"}
        counter3 = next(c for c in state["counters"] if c["number"] == 3)
        assert counter3["state"] == "open"
        assert counter3["current"] == {"number": first["ticket"]["number"], "service": "A",
                                       "state": "called"}
        assert [c["number"] for c in state["calls"] if c["kind"] == "ticket.called"] == [
            first["ticket"]["number"]
        ]
        raw = orjson.dumps(snapshot).decode()
        assert "token" not in all_keys(snapshot)
        for ticket in issued:
            assert ticket["token"] not in raw
        assert DISPLAY_TOKEN not in raw and "staff" not in all_keys(state["counters"])

        second = await call_next(teller3, expect=first["ticket"]["id"])
        event = await next_event(ws, "ticket.called")
        assert event["seq"] > snapshot["seq"]
        assert event["data"]["number"] == second["ticket"]["number"] == issued[1]["number"]
        assert event["data"]["service"] == "A"
        assert event["data"]["counter"] == 3
        assert "token" not in all_keys(event)
    finally:
        await ws.close()


# --- resuming with since_seq -----------------------------------------------------------


async def test_reconnect_with_since_seq_replays_exactly_the_missed_events(demo):
    ws, _, snapshot = await synced_socket(demo.client)
    seq = snapshot["seq"]
    await ws.close()

    missed = await issue(demo, 3)  # three changes while away

    ws, _ = await open_socket(demo.client, since_seq=seq)
    try:
        replay = [await receive(ws) for _ in range(3)]
        assert [m["type"] for m in replay] == ["event"] * 3, "no snapshot when the events are buffered"
        assert [m["seq"] for m in replay] == [seq + 1, seq + 2, seq + 3]
        assert [m["kind"] for m in replay] == ["ticket.issued"] * 3
        assert [m["data"]["number"] for m in replay] == [m["number"] for m in missed]
        # Nothing else was queued before the answer to the next command.
        await ws.send_json({"id": 1, "type": "ping"})
        assert await receive(ws) == {"id": 1, "type": "result", "success": True, "result": {"pong": True}}
    finally:
        await ws.close()

    # Resuming with nothing missed: no snapshot, no replay, just the next live event.
    ws, _ = await open_socket(demo.client, since_seq=seq + 3)
    try:
        [ticket] = await issue(demo, 1)
        event = await receive(ws)
        assert event["type"] == "event" and event["seq"] == seq + 4
        assert event["data"]["number"] == ticket["number"]
    finally:
        await ws.close()


async def test_since_seq_too_old_or_unknown_gets_a_fresh_snapshot(demo):
    # Events from before this process followed the branch are in no buffer: 0 is "too old".
    await issue(demo, 4)
    current = (await db_counts(demo))["event_seq"]
    assert current >= 4
    for since in (0, current + 100):
        ws, _ = await open_socket(demo.client, since_seq=since)
        try:
            first = await receive(ws)
            assert first["type"] == "snapshot", f"since_seq={since}: {first}"
            assert first["seq"] == current
            waiting_a = next(s for s in first["state"]["services"] if s["code"] == "A")["waiting"]
            assert waiting_a == 4
        finally:
            await ws.close()


# --- the device client resyncs on a gap -------------------------------------------------


def snapshot_waiter(loop: asyncio.AbstractEventLoop):
    """An on_snapshot callback and a way to wait for the n-th snapshot it saw."""
    seen: list[int] = []
    changed = asyncio.Condition()

    def on_snapshot(snapshot) -> None:
        seen.append(snapshot.seq)

        async def notify() -> None:
            async with changed:
                changed.notify_all()

        loop.create_task(notify())

    async def wait_for(n: int) -> int:
        async with asyncio.timeout(seconds(10)):
            async with changed:
                await changed.wait_for(lambda: len(seen) >= n)
        return seen[n - 1]

    return seen, on_snapshot, wait_for


async def test_device_client_that_sees_a_gap_asks_for_a_snapshot_and_catches_up(demo):
    _, on_snapshot, snapshots = snapshot_waiter(asyncio.get_running_loop())
    async with BranchClient(base_url(demo), role="display", branch="demo", token=DISPLAY_TOKEN,
                            on_snapshot=on_snapshot) as client:
        assert await snapshots(1) == client.seq
        await issue(demo, 1)
        event = await client.next_event("ticket.issued", timeout=seconds(5))
        assert event.seq == client.seq

        # Pretend an event went missing: the next real one no longer follows on.
        client.seq -= 1
        await issue(demo, 1)
        resynced_at = await snapshots(2)
        assert client.resyncs == 1
        current = (await db_counts(demo))["event_seq"]
        assert resynced_at == current == client.seq
        waiting_a = next(s for s in client.state["services"] if s["code"] == "A")["waiting"]
        assert waiting_a == 2

        # A forged event two ahead is a gap too; it is not taken as an event.
        await client._apply_event(EventMessage(seq=client.seq + 2, kind="ticket.issued",
                                               at="2026-03-02T01:30:00Z", data={"number": "Z999"}))
        assert await snapshots(3) == current
        assert client.resyncs == 2 and client.seq == current

        # And it carries on with the live events in order.
        [ticket] = await issue(demo, 1)
        event = await client.next_event("ticket.issued", timeout=seconds(5))
        assert event.seq == current + 1 and event.data["number"] == ticket["number"]
    assert client.resyncs == 2


async def test_events_a_role_may_not_see_never_look_like_a_gap_to_its_device_client(demo, teller3):
    """Displays never get device.status and evaluators never get ticket.issued (each role
    sees only what it may), yet seq counts every event. A hidden event must not look like a
    lost one: otherwise every display and evaluator would resync after it, and drop the very
    event that showed the "gap" (a call that then is never announced)."""
    got: dict[str, list[EventMessage]] = {"display": [], "evaluator": []}
    clients = {
        role: BranchClient(base_url(demo), role=role, branch="demo", token=token,
                           on_event=got[role].append)
        for role, token in [("display", DISPLAY_TOKEN), ("evaluator", "demo-evaluator")]
    }
    try:
        for client in clients.values():
            client.start()
            await client.wait_synced(seconds(10))
        start = clients["display"].seq

        issued = await issue(demo, 2)  # hidden from the evaluator
        resp = await demo.client.post("/api/v1/devices/me/status", headers=KIOSK,
                                      json={"printer": {"online": False, "paper": "out"}})
        assert resp.status == 200, await resp.text()  # device.status: hidden from both
        answer = await call_next(teller3)
        final = (await db_counts(demo))["event_seq"]

        for role, client in clients.items():
            event = await client.next_event("ticket.called", timeout=seconds(5))
            assert event.data["number"] == answer["ticket"]["number"], role
            assert event.seq <= final
            assert (client.resyncs, client.seq) == (0, final), role
            assert [e.seq for e in got[role]] == list(range(start + 1, final + 1)), role
        hidden = {role: [(e.kind, e.data) for e in got[role]
                         if e.kind in ("ticket.issued", "device.status", "other")]
                  for role in got}
        assert hidden["display"][:2] == [("ticket.issued", {
            "id": t["id"], "number": t["number"], "service": "A", "priority": "normal",
            "state": "waiting", "counter": None}) for t in issued]
        assert hidden["display"][2:] == [("other", {})], "device.status is not for displays"
        assert hidden["evaluator"] == [("other", {})] * 3, "nor issued tickets for evaluators"
    finally:
        for client in clients.values():
            await client.close()


# --- bad input on the socket -----------------------------------------------------------


async def test_bad_input_gets_error_results_and_the_connection_stays_usable(demo):
    ws, _, _ = await synced_socket(demo.client)
    before = await whole_database(demo)
    try:
        await ws.send_str("{not json")
        assert await receive(ws) == {
            "id": None, "type": "result", "success": False,
            "error": {"code": "invalid_json", "message": "the message is not valid JSON"},
        }
        await ws.send_str("[1, 2, 3]")
        result = await receive(ws)
        assert result["success"] is False and result["error"]["code"] == "invalid_json"

        result = await run_command(ws, 1, "no/such/command")
        assert result["success"] is False and result["error"]["code"] == "unknown_command"

        result = await run_command(ws, 2, "counter/open", counter="x")
        assert result["success"] is False and result["error"]["code"] == "invalid_input"
        assert result["error"]["message"]

        result = await run_command(ws, 3, "ping", unexpected=1)
        assert result["success"] is False and result["error"]["code"] == "invalid_input"

        await ws.send_json({"type": "ping"})  # no id
        result = await receive(ws)
        assert result["success"] is False and result["error"]["code"] == "invalid_input"

        await ws.send_bytes(b"\x00\x01binary")
        result = await receive(ws)
        assert result["success"] is False and result["error"]["code"] == "invalid_json"

        assert await run_command(ws, 4, "ping") == {
            "id": 4, "type": "result", "success": True, "result": {"pong": True}
        }
        assert not ws.closed
    finally:
        await ws.close()
    assert await whole_database(demo) == before


async def test_anything_but_a_hello_first_or_nothing_in_time_closes_with_1008_and_a_reason(
    demo, monkeypatch
):
    before = await whole_database(demo)
    for first, reason_has in [
        ({"id": 1, "type": "counter/call_next", "counter": 3}, "hello"),
        ({"id": 1, "type": "ticket/issue", "service": "A"}, "hello"),
        ("\x00garbage", "hello"),
        (b"\x00binary", "hello"),
    ]:
        ws = await demo.client.ws_connect("/ws")
        if isinstance(first, dict):
            await ws.send_json(first)
        elif isinstance(first, bytes):
            await ws.send_bytes(first)
        else:
            await ws.send_str(first)
        code, reason = await closed_with(ws)
        assert (code, reason_has in reason) == (POLICY_VIOLATION, True), (first, code, reason)

    monkeypatch.setattr(ws_module, "HELLO_TIMEOUT_S", 0.3)
    ws = await demo.client.ws_connect("/ws")
    code, reason = await closed_with(ws)
    assert code == POLICY_VIOLATION
    assert "no hello" in reason
    assert await whole_database(demo) == before


async def test_a_10mb_frame_closes_that_socket_with_1009_and_everyone_else_carries_on(demo):
    bystander, _, _ = await synced_socket(demo.client)
    before = await whole_database(demo)
    try:
        for when in ("after hello", "instead of hello"):
            if when == "after hello":
                big, _, _ = await synced_socket(demo.client)
            else:
                big = await demo.client.ws_connect("/ws")
            try:
                with contextlib.suppress(ConnectionError):  # the server may hang up mid-frame
                    await big.send_str("x" * (10 * 1024 * 1024))
                code, _ = await closed_with(big)
                assert code == MESSAGE_TOO_BIG, when
            finally:
                await big.close()

            assert await whole_database(demo) == before
            # The server and the other client carry on.
            assert (await demo.client.get("/api/v1/health")).status == 200
            assert (await run_command(bystander, 1, "ping"))["success"] is True
        [ticket] = await issue(demo, 1)
        event = await next_event(bystander, "ticket.issued")
        assert event["data"]["number"] == ticket["number"]
    finally:
        await bystander.close()


# --- roles -----------------------------------------------------------------------------


async def test_a_display_cannot_run_counter_commands(demo):
    before = await whole_database(demo)
    ws, _, _ = await synced_socket(demo.client)
    try:
        for command_id, command in enumerate(["counter/open", "counter/call_next"], start=1):
            result = await run_command(ws, command_id, command, counter=3)
            assert result["success"] is False
            assert result["error"]["code"] == "forbidden"
        # Nor issue tickets: that is for kiosks and staff.
        result = await run_command(ws, 3, "ticket/issue", service="A")
        assert result["success"] is False and result["error"]["code"] == "forbidden"
        assert (await run_command(ws, 4, "ping"))["success"] is True
    finally:
        await ws.close()
    assert await whole_database(demo) == before


async def test_a_kiosk_sees_services_only_and_numbers_only_of_its_own_tickets(demo, teller3):
    other_kiosk = await auth.add_device(demo.services, branch_id="demo", kind="kiosk", name="kiosk 2")
    ws, welcome, snapshot = await synced_socket(demo.client, role="kiosk", token=KIOSK_TOKEN)
    try:
        state = snapshot["state"]
        assert set(state) - {"device"} == {"branch", "services", "notices", "emergency"}, \
            "no counters, calls or queue"
        if "device" in state:  # the kiosk's own device record (its printer status), nobody else's
            assert state["device"]["id"] == welcome["device"]
        assert "token" not in all_keys(snapshot)

        [own] = await issue(demo, 1)  # by this kiosk (demo-kiosk), over HTTP
        [foreign] = await issue(demo, 1, headers={"Authorization": f"Bearer {other_kiosk}"})
        by_staff = await teller3.post(f"{B}/tickets", json={"service": "A"})
        assert by_staff.status == 201
        by_command = await run_command(ws, 1, "ticket/issue", service="B")
        assert by_command["success"] is True
        own_by_socket = by_command["result"]
        await call_next(teller3)

        issued = [await next_event(ws, "ticket.issued") for _ in range(4)]
        assert issued[0]["data"]["number"] == own["number"]
        assert issued[0]["data"]["ahead"] == 0
        assert "number" not in issued[1]["data"], "another kiosk's ticket"
        assert "number" not in issued[2]["data"], "a ticket issued by staff"
        assert issued[3]["data"]["number"] == own_by_socket["number"]
        called = await next_event(ws, "ticket.called")
        assert "number" not in called["data"] and called["data"]["counter"] == 3
        for event in [issued[1], issued[2], called]:
            assert set(event["data"]) <= {"service", "priority", "state", "counter"}, event
        for event in [issued[0], issued[3]]:
            assert "token" not in event["data"] and "device" not in event["data"]
        assert foreign["number"] not in orjson.dumps(issued).decode()
    finally:
        await ws.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_kiosk_issuing_over_the_socket_is_rate_limited_like_over_http(
    db_url, tmp_path, clock, aiohttp_client
):
    """DESIGN: rate limits on issuance; HTTP routes and socket commands do the same thing."""
    settings = Settings(database=db_url, secret_file=str(tmp_path / "k"), demo=True,
                        issue_rate_limit="10/minute")
    app = create_app(settings, clock=clock)
    client = await aiohttp_client(app)
    await seed_demo(app[SERVICES])
    http_kiosk = await auth.add_device(app[SERVICES], branch_id="demo", kind="kiosk", name="k2")

    statuses = [
        (await client.post(f"{B}/tickets", json={"service": "A"},
                           headers={"Authorization": f"Bearer {http_kiosk}"})).status
        for _ in range(11)
    ]
    assert statuses == [201] * 10 + [429], "over HTTP the 11th ticket in a minute is refused"

    ws, _, _ = await synced_socket(client, role="kiosk", token=KIOSK_TOKEN)
    try:
        results = [await run_command(ws, i, "ticket/issue", service="A") for i in range(1, 12)]
    finally:
        await ws.close()
    assert all(r["success"] for r in results[:10])
    assert results[10]["success"] is False and results[10]["error"]["code"] == "rate_limited", (
        "over the socket the same kiosk's 11th ticket in a minute was issued: "
        f"{results[10]}"
    )


async def test_a_websocket_from_a_foreign_origin_is_refused_before_the_upgrade(demo):
    with pytest.raises(WSServerHandshakeError) as refused:
        await demo.client.ws_connect("/ws", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    # The page's own origin is fine.
    own = base_url(demo).rstrip("/")
    ws = await demo.client.ws_connect("/ws", headers={"Origin": own})
    try:
        await say_hello(ws)
        assert (await receive(ws))["type"] == "welcome"
    finally:
        await ws.close()


async def test_a_wrong_token_role_or_branch_closes_with_1008_and_a_reason(demo):
    refusals = [
        ({"role": "display", "token": "not-a-token"}, "token"),
        ({"role": "kiosk", "token": DISPLAY_TOKEN}, "cannot connect as kiosk"),
        ({"role": "counter", "token": DISPLAY_TOKEN}, "cannot connect as counter"),
        ({"role": "display", "token": DISPLAY_TOKEN, "branch": "nowhere"}, "no branch"),
        ({"role": "display", "token": None}, "sign in"),
        ({"role": "superuser", "token": DISPLAY_TOKEN}, "hello"),
        ({"role": "display", "token": DISPLAY_TOKEN, "since_seq": -1}, "hello"),
    ]
    for hello, reason_has in refusals:
        ws = await demo.client.ws_connect("/ws")
        await say_hello(ws, **hello)
        code, reason = await closed_with(ws)
        assert (code, reason_has in reason) == (POLICY_VIOLATION, True), (hello, code, reason)

    # A signed-in teller is no manager: the dashboard view is refused the same way.
    async with staff_session(demo, "teller3") as session:
        ws = await session.ws_connect("/ws")
        await say_hello(ws, role="dashboard", token=None)
        code, reason = await closed_with(ws)
        assert code == POLICY_VIOLATION and "manager" in reason

    # The device client gives up with the reason instead of retrying for ever.
    client = BranchClient(base_url(demo), role="kiosk", branch="demo", token=DISPLAY_TOKEN)
    client.start()
    with pytest.raises(Refused, match="cannot connect as kiosk"):
        await asyncio.wait_for(client._task, seconds(5))
    assert client.connections == 1


async def test_a_signed_in_teller_runs_the_counter_over_the_socket_like_over_http(demo):
    await issue(demo, 3)
    async with staff_session(demo, "teller3") as session:
        ws, welcome, snapshot = await synced_socket(session, role="counter", token=None)
        try:
            assert welcome["staff"] and welcome["device"] is None
            assert [q["service"] for q in snapshot["state"]["queue"]] == ["A", "A", "A"]

            opened = await run_command(ws, 1, "counter/open", counter=3)
            assert opened["success"] is True, opened
            assert opened["result"]["counter"]["state"] == "open"
            assert opened["result"]["ticket"] is None

            by_socket = await run_command(ws, 2, "counter/call_next", counter=3)
            assert by_socket["success"] is True, by_socket
            assert by_socket["result"]["ticket"]["number"] == "A001"
            assert by_socket["result"]["ticket"]["counter"] == 3

            by_http = await call_next(session, expect=by_socket["result"]["ticket"]["id"])
            assert by_http["ticket"]["number"] == "A002"
            # The same service function behind both: the same answer, key for key.
            assert set(by_socket["result"]) == set(by_http) >= {"counter", "ticket"}
            assert set(by_socket["result"]["ticket"]) == set(by_http["ticket"])
            assert set(by_socket["result"]["counter"]) == set(by_http["counter"])
            assert set(by_socket["result"]["counter"]["current"]) == set(by_http["counter"]["current"])

            # The counter view sees its own calls as events too, with staff data.
            called = await next_event(ws, "ticket.called")
            assert called["data"]["number"] == "A001" and called["data"]["counter"] == 3

            # A counter that is not the teller's is refused with the same error code as HTTP.
            other = await run_command(ws, 3, "counter/call_next", counter=4)
            http_other = await session.post(f"{B}/counters/4/call-next")
            assert other["success"] is False
            assert other["error"]["code"] == (await http_other.json())["error"]["code"]
        finally:
            await ws.close()


# --- a client that cannot keep up ------------------------------------------------------


SMALL_QUEUE = 32
READERS = 100


class BareSocket:
    """A websocket client on a bare TCP socket with a tiny receive window.

    Nothing reads from it unless the test calls :meth:`read_frame`: no client library
    buffers frames behind the test's back, so what the server sends backs up at once.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = b""

    @classmethod
    async def connect(cls, host: str, port: int) -> BareSocket:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await loop.sock_connect(sock, (host, port))
        self = cls(sock)
        key = base64.b64encode(os.urandom(16)).decode()
        await loop.sock_sendall(sock, (
            f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode())
        while b"\r\n\r\n" not in self._buf:
            await self._fill()
        head, self._buf = self._buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        return self

    async def _fill(self) -> None:
        chunk = await asyncio.get_running_loop().sock_recv(self.sock, 65536)
        if not chunk:
            raise ConnectionError("the server hung up")
        self._buf += chunk

    async def _take(self, n: int) -> bytes:
        while len(self._buf) < n:
            await self._fill()
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    async def send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        header = bytes([0x80 | opcode])
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        await asyncio.get_running_loop().sock_sendall(self.sock, header + mask + masked)

    async def read_frame(self) -> tuple[int, bytes]:
        first, second = await self._take(2)
        n = second & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self._take(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self._take(8))
        assert not second & 0x80, "server frames are not masked"
        return first & 0x0F, await self._take(n)

    async def read_json(self) -> dict[str, Any]:
        opcode, payload = await self.read_frame()
        assert opcode == 0x1, (opcode, payload[:200])
        return orjson.loads(payload)

    async def read_until_closed(self) -> tuple[int, str, list[dict[str, Any]]]:
        """Everything buffered for us, then the close frame: (code, reason, text messages)."""
        messages = []
        while True:
            opcode, payload = await self.read_frame()
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                with contextlib.suppress(OSError):
                    await self.send_frame(0x8, payload[:2])
                return code, payload[2:].decode(errors="replace"), messages
            if opcode == 0x1:
                messages.append(orjson.loads(payload))

    def close(self) -> None:
        self.sock.close()


async def test_a_client_that_never_reads_is_dropped_with_1013_and_100_others_get_every_event(
    demo, monkeypatch
):
    # Conn binds QUEUE_SIZE as a default argument, so shrink the queue where ws.py makes Conns.
    monkeypatch.setattr(ws_module, "Conn", functools.partial(Conn, queue_size=SMALL_QUEUE))
    # aiohttp checks for back-pressure only every 64 KiB written by default; check every frame.
    monkeypatch.setattr(web, "WebSocketResponse",
                        functools.partial(web.WebSocketResponse, writer_limit=1024))
    drops: list[tuple[int, str]] = []
    dropped = asyncio.Event()
    original_drop = Conn.drop

    def spy_drop(self, code: int, reason: str) -> None:
        if not self.closed:
            drops.append((code, reason))
            dropped.set()
        original_drop(self, code, reason)

    monkeypatch.setattr(Conn, "drop", spy_drop)
    hub = demo.client.server.app[HUB]
    url = demo.client.make_url("/ws")

    readers_session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    readers: list[asyncio.Task] = []
    slow: BareSocket | None = None
    try:
        start_seq = (await db_counts(demo))["event_seq"]
        for _ in range(READERS):
            ws = await readers_session.ws_connect(url)
            await say_hello(ws)
            assert (await receive(ws))["type"] == "welcome"
            snapshot = await receive(ws)
            assert snapshot["type"] == "snapshot" and snapshot["seq"] == start_seq
            sockets.append(ws)

        slow = await BareSocket.connect(url.host, url.port)
        await slow.send_frame(0x1, orjson.dumps(
            {"type": "hello", "role": "display", "branch": "demo", "token": DISPLAY_TOKEN}))
        assert (await slow.read_json())["type"] == "welcome"
        assert (await slow.read_json())["type"] == "snapshot"
        # From here on it reads nothing until it has been dropped. On loopback the kernel
        # would give the server megabytes of send buffer for it, so pin that end small too,
        # as on a congested link; the server's own queue and writer are untouched.
        [slow_conn] = [c for c in hub.by_branch["demo"]
                       if c.request.transport.get_extra_info("peername") == slow.sock.getsockname()]
        server_sock = slow_conn.request.transport.get_extra_info("socket")
        server_sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        slow_conn.request.transport.set_write_buffer_limits(high=0)
        assert hub.count() == READERS + 1

        last_seq: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        got: list[list[int]] = [[] for _ in sockets]
        done = [asyncio.Event() for _ in sockets]

        async def read_all(i: int, ws) -> int | None:
            while True:
                msg = await ws.receive()
                if msg.type != WSMsgType.TEXT:
                    return ws.close_code
                message = orjson.loads(msg.data)
                if message["type"] == "event":
                    got[i].append(message["seq"])
                    if last_seq.done() and message["seq"] >= last_seq.result():
                        done[i].set()

        readers = [asyncio.create_task(read_all(i, ws)) for i, ws in enumerate(sockets)]

        async def read_slow_once_dropped() -> tuple[int, str, list[dict[str, Any]]]:
            await dropped.wait()
            # Only now read what was buffered for it; the server's close frame comes last.
            return await slow.read_until_closed()

        slow_reader = asyncio.create_task(read_slow_once_dropped())

        kiosk = await auth.device_actor(demo.services, KIOSK_TOKEN)
        n_events, after_drop = 0, 0
        async with asyncio.timeout(seconds(60)):
            while after_drop < 100:  # go on for a while after the drop: the others must not notice
                await tickets.issue_ticket(demo.services, kiosk, "demo",
                                           IssueTicket(service="ABCDE"[n_events % 5]))
                n_events += 1
                after_drop += dropped.is_set()
                assert n_events <= 3000, "the client that never reads was never dropped"
        final = (await db_counts(demo))["event_seq"]
        assert final == start_seq + n_events
        last_seq.set_result(final)
        for i, seqs in enumerate(got):
            if seqs and seqs[-1] >= final:
                done[i].set()

        async with asyncio.timeout(seconds(30)):
            await asyncio.gather(*(d.wait() for d in done))
            code, reason, slow_got = await slow_reader
        assert code == TRY_AGAIN_LATER, (code, reason)
        assert "keep up" in reason
        assert drops == [(TRY_AGAIN_LATER, reason)], "only the slow client was dropped"
        slow_seqs = [m["seq"] for m in slow_got if m["type"] == "event"]
        assert slow_seqs == list(range(start_seq + 1, start_seq + 1 + len(slow_seqs))), (
            "what the slow client did get was in order"
        )
        assert len(slow_seqs) < n_events

        expected = list(range(start_seq + 1, final + 1))
        for i, seqs in enumerate(got):
            assert seqs == expected, f"reader {i}: {len(seqs)} of {len(expected)} events, in order?"
        assert not any(ws.closed for ws in sockets) and not any(r.done() for r in readers)
    finally:
        for r in readers:
            r.cancel()
        for ws in sockets:
            await ws.close()
        await readers_session.close()
        if slow is not None:
            slow.close()


# --- shutdown --------------------------------------------------------------------------


async def test_shutting_the_server_down_closes_every_socket_with_1001(demo):
    sockets = [(await synced_socket(demo.client, role, token))[0]
               for role, token in [("display", DISPLAY_TOKEN), ("kiosk", KIOSK_TOKEN),
                                   ("evaluator", "demo-evaluator")]]
    closes = [asyncio.create_task(closed_with(ws, timeout=10)) for ws in sockets]
    await demo.client.server.close()
    results = await asyncio.gather(*closes)
    assert [code for code, _ in results] == [GOING_AWAY] * 3
    assert all(reason for _, reason in results)
