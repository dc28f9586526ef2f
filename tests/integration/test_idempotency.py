"""A kiosk may retry an issuance: the Idempotency-Key makes the retry return the same ticket.

The kiosk sends the key with ``POST /branches/{b}/tickets``; a retry (same key, same
body) gets the first answer back byte for byte and no second ticket, number or event.
The same key with another body is refused. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select

from server.services import auth
from server.store import tables as t
from tests.conftest import KIOSK, login
from tests.integration.snapshot import snapshot

B = "/api/v1/branches/demo"


async def post_ticket(client, body: dict, key: str | None, headers=KIOSK):
    extra = {"Idempotency-Key": key} if key is not None else {}
    resp = await client.post(f"{B}/tickets", json=body, headers={**headers, **extra})
    return resp.status, await resp.read()


async def issued(client, body: dict, key: str | None = None, headers=KIOSK) -> tuple[bytes, dict]:
    resp = await client.post(
        f"{B}/tickets", json=body, headers={**headers, **({"Idempotency-Key": key} if key else {})}
    )
    raw = await resp.read()
    assert resp.status == 201, raw
    return raw, await resp.json()


async def count(services, table) -> int:
    async with services.db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


async def last_number(services, series: str) -> int:
    async with services.db.read() as conn:
        return (
            await conn.execute(
                select(t.NumberSequence.last_value).where(t.NumberSequence.series == series)
            )
        ).scalar_one()


async def test_a_retry_with_the_same_key_returns_the_same_ticket_and_issues_nothing(demo):
    c, services = demo.client, demo.services
    demo.clock.advance(microseconds=123456)  # a real clock has fractions of a second
    first_raw, first = await issued(c, {"service": "A"}, "kiosk-1-press-1")
    after_first = await snapshot(services)

    retry_raw, retry = await issued(c, {"service": "A"}, "kiosk-1-press-1")

    assert retry_raw == first_raw, "the retry answers byte for byte as the first time"
    assert retry["number"] == "A001"
    assert await snapshot(services) == after_first, "a retry stores nothing"
    assert await count(services, t.Ticket.__table__) == 1
    assert await count(services, t.IdempotencyKey.__table__) == 1
    assert await count(services, t.TicketEvent.__table__) == 1


async def test_a_retry_answers_as_the_first_time_even_after_the_queue_moved_on(demo, aiohttp_client):
    c, clock = demo.client, demo.clock
    first_raw, first = await issued(c, {"service": "A"}, "press-1")
    _, other = await issued(c, {"service": "A"})  # someone else queues behind
    teller = await aiohttp_client(demo.client.server)
    await login(teller, "teller3")
    assert (await teller.post(f"{B}/counters/3/open")).status == 200
    clock.advance(minutes=3)
    called = await (await teller.post(f"{B}/counters/3/call-next")).json()
    assert called["ticket"]["id"] == first["id"]
    clock.advance(minutes=1)

    retry_raw, _ = await issued(c, {"service": "A"}, "press-1")

    assert retry_raw == first_raw  # issued_at, ahead, estimate and state as first answered
    assert other["number"] == "A002"
    assert await count(demo.services, t.Ticket.__table__) == 2


@pytest.mark.parametrize(
    "second",
    [
        pytest.param({"service": "B"}, id="another-service"),
        pytest.param({"service": "A", "priority": "green", "green_reason": "elderly"}, id="green-instead"),
    ],
)
async def test_the_same_key_for_a_different_request_is_refused_and_changes_nothing(demo, second):
    c, services = demo.client, demo.services
    await issued(c, {"service": "A"}, "press-1")
    before = await snapshot(services)

    status, raw = await post_ticket(c, second, "press-1")

    assert status == 409, raw
    error = json.loads(raw)["error"]
    assert error["code"] == "idempotency_mismatch"
    assert set(error) == {"code", "message"} and error["message"]
    assert await snapshot(services) == before


async def test_spelling_out_the_defaults_is_still_the_same_request(demo):
    first_raw, _ = await issued(demo.client, {"service": "A"}, "press-1")
    retry_raw, _ = await issued(demo.client, {"service": "A", "priority": "normal"}, "press-1")
    assert retry_raw == first_raw
    assert await count(demo.services, t.Ticket.__table__) == 1


async def test_different_keys_give_different_tickets(demo):
    _, one = await issued(demo.client, {"service": "A"}, "press-1")
    _, two = await issued(demo.client, {"service": "A"}, "press-2")
    _, three = await issued(demo.client, {"service": "A"})  # no key: always a new ticket
    assert [one["number"], two["number"], three["number"]] == ["A001", "A002", "A003"]
    assert len({one["id"], two["id"], three["id"]}) == 3
    assert len({one["token"], two["token"], three["token"]}) == 3
    assert await count(demo.services, t.Ticket.__table__) == 3
    assert await count(demo.services, t.IdempotencyKey.__table__) == 2


async def test_a_refused_issuance_does_not_use_up_its_key(demo):
    status, raw = await post_ticket(demo.client, {"service": "Z"}, "press-1")
    assert status == 404, raw
    _, ticket = await issued(demo.client, {"service": "A"}, "press-1")
    assert ticket["number"] == "A001"


async def test_a_key_belongs_to_the_device_that_sent_it(demo):
    await auth.add_device(demo.services, branch_id="demo", kind="kiosk", name="kiosk 2", token="kiosk-2-token")
    _, one = await issued(demo.client, {"service": "A"}, "press-1")
    _, two = await issued(demo.client, {"service": "A"}, "press-1", headers={"Authorization": "Bearer kiosk-2-token"})
    assert (one["number"], two["number"]) == ("A001", "A002")
    assert await count(demo.services, t.Ticket.__table__) == 2


async def test_ten_simultaneous_retries_get_one_ticket_and_leave_no_gap_in_the_numbers(demo):
    c, services = demo.client, demo.services

    answers = await asyncio.gather(*(post_ticket(c, {"service": "A"}, "double-tap") for _ in range(10)))

    statuses = [status for status, _ in answers]
    assert statuses == [201] * 10, answers
    bodies = {raw for _, raw in answers}
    assert len(bodies) == 1, f"every retry answers exactly as the winner: {bodies}"
    ticket = json.loads(bodies.pop())
    assert ticket["number"] == "A001"
    assert await count(services, t.Ticket.__table__) == 1
    assert await count(services, t.IdempotencyKey.__table__) == 1
    assert await count(services, t.TicketEvent.__table__) == 1
    assert await last_number(services, "A") == 1, "the losers' numbers were rolled back"

    _, following = await issued(c, {"service": "A"}, "next-customer")
    assert following["number"] == "A002"
    async with services.db.read() as conn:
        seqs = (await conn.execute(select(t.TicketEvent.seq).order_by(t.TicketEvent.seq))).scalars().all()
    assert seqs == [1, 2], "event seq is gapless too"
