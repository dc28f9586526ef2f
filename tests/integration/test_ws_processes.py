"""The realtime protocol across real ``branchq serve`` processes.

Two processes on one PostgreSQL database pass events to each other through LISTEN/NOTIFY
(DESIGN.md, "Storage and scale"); a display on one of them sees every call made on the
other, in ``seq`` order, and finds its way back by itself after its process is killed.
A single SQLite server restarted under a display: the display reconnects and resyncs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.client import BranchClient, backoff
from server.protocol import EventMessage, IssueTicket, Snapshot
from server.services import auth, tickets
from server.services.context import Services
from server.services.snapshot import RECENT_CALLS
from server.store.engine import open_database
from tests.conftest import _truncate_pg, seconds
from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.slow

B = "/api/v1/branches/demo"
DISPLAY_TOKEN = "demo-display"
TICKETS = 500
KILL_AFTER = 250  # calls made before process B is killed
CALLS_WHILE_DOWN = 5  # fewer than a snapshot's recent calls, so the resync recovers them all
assert CALLS_WHILE_DOWN < RECENT_CALLS


def fast_reconnect():
    """The client's own backoff with jitter, only started and capped low to keep the test short."""
    return backoff(initial=0.1, factor=1.5, cap=0.5)


class Display:
    """A BranchClient display that records everything it applies, tagged by connection."""

    def __init__(self, base_url: str) -> None:
        self.log: list[tuple[int, str, int, Any]] = []  # (connection, "event"|"snapshot", seq, payload)
        self._progress = asyncio.Event()
        self.client = BranchClient(
            base_url, role="display", branch="demo", token=DISPLAY_TOKEN,
            on_event=self._on_event, on_snapshot=self._on_snapshot,
            reconnect_delays=fast_reconnect,
        )
        # Wake the waits on every message, welcome included (a resume may bring nothing else).
        receive = self.client._receive

        async def receive_and_tell(message: dict[str, Any]) -> None:
            await receive(message)
            self._progress.set()

        self.client._receive = receive_and_tell

    def _on_event(self, event: EventMessage) -> None:
        self.log.append((self.client.connections, "event", event.seq, event))
        self._progress.set()

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        self.log.append((self.client.connections, "snapshot", snapshot.seq, snapshot.state))
        self._progress.set()

    async def wait_until(self, done: Callable[[], bool], what: str, timeout_s: float) -> None:
        try:
            async with asyncio.timeout(seconds(timeout_s)):
                while not done():
                    self._progress.clear()
                    await self._progress.wait()
        except TimeoutError:
            raise AssertionError(
                f"display: not {what} within {seconds(timeout_s):.0f} s "
                f"(seq {self.client.seq}, connections {self.client.connections})"
            ) from None

    def on_connection(self, n: int) -> list[tuple[str, int, Any]]:
        return [(kind, seq, payload) for c, kind, seq, payload in self.log if c == n]


async def ok(resp: aiohttp.ClientResponse, status: int = 200) -> Any:
    body = await resp.text()
    assert resp.status == status, f"{resp.method} {resp.url} → {resp.status} {body}"
    return await resp.json()


async def signed_in(server: ServerProcess, username: str) -> aiohttp.ClientSession:
    """A staff session on ``server`` that keeps its connection alive (fast, many requests)."""
    session = aiohttp.ClientSession(
        base_url=server.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True),
        timeout=aiohttp.ClientTimeout(total=seconds(15)),
    )
    await ok(await session.post("/api/v1/auth/login",
                                json={"username": username, "password": "demo-pass"}))
    return session


async def fresh_snapshot(base_url: str) -> dict[str, Any]:
    """A new display client's answer to the ``snapshot`` command: {"seq", "state"}."""
    async with BranchClient(base_url, role="display", branch="demo", token=DISPLAY_TOKEN) as c:
        return await c.command("snapshot", timeout=seconds(10))


