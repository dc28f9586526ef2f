"""Faults under load lose nothing acknowledged: a real ``branchq serve`` on PostgreSQL.

Kiosks issue tickets over HTTP with Idempotency-Keys while tellers call and finish them,
and meanwhile the server process is killed (SIGKILL) and restarted twice and its
PostgreSQL connections are terminated (``pg_terminate_backend``) twice. Clients do what a
kiosk and the teller's page do: a request that got no answer, or a 503, is sent again
(the same Idempotency-Key; a counter command with ``expect`` read back from the counter).
Afterwards every acknowledged ticket is in the database, once; each series' numbers are
gapless and unique; no ticket was called twice; the branch's event ``seq`` runs 1..N
without a gap; and no request ever got a 500.

Bounded: a fixed number of tickets, each retried until a deadline; the faults come at
fixed points of the kiosks' progress, so the test neither sleeps for them nor waits on
the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import KIOSK, seconds
from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.slow

B = "/api/v1/branches/demo"
POSTGRES = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)

KIOSKS, TICKETS_PER_KIOSK = 4, 20
TELLERS = (2, 3, 4)  # their profiles (B A, A B C, C A) cover every service issued below
SERVICES_ISSUED = ("A", "B", "C")
#: Acknowledged tickets at which each fault strikes, in this order.
FAULTS = ((10, "kill"), (25, "terminate"), (40, "kill"), (55, "terminate"))
#: Kiosk's and teller's retries end here: past it the test fails rather than hang.
RETRY_FOR_S = 40
#: What a client retries: no answer at all, or "try again" from the server.
RETRY_STATUSES = {502, 503, 504}
#: Events between which a ticket may be called again (it went back to waiting).
BACK_TO_WAITING = {"ticket.requeued", "ticket.transferred"}


async def terminate_connections(url: str) -> int:
    """End every other backend on the server's database, as a failover or an admin would."""
    u = make_url(url)
    admin = await asyncpg.connect(host=u.host, port=u.port or 5432, user=u.username,
                                  password=u.password, database="postgres")
    try:
        # The timeout (PostgreSQL 14+) makes each call wait until its backend has gone.
        return len(await admin.fetch(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()", u.database,
        ))
    finally:
        await admin.close()


@dataclass
class Load:
    """What the clients saw: acknowledged tickets, answers by status, progress."""

    server: ServerProcess
    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)  # key → ticket
    statuses: Counter[int] = field(default_factory=Counter)
    unanswered: int = 0
    progress: asyncio.Condition = field(default_factory=asyncio.Condition)
    issuing_done: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, http: aiohttp.ClientSession, method: str, path: str, **kw: Any
                   ) -> tuple[int, Any]:
        """One request, sent again until it is answered with anything but "try again"."""
        deadline = time.monotonic() + seconds(RETRY_FOR_S)
        pause = 0.02
        while True:
            try:
                async with http.request(method, path, **kw) as resp:
                    self.statuses[resp.status] += 1
                    if resp.status not in RETRY_STATUSES:
                        return resp.status, await resp.json()
            except (TimeoutError, aiohttp.ClientError):
                self.unanswered += 1
            assert time.monotonic() < deadline, f"{method} {path} unanswered for {RETRY_FOR_S} s"
            await asyncio.sleep(pause)  # a client's backoff, not a wait for an event
            pause = min(pause * 2, 0.3)

    async def acknowledge(self, key: str, ticket: dict[str, Any]) -> None:
        assert key not in self.acknowledged
        self.acknowledged[key] = ticket
        async with self.progress:
            self.progress.notify_all()

    async def reached(self, count: int) -> None:
        async with self.progress:
            await self.progress.wait_for(lambda: len(self.acknowledged) >= count)


async def kiosk(load: Load, k: int) -> None:
    rng = random.Random(k)
    async with load.server.session() as http:
        for i in range(TICKETS_PER_KIOSK):
            key = f"kiosk{k}-ticket{i}"
            body: dict[str, Any] = {"service": rng.choice(SERVICES_ISSUED)}
            if rng.random() < 0.15:
                body |= {"service": "A", "priority": "green", "green_reason": "elderly"}
            status, ticket = await load.send(
                http, "POST", f"{B}/tickets", json=body, headers={**KIOSK, "Idempotency-Key": key})
            assert status == 201, ticket
            await load.acknowledge(key, ticket)


async def teller(load: Load, number: int) -> list[int]:
    """Open counter ``number`` and serve until nothing is left; the tickets it was given."""
    rng = random.Random(number)
    called: list[int] = []
    counter = f"{B}/counters/{number}"
    async with load.server.session() as http:
        status, body = await load.send(http, "POST", "/api/v1/auth/login",
                                       json={"username": f"teller{number}", "password": "demo-pass"})
        assert status == 200, body

        async def current() -> tuple[str, int | None]:
            status, body = await load.send(http, "GET", counter)
            assert status == 200, body
            ticket = body["counter"]["current"]
            return body["counter"]["state"], ticket["id"] if ticket else None

        state, expect = await current()
        if state != "open":
            status, body = await load.send(http, "POST", f"{counter}/open")
            state, expect = await current()  # a lost answer may still have opened it
            assert state == "open", body
        while True:
            if expect is not None and rng.random() < 0.3:
                status, body = await load.send(http, "POST", f"{counter}/finish", json={"expect": expect})
                if status == 200:
                    expect = None
                else:  # someone's answer got lost: carry on from what the counter holds
                    _, expect = await current()
                continue
            was_done = load.issuing_done.is_set()
            status, body = await load.send(http, "POST", f"{counter}/call-next", json={"expect": expect})
            if status != 200:
                assert status == 409 and body["error"]["code"] == "stale", body
                _, expect = await current()
                continue
            ticket = body["ticket"]
            if ticket is None:
                expect = None
                if was_done:
                    return called
                await asyncio.sleep(0.02)  # an idle teller looks again; pacing only
                continue
            called.append(ticket["id"])
            expect = ticket["id"]


