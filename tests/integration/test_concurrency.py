"""Under concurrency: no ticket called twice, numbers unique and gapless (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections import Counter

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.store import tables as t
from tests.conftest import KIOSK, login

B = "/api/v1/branches/demo"
SERVICES_MIX = ["A", "B", "C", "D", "E"]


async def new_client(demo) -> TestClient:
    client = TestClient(demo.client.server)
    await client.start_server()
    return client


async def test_six_counters_calling_at_once_never_get_the_same_ticket(demo):
    for i in range(200):
        service = SERVICES_MIX[i % len(SERVICES_MIX)]
        extra = {"priority": "green", "green_reason": "urgent"} if i % 17 == 0 and service in "AB" else {}
        resp = await demo.client.post(f"{B}/tickets", json={"service": service, **extra}, headers=KIOSK)
        assert resp.status == 201

    tellers = []
    for n in range(1, 7):
        client = await new_client(demo)
        await login(client, f"teller{n}")
        assert (await client.post(f"{B}/counters/{n}/open")).status == 200
        tellers.append((n, client))

    async def keep_calling(n: int, client: TestClient) -> list[int]:
        got: list[int] = []
        while True:
            # Each call says which ticket it believes current (else 409 just_called at once).
            resp = await client.post(f"{B}/counters/{n}/call-next", json={"expect": got[-1] if got else None})
            assert resp.status == 200, await resp.text()
            ticket = (await resp.json())["ticket"]
            if ticket is None:
                return got
            assert ticket["counter"] == n
            got.append(ticket["id"])

    try:
        calls = await asyncio.gather(*(keep_calling(n, c) for n, c in tellers))
    finally:
        for _, client in tellers:
            await client.close()

    called = [ticket_id for per_counter in calls for ticket_id in per_counter]
    duplicates = [i for i, k in Counter(called).items() if k > 1]
    assert not duplicates, f"called twice: {duplicates}"
    assert len(called) == 200
    assert all(calls), "every counter got work"
    async with demo.services.db.read() as conn:
        states = Counter((await conn.execute(select(t.Ticket.state))).scalars())
        call_events = (
            await conn.execute(
                select(t.TicketEvent.ticket_id).where(t.TicketEvent.kind == "ticket.called")
            )
        ).scalars().all()
    assert states == {"done": 200}, "the last call-next of each counter finished its ticket"
    assert sorted(call_events) == sorted(called)


async def test_sixteen_kiosks_issuing_at_once_get_unique_gapless_numbers(demo):
    async def kiosk(k: int) -> list[str]:
        numbers = []
        for i in range(50):
            body = {"service": "A"}
            if (k + i) % 5 == 0:
                body |= {"priority": "green", "green_reason": "pregnant"}
            resp = await demo.client.post(f"{B}/tickets", json=body, headers=KIOSK)
            assert resp.status == 201, await resp.text()
            numbers.append((await resp.json())["number"])
        return numbers

    numbers = [n for per_kiosk in await asyncio.gather(*(kiosk(k) for k in range(16))) for n in per_kiosk]
    assert len(numbers) == len(set(numbers)) == 800
    for series in ("A", "G"):
        seqs = sorted(int(n[1:]) for n in numbers if n.startswith(series))
        assert seqs == list(range(1, len(seqs) + 1)), f"series {series} has gaps"
    async with demo.services.db.read() as conn:
        rows = (await conn.execute(select(t.TicketEvent.seq, t.TicketEvent.kind).order_by(t.TicketEvent.seq))).all()
    # Other events may come between (a breach of the queue's length raised by the sweep on a slow run).
    assert [seq for seq, _ in rows] == list(range(1, len(rows) + 1)), "event seqs are gapless too"
    assert sum(kind == "ticket.issued" for _, kind in rows) == 800