@pytest.mark.postgres
async def test_a_display_on_process_b_sees_every_call_made_on_process_a_even_when_b_is_killed(
    pg_database, tmp_path: Path
):
    await _truncate_pg(pg_database)
    a = ServerProcess(pg_database, tmp_path / "a", demo=True)
    b = ServerProcess(pg_database, tmp_path / "b", demo=True)
    async with a, b:  # A migrates and seeds first; B then finds the demo branch there
        teller3 = await signed_in(a, "teller3")
        display = Display(b.base_url)
        try:
            await ok(await teller3.post(f"{B}/counters/3/open"))
            display.client.start()
            await display.client.wait_synced(seconds(10))
            first_seq = display.client.seq

            # 500 tickets for counter 3's services, issued on A (staff: no rate limit).
            async def issue(i: int) -> None:
                await ok(await teller3.post(f"{B}/tickets", json={"service": "ABC"[i % 3]}), 201)

            for batch in range(0, TICKETS, 20):
                await asyncio.gather(*(issue(i) for i in range(batch, batch + 20)))

            called: list[str] = []
            current = None  # what counter 3 holds: each call-next says so (expect), as a teller's page does
            for i in range(TICKETS):
                if i == KILL_AFTER:
                    await display.wait_until(
                        lambda: sum(1 for c, k, _, e in display.log
                                    if k == "event" and e.kind == "ticket.called") == KILL_AFTER,
                        f"given the first {KILL_AFTER} calls", 20,
                    )
                    await b.kill()
                if i == KILL_AFTER + CALLS_WHILE_DOWN:
                    await b.start()  # the same port: the display comes back by itself
                    await display.wait_until(
                        lambda: any(c >= 2 for c, *_ in display.log),
                        "back in sync after B's restart", 20,
                    )
                answer = await ok(await teller3.post(f"{B}/counters/3/call-next", json={"expect": current}))
                assert answer["ticket"] is not None, f"call {i + 1}: nothing to call"
                called.append(answer["ticket"]["number"])
                current = answer["ticket"]["id"]
            last = await ok(await teller3.post(f"{B}/counters/3/call-next", json={"expect": current}))
            assert last["ticket"] is None
            assert len(set(called)) == TICKETS

            on_a = await fresh_snapshot(a.base_url)
            await display.wait_until(lambda: display.client.seq == on_a["seq"],
                                     f"caught up to seq {on_a['seq']}", 30)
            on_b = await fresh_snapshot(b.base_url)
            own = await display.client.command("snapshot", timeout=seconds(10))
        finally:
            await display.client.close()
            await teller3.close()

    assert display.client.connections == 2, "reconnected exactly once, by itself"
    assert on_a == on_b == own, "both processes and the display agree on the branch"
    assert display.client.seq == on_a["seq"]

    # Connection 1 (until the kill): a snapshot, then every event in order with no gap.
    first = display.on_connection(1)
    pre_kill_seq = first[-1][1]
    assert first[0][:2] == ("snapshot", first_seq)
    assert [seq for kind, seq, _ in first[1:]] == list(range(first_seq + 1, pre_kill_seq + 1))
    # Connection 2: B lost its replay buffer with the process, so a fresh snapshot, then
    # every later event in order with no gap.
    second = display.on_connection(2)
    kind, resync_seq, resync_state = second[0]
    assert kind == "snapshot" and resync_seq > pre_kill_seq
    assert [seq for kind, seq, _ in second[1:]] == list(range(resync_seq + 1, on_a["seq"] + 1))
    assert all(kind == "event" for kind, _, _ in second[1:])

    events = [e for _, _, e in [*first[1:], *second[1:]]]
    seen = [e.data["number"] for e in events if e.kind == "ticket.called"]
    assert seen == [n for n in called if n in set(seen)], "ticket.called in the order of the calls"
    for e in events:
        if e.kind == "ticket.called":
            assert e.data["counter"] == 3 and e.data["service"] == e.data["number"][0]
    recovered = {c["number"] for c in resync_state["calls"] if c["kind"] == "ticket.called"}
    missed_as_events = [n for n in called if n not in set(seen)]
    assert len(missed_as_events) >= CALLS_WHILE_DOWN
    assert set(missed_as_events) <= recovered, (
        f"calls neither seen as events nor in the resync snapshot: "
        f"{sorted(set(missed_as_events) - recovered)}"
    )
    assert set(seen) | recovered >= set(called)