async def inject_faults(load: Load, db_url: str) -> list[str]:
    done = []
    for at, fault in FAULTS:
        await load.reached(at)
        if fault == "kill":
            await load.server.kill()
            await load.server.start()
            done.append(f"kill at {len(load.acknowledged)}")
        else:
            terminated = await terminate_connections(db_url)
            assert terminated >= 1, "the server had no connection to end"
            done.append(f"terminated {terminated} at {len(load.acknowledged)}")
    return done


async def stored(db_url: str) -> tuple[list[asyncpg.Record], list[asyncpg.Record], int]:
    u = make_url(db_url)
    conn = await asyncpg.connect(host=u.host, port=u.port or 5432, user=u.username,
                                 password=u.password, database=u.database)
    try:
        tickets = await conn.fetch(
            "SELECT id, number, series, sequence, business_date, token, state FROM tickets"
            " WHERE branch_id = 'demo'")
        events = await conn.fetch(
            "SELECT seq, kind, ticket_id FROM ticket_events WHERE branch_id = 'demo' ORDER BY seq")
        last = await conn.fetchval("SELECT event_seq FROM branches WHERE id = 'demo'")
    finally:
        await conn.close()
    return tickets, events, last


def called_twice(events: list[asyncpg.Record]) -> list[int]:
    """Tickets with two ``ticket.called`` and no return to waiting between them."""
    waiting_call: dict[int, bool] = defaultdict(lambda: True)
    twice = []
    for e in events:
        if e["ticket_id"] is None:
            continue
        if e["kind"] == "ticket.called":
            if not waiting_call[e["ticket_id"]]:
                twice.append(e["ticket_id"])
            waiting_call[e["ticket_id"]] = False
        elif e["kind"] in BACK_TO_WAITING:
            waiting_call[e["ticket_id"]] = True
    return twice


@POSTGRES
async def test_kill_and_dropped_connections_under_load_lose_no_acknowledged_ticket(
    db_url, demo_seeded, tmp_path
):
    server = ServerProcess(db_url, tmp_path / "server", demo=True)
    load = Load(server)
    async with server:
        faults = asyncio.ensure_future(inject_faults(load, db_url))
        tellers = [asyncio.ensure_future(teller(load, n)) for n in TELLERS]
        try:
            await asyncio.gather(*(kiosk(load, k) for k in range(KIOSKS)))
            load.issuing_done.set()
            done = await faults
            served = await asyncio.gather(*tellers)
        finally:
            for task in (faults, *tellers):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(faults, *tellers, return_exceptions=True)

    assert server.starts == 3 and len(done) == len(FAULTS), done
    assert load.unanswered > 0, "the kills left no request unanswered: they missed the load"
    assert load.statuses[500] == 0, f"answers by status: {dict(load.statuses)}\n{server.tail(80)}"
    tickets, events, last_seq = await stored(db_url)

    # Every acknowledged ticket is there, as acknowledged; retries made no second one.
    by_id = {t["id"]: t for t in tickets}
    assert len(load.acknowledged) == KIOSKS * TICKETS_PER_KIOSK
    assert len(tickets) == len(load.acknowledged), "a retried issue made a second ticket"
    for key, ack in load.acknowledged.items():
        row = by_id.get(ack["id"])
        assert row is not None, f"{key}: acknowledged ticket {ack['number']} is gone"
        assert (row["number"], row["token"]) == (ack["number"], ack["token"]), key

    # Numbers per series and day: unique and gapless.
    series: dict[tuple, list[int]] = defaultdict(list)
    for row in tickets:
        series[row["business_date"], row["series"]].append(row["sequence"])
    for (day, letter), numbers in series.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"series {letter} on {day}"

    # No ticket called twice; every ticket served exactly once by one teller.
    assert called_twice(events) == []
    calls = Counter(e["ticket_id"] for e in events if e["kind"] == "ticket.called")
    assert set(calls) == set(by_id) and set(calls.values()) == {1}
    assert {t["state"] for t in tickets} == {"done"}
    acknowledged_calls = [i for per_teller in served for i in per_teller]
    assert len(acknowledged_calls) == len(set(acknowledged_calls))

    # The branch's events: seq 1..N, no gap, as far as the branch row says.
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert last_seq == len(events)


@POSTGRES
async def test_pooled_connections_ended_by_postgresql_between_requests_cost_no_error(
    db_url, demo_seeded, tmp_path
):
    server = ServerProcess(db_url, tmp_path / "server", demo=True)
    async with server, server.session() as http:
        async def answers() -> list[int]:
            """A read, a write and a read of what it wrote: each on a pooled connection."""
            issued = await http.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)
            token = (await issued.json()).get("token") if issued.status == 201 else "none-none"
            health = await http.get("/api/v1/health")
            ticket = await http.get(f"/api/v1/tickets/{token}")
            return [issued.status, health.status, ticket.status]

        assert await answers() == [201, 200, 200]
        for _ in range(2):
            assert await terminate_connections(db_url) >= 1
            assert await answers() == [201, 200, 200]
