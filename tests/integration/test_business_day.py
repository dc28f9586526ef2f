"""When the branch's day turns, yesterday's queue expires and numbering starts again."""

from __future__ import annotations

from sqlalchemy import select

from server.services.days import roll_over_all
from server.store import tables as t
from tests.conftest import KIOSK, login

B = "/api/v1/branches/demo"


async def states(services) -> dict[str, str]:
    async with services.db.read() as conn:
        rows = (await conn.execute(select(t.Ticket.number, t.Ticket.state))).all()
    return dict(rows)


async def test_day_rollover_expires_waiting_and_called_tickets_and_restarts_numbering(demo):
    c, clock = demo.client, demo.clock
    for _ in range(3):
        assert (await c.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)).status == 201
    await login(c, "teller3")
    await c.post(f"{B}/counters/3/open")
    await c.post(f"{B}/counters/3/call-next")  # A001 called
    clock.advance(minutes=5)  # A001 came and was served
    await c.post(f"{B}/counters/3/call-next")  # A001 done, A002 called

    clock.advance(hours=16)  # 01:30 the next day in Shanghai
    await login(c, "teller3")  # yesterday's session has expired (12 h)
    resp = await c.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)
    assert (await resp.json())["number"] == "A001", "numbering restarts each business day"

    async with demo.services.db.read() as conn:
        rows = (
            await conn.execute(
                select(t.Ticket.number, t.Ticket.business_date, t.Ticket.state).order_by(t.Ticket.id)
            )
        ).all()
    assert [(n, s) for n, _, s in rows] == [
        ("A001", "done"), ("A002", "expired"), ("A003", "expired"), ("A001", "waiting"),
    ]
    counter = await (await c.get(f"{B}/counters/3")).json()
    assert counter["counter"]["current"] is None, "the counter no longer holds an expired ticket"
    nxt = await (await c.post(f"{B}/counters/3/call-next")).json()
    assert nxt["ticket"]["number"] == "A001" and nxt["ticket"]["issued_at"].startswith("2026-03-02T17")


async def test_day_watch_expires_tickets_even_when_nobody_writes(demo):
    c, clock = demo.client, demo.clock
    await c.post(f"{B}/tickets", json={"service": "B"}, headers=KIOSK)
    assert await roll_over_all(demo.services) == []
    clock.advance(days=1)
    assert await roll_over_all(demo.services) == ["demo"]
    assert await states(demo.services) == {"B001": "expired"}
    async with demo.services.db.read() as conn:
        kinds = (await conn.execute(select(t.TicketEvent.kind).order_by(t.TicketEvent.seq))).scalars().all()
    assert kinds == ["ticket.issued", "ticket.expired"]