async def test_a_display_reconnects_by_itself_after_its_single_server_restarts_and_resyncs(
    tmp_path: Path,
):
    url = f"sqlite:///{tmp_path / 'branchq.db'}"
    server = ServerProcess(url, tmp_path / "server", demo=True)
    async with server:
        teller3 = await signed_in(server, "teller3")
        display = Display(server.base_url)
        try:
            await ok(await teller3.post(f"{B}/counters/3/open"))
            for service in "AABC":
                await ok(await teller3.post(f"{B}/tickets", json={"service": service}), 201)
            await ok(await teller3.post(f"{B}/counters/3/call-next"))
            display.client.start()
            await display.client.wait_synced(seconds(10))
            before = await display.client.command("snapshot", timeout=seconds(10))

            # A graceful restart (SIGTERM: sockets get 1001), with nothing changed meanwhile:
            # the display resumes where it was.
            await server.stop()
            await server.start()
            await display.wait_until(
                lambda: display.client.connections >= 2 and display.client.synced.is_set(),
                "reconnected after a restart", 20,
            )
            assert await display.client.command("snapshot", timeout=seconds(10)) == before
            assert display.client.seq == before["seq"]

            # Killed, and the branch moves on while this server is down (a ticket written to
            # its database meanwhile): the display resyncs from a fresh snapshot.
            await server.kill()
            db = open_database(url)
            try:
                services = Services(db, demo=True)
                kiosk = await auth.device_actor(services, "demo-kiosk")
                extra = await tickets.issue_ticket(services, kiosk, "demo", IssueTicket(service="A"))
            finally:
                await db.dispose()
            await server.start()
            await display.wait_until(
                lambda: display.client.connections >= 3 and display.client.seq == before["seq"] + 1,
                "resynced after a kill", 20,
            )
            kind, seq, state = display.on_connection(3)[0]
            assert (kind, seq) == ("snapshot", before["seq"] + 1)
            after = await display.client.command("snapshot", timeout=seconds(10))
            assert after == {"seq": seq, "state": state}
            waiting = {s["code"]: s["waiting"] for s in state["services"]}
            assert waiting == {**{s["code"]: s["waiting"] for s in before["state"]["services"]},
                               "A": next(s["waiting"] for s in before["state"]["services"]
                                         if s["code"] == "A") + 1}
            assert state["counters"] == before["state"]["counters"]

            # And it is live again.
            answer = await ok(await teller3.post(f"{B}/counters/3/call-next"))
            await display.wait_until(lambda: display.client.seq == seq + 2, "given the next call", 10)
            [(kind, _, event), *_] = [x for x in display.on_connection(3)[1:]
                                      if x[2].kind == "ticket.called"]
            assert event.data["number"] == answer["ticket"]["number"] == "A002"
            assert extra.number == "A003"
        finally:
            await display.client.close()
            await teller3.close()


