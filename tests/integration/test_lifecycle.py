"""The whole life of tickets over HTTP, on SQLite and on real PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from server.store import tables as t
from tests.conftest import KIOSK, login

B = "/api/v1/branches/demo"


async def issue(client, service: str, **extra):
    resp = await client.post(f"{B}/tickets", json={"service": service, **extra}, headers=KIOSK)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def act(client, counter: int, action: str, body=None, status: int = 200):
    resp = await client.post(f"{B}/counters/{counter}/{action}", json=body)
    assert resp.status == status, await resp.text()
    return await resp.json()


async def events(services):
    async with services.db.read() as conn:
        rows = (await conn.execute(select(t.TicketEvent.__table__).order_by(t.TicketEvent.seq))).all()
    return [(e.seq, e.kind, e.data.get("number")) for e in rows]


async def ticket_state(services, ticket_id: int) -> str:
    async with services.db.read() as conn:
        return (await conn.execute(select(t.Ticket.state).where(t.Ticket.id == ticket_id))).scalar_one()


async def test_ticket_goes_from_kiosk_through_counter_to_rating(demo):
    c, clock = demo.client, demo.clock
    a1 = await issue(c, "A")
    a2 = await issue(c, "A")
    assert (a1["number"], a1["ahead"]) == ("A001", 0)
    assert (a2["number"], a2["ahead"]) == ("A002", 1)

    public = await (await c.get(f"/api/v1/tickets/{a2['token']}")).json()
    assert public["state"] == "waiting" and public["ahead"] == 1 and public["counter"] is None

    await login(c, "teller3")
    opened = await act(c, 3, "open")
    assert opened["counter"]["state"] == "open" and opened["counter"]["staff"] == "teller3"

    clock.advance(minutes=2)
    called = await act(c, 3, "call-next")
    assert called["ticket"]["number"] == "A001" and called["ticket"]["state"] == "called"
    assert called["counter"]["current"]["number"] == "A001"

    await act(c, 3, "recall")
    started = await act(c, 3, "start")
    assert started["ticket"]["state"] == "serving"
    clock.advance(minutes=4)
    finished = await act(c, 3, "finish")
    assert finished["ticket"]["state"] == "done"
    assert finished["counter"]["current"] is None

    rated = await c.post(f"/api/v1/tickets/{a1['token']}/feedback", json={"score": 5, "tags": ["fast"]})
    assert rated.status == 201, await rated.text()
    public = await (await c.get(f"/api/v1/tickets/{a1['token']}")).json()
    assert public["state"] == "done" and public["feedback_given"] and public["counter"] == 3

    # A002 is now first in line, and its holder sees the counter once called.
    assert (await (await c.get(f"/api/v1/tickets/{a2['token']}")).json())["ahead"] == 0
    await act(c, 3, "call-next")
    public = await (await c.get(f"/api/v1/tickets/{a2['token']}")).json()
    assert public["state"] == "called" and public["counter"] == 3

    log = await events(demo.services)
    assert [seq for seq, _, _ in log] == list(range(1, len(log) + 1)), "seq is gapless"
    assert [kind for _, kind, _ in log] == [
        "ticket.issued", "ticket.issued", "counter.opened", "ticket.called", "ticket.recalled",
        "ticket.started", "ticket.finished", "feedback.given", "ticket.called",
    ]


async def test_call_next_finishes_the_current_ticket_in_the_same_step(demo):
    c = demo.client
    await issue(c, "B")
    await issue(c, "B")
    await login(c, "teller2")
    await act(c, 2, "open")
    first = await act(c, 2, "call-next")
    second = await act(c, 2, "call-next", {"expect": first["ticket"]["id"]})
    assert second["ticket"]["number"] == "B002"
    assert await ticket_state(demo.services, first["ticket"]["id"]) == "done"
    empty = await act(c, 2, "call-next", {"expect": second["ticket"]["id"]})
    assert empty["ticket"] is None


async def test_green_channel_ticket_draws_from_g_series_and_is_called_first(demo):
    c = demo.client
    await issue(c, "A")
    green = await issue(c, "A", priority="green", green_reason="elderly")
    assert green["number"] == "G001" and green["ahead"] == 0
    await login(c, "teller3")
    await act(c, 3, "open")
    called = await act(c, 3, "call-next")
    assert called["ticket"]["number"] == "G001"


async def test_no_show_can_come_back_within_grace_time(demo):
    c, clock = demo.client, demo.clock
    await issue(c, "D")
    await issue(c, "D")
    await login(c, "teller5")
    await act(c, 5, "open")
    called = await act(c, 5, "call-next")
    missed = await act(c, 5, "no-show")
    assert missed["ticket"]["state"] == "no_show"
    clock.advance(minutes=3)
    resp = await c.post(f"{B}/tickets/{called['ticket']['id']}/requeue", json={"position": "first"})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["state"] == "waiting"
    again = await act(c, 5, "call-next")
    assert again["ticket"]["number"] == "D001", "requeued first, ahead of D002"


async def test_no_show_past_grace_time_cannot_be_requeued(demo):
    c, clock = demo.client, demo.clock
    await issue(c, "D")
    await login(c, "teller5")
    await act(c, 5, "open")
    called = await act(c, 5, "call-next")
    await act(c, 5, "no-show")
    clock.advance(minutes=11)
    resp = await c.post(f"{B}/tickets/{called['ticket']['id']}/requeue")
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "grace_expired"


async def test_transfer_to_another_service_keeps_the_number_and_goes_to_its_queue(demo):
    c = demo.client
    a = await issue(c, "A")
    await issue(c, "C")
    await login(c, "teller3")
    await act(c, 3, "open")
    await act(c, 3, "call-next")
    moved = await act(c, 3, "transfer", {"service": "C", "position": "first"})
    assert moved["ticket"]["number"] == a["number"]
    assert moved["ticket"]["service"] == "C" and moved["ticket"]["state"] == "waiting"
    queue = await (await c.get(f"{B}/queue", params={"counter": 4})).json()
    assert [e["number"] for e in queue["tickets"]] == ["A001", "C001"], "placed first in C's queue"


async def test_transfer_to_a_counter_is_only_that_counters_to_call(demo):
    c = demo.client
    await issue(c, "A")
    await issue(c, "A")
    await login(c, "teller3")
    await act(c, 3, "open")
    await act(c, 3, "call-next")
    await act(c, 3, "transfer", {"counter": 5, "position": "last"})
    # Counter 3 takes A002 next, not the ticket it sent to counter 5.
    nxt = await act(c, 3, "call-next")
    assert nxt["ticket"]["number"] == "A002"
    await login(c, "teller5")
    await act(c, 5, "open")
    taken = await act(c, 5, "call-next")
    assert taken["ticket"]["number"] == "A001" and taken["ticket"]["counter"] == 5


async def test_teller_calls_a_chosen_ticket_by_number(demo):
    c = demo.client
    await issue(c, "A")
    await issue(c, "B")
    await login(c, "teller3")
    await act(c, 3, "open")
    chosen = await act(c, 3, "call", {"ticket": "B001"})
    assert chosen["ticket"]["number"] == "B001"


async def test_customer_cancels_a_waiting_ticket(demo):
    c = demo.client
    a = await issue(c, "A")
    resp = await c.post(f"/api/v1/tickets/{a['token']}/cancel")
    assert resp.status == 200
    assert (await resp.json())["state"] == "cancelled"
    await login(c, "teller3")
    await act(c, 3, "open")
    assert (await act(c, 3, "call-next"))["ticket"] is None


async def test_paused_counter_calls_no_one_until_reopened(demo):
    c = demo.client
    await issue(c, "A")
    await login(c, "teller3")
    await act(c, 3, "open")
    paused = await act(c, 3, "pause", {"reason": "lunch"})
    assert paused["counter"]["state"] == "paused" and paused["counter"]["pause_reason"] == "lunch"
    await act(c, 3, "call-next", status=409)
    await act(c, 3, "open")
    assert (await act(c, 3, "call-next"))["ticket"]["number"] == "A001"
    await act(c, 3, "finish")
    closed = await act(c, 3, "close")
    assert closed["counter"]["state"] == "closed" and closed["counter"]["staff"] is None


async def test_queue_lists_waiting_tickets_in_call_order(demo):
    c, clock = demo.client, demo.clock
    await issue(c, "A")
    clock.advance(seconds=10)
    await issue(c, "B")
    clock.advance(seconds=10)
    await issue(c, "A", priority="green", green_reason="disabled")
    await login(c, "manager")
    queue = await (await c.get(f"{B}/queue")).json()
    assert [e["number"] for e in queue["tickets"]] == ["G001", "A001", "B001"]
    for_counter_2 = await (await c.get(f"{B}/queue", params={"counter": 2})).json()
    assert [e["number"] for e in for_counter_2["tickets"]] == ["G001", "B001", "A001"]


async def test_services_list_counts_waiting_and_open_counters(demo):
    c = demo.client
    await issue(c, "A")
    await issue(c, "A")
    await login(c, "teller3")
    await act(c, 3, "open")
    services = {s["code"]: s for s in await (await c.get(f"{B}/services")).json()}
    assert services["A"]["waiting"] == 2 and services["A"]["open_counters"] == 1
    assert services["A"]["estimated_wait_s"] == 2 * 240, "two ahead × target service time ÷ 1 counter"
    assert services["D"]["waiting"] == 0 and services["D"]["available"]


async def test_a_second_teller_at_a_held_counter_is_refused_by_name_and_a_manager_takes_over(demo):
    from aiohttp.test_utils import TestClient

    from server.services import auth

    await auth.add_staff(demo.services, username="float1", password="demo-pass", role="teller",
                         branch_id="demo", counters=[1, 2])
    await login(demo.client, "teller1")
    await act(demo.client, 1, "open")
    other = TestClient(demo.client.server)
    await other.start_server()
    try:
        await login(other, "float1")
        refused = await act(other, 1, "open", status=409)
        assert refused["error"]["code"] == "counter_held"
        assert refused["error"]["message"] == "counter 1 is held by teller1"
        await login(other, "manager")
        taken = await act(other, 1, "open")
        assert taken["counter"]["staff"] == "manager"
        await act(demo.client, 1, "call-next", status=403)
    finally:
        await other.close()


async def test_a_stale_counter_command_answers_409_with_the_counter_as_it_is(demo):
    """The HTTP shape of ``expect``: 409 ``stale``, the counter's state beside code and message."""
    c = demo.client
    await login(c, "teller3")
    await act(c, 3, "open")
    resp = await c.post(f"{B}/counters/3/finish", json={"expect": 42})
    assert resp.status == 409, await resp.text()
    body = await resp.json()
    assert set(body) == {"error"} and body["error"]["code"] == "stale"
    assert body["error"]["counter"]["number"] == 3 and body["error"]["counter"]["current"] is None