@pytest.mark.postgres
async def test_admin_changes_on_process_a_hold_at_once_on_process_b(pg_database, tmp_path: Path):
    """A counter's new profile decides B's very next call; a device revoked on A loses its socket on B."""
    await _truncate_pg(pg_database)
    a = ServerProcess(pg_database, tmp_path / "a", demo=True)
    b = ServerProcess(pg_database, tmp_path / "b", demo=True)
    async with a, b:
        manager = await signed_in(a, "manager")
        teller3 = await signed_in(b, "teller3")
        try:
            for service in ["B", "A"]:
                await ok(await teller3.post(f"{B}/tickets", json={"service": service}), 201)
            await ok(await teller3.post(f"{B}/counters/3/open"))
            first = await ok(await teller3.post(f"{B}/counters/3/call-next"))  # caches B's config: A first
            await ok(await manager.patch("/api/v1/admin/branches/demo/counters/3", json={"services": ["B"]}))
            await ok(await teller3.post(f"{B}/tickets", json={"service": "A"}), 201)
            called = await ok(await teller3.post(f"{B}/counters/3/call-next",
                                                 json={"expect": first["ticket"]["id"]}))
            assert called["ticket"]["number"] == "B001", "B follows the profile changed on A"

            code = (await ok(await manager.post("/api/v1/admin/branches/demo/enrollments",
                                                json={"kind": "display", "name": "hall"}), 201))["code"]
            token = (await ok(await manager.post("/api/v1/devices/enroll", json={"code": code}), 201))["token"]
            device = (await ok(await manager.get("/api/v1/devices/me",
                                                 headers={"Authorization": f"Bearer {token}"})))["id"]
            async with aiohttp.ClientSession() as http:
                ws = await http.ws_connect(b.base_url + "/ws")
                await ws.send_json({"type": "hello", "role": "display", "branch": "demo", "token": token})
                assert (await ws.receive_json(timeout=seconds(10)))["type"] == "welcome"
                assert (await ws.receive_json(timeout=seconds(10)))["type"] == "snapshot"
                await ok(await manager.post(f"/api/v1/admin/branches/demo/devices/{device}/revoke"))
                async with asyncio.timeout(seconds(10)):
                    while (msg := await ws.receive()).type == aiohttp.WSMsgType.TEXT:
                        pass
                assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4401, msg
                assert "revoked" in (msg.extra or "")
        finally:
            await manager.close()
            await teller3.close()


async def test_a_notice_past_its_end_time_is_cleared_once_by_two_processes_and_both_screens_hear_it(
    pg_database, tmp_path: Path
):
    """Both processes sweep every 0.2 s; one takes the notice down, a display on each drops it."""
    from sqlalchemy import select, update

    from server.store import tables as t

    await _truncate_pg(pg_database)
    fast = {"BRANCHQ_NOTICE_CHECK_S": "0.2"}
    a = ServerProcess(pg_database, tmp_path / "a", demo=True, env=fast)
    b = ServerProcess(pg_database, tmp_path / "b", demo=True, env=fast)
    async with a, b:
        manager = await signed_in(a, "manager")
        try:
            async with (BranchClient(a.base_url, role="display", branch="demo", token=DISPLAY_TOKEN) as on_a,
                        BranchClient(b.base_url, role="display", branch="demo", token=DISPLAY_TOKEN) as on_b):
                notice = await ok(await manager.post(f"{B}/notices", json={
                    "texts": {"zh-CN": "今日十二点至一点午休"}, "minutes": 30}), 201)
                for display in (on_a, on_b):
                    await display.next_event("notice.posted", timeout=seconds(10))
                notices = t.Notice.__table__
                db = open_database(pg_database)
                try:
                    async with db.write() as conn:  # its end time brought forward: it is over now
                        await conn.execute(update(notices).where(notices.c.id == notice["id"])
                                           .values(expires_at=notices.c.posted_at))
                    for display in (on_a, on_b):
                        cleared = await display.next_event("notice.cleared", timeout=seconds(10))
                        assert cleared.data == {"id": notice["id"]}
                        assert (await display.command("snapshot"))["state"]["notices"] == []
                    await asyncio.sleep(seconds(1))  # five more sweeps on each process
                    events = t.TicketEvent.__table__
                    async with db.read() as conn:
                        kinds = (await conn.execute(select(events.c.data).where(
                            events.c.kind == "notice.cleared"))).scalars().all()
                    assert [d["id"] for d in kinds] == [notice["id"]], "cleared and announced once"
                finally:
                    await db.dispose()
        finally:
            await manager.close()
