"""What a customer is told about the wait, when someone serves and when nobody does.

The rule (``server.domain.estimation``): the estimate plays the branch's call-next forward
over who waits and the open counters; with no counter open that may call the ticket there
is no estimate at all
(``estimated_wait_s`` None, ``no_counter_open`` true), never "no wait". A ticket may still
be taken then. A service that no counter's profile contains is not offered, and issuing it
is refused with 409 ``no_counter_serves``.
"""

from __future__ import annotations

from server.protocol import PauseCounter, Transfer
from server.services import admin, counters, devices, queries, tickets
from server.store import repository as repo

from .conftest import World


async def offered(w: World) -> dict:
    return {s.code: s for s in await queries.list_services(w.app, await w.device("kiosk"), "demo")}


async def open_counter(w: World, number: int) -> None:
    await counters.open_counter(w.app, await w.staff(f"teller{number}"), "demo", number)


async def test_with_no_counter_open_the_kiosk_offers_no_estimate_instead_of_no_wait(world: World):
    services = await offered(world)
    assert all(s.no_counter_open and s.estimated_wait_s is None for s in services.values())
    assert services["A"].available  # taking a ticket is still allowed

    issued = await world.issue("A")
    assert issued.estimated_wait_s is None and issued.no_counter_open
    phone = await tickets.public_ticket(world.app, issued.token)
    assert phone.estimated_wait_s is None and phone.no_counter_open

    await open_counter(world, 3)
    services = await offered(world)
    assert not services["A"].no_counter_open and services["A"].estimated_wait_s == 240  # one ahead × 4 min
    assert services["D"].no_counter_open  # counter 5 alone serves D, and it is closed
    phone = await tickets.public_ticket(world.app, issued.token)
    assert phone.estimated_wait_s == 0 and not phone.no_counter_open


async def test_a_paused_counter_is_not_an_open_one(world: World):
    await open_counter(world, 3)
    await counters.pause_counter(world.app, await world.staff("teller3"), "demo", 3, PauseCounter(reason="lunch"))
    issued = await world.issue("C")  # C: counters 3 and 4, one paused, one closed
    assert issued.no_counter_open and issued.estimated_wait_s is None


async def test_a_ticket_transferred_to_a_service_whose_only_counter_is_closed_has_no_estimate(world: World):
    ticket = await world.issue("A")
    await open_counter(world, 3)
    await counters.call_next(world.app, await world.staff("teller3"), "demo", 3)
    await counters.transfer(world.app, await world.staff("teller3"), "demo", 3, Transfer(service="D"))

    phone = await tickets.public_ticket(world.app, ticket.token)
    assert (phone.state, phone.ahead) == ("waiting", 0)
    assert phone.estimated_wait_s is None and phone.no_counter_open  # not "0 ahead · any moment now"

    await open_counter(world, 5)
    phone = await tickets.public_ticket(world.app, ticket.token)
    assert phone.estimated_wait_s == 0 and not phone.no_counter_open


async def test_a_ticket_sent_to_a_closed_counter_has_no_estimate_though_its_service_is_served(world: World):
    ticket = await world.issue("A")
    await open_counter(world, 3)
    await counters.call_next(world.app, await world.staff("teller3"), "demo", 3)
    await counters.transfer(world.app, await world.staff("teller3"), "demo", 3, Transfer(counter=4))

    phone = await tickets.public_ticket(world.app, ticket.token)
    assert phone.no_counter_open and phone.estimated_wait_s is None  # counter 3 is open, 4 is not

    await open_counter(world, 4)
    assert not (await tickets.public_ticket(world.app, ticket.token)).no_counter_open


async def test_a_service_no_counter_serves_is_not_offered_and_cannot_be_issued(world: World):
    await admin.update_counter(world.app, await world.staff("admin"), "demo", 5, {"services": ["A"]})
    services = await offered(world)
    assert not services["D"].available and services["D"].unavailable_reason == "no_counter_serves"
    assert services["A"].available

    refusal = await world.refused("no_counter_serves", lambda: world.issue("D"))
    assert "D" in refusal.message


async def test_a_repeated_request_gives_the_same_answer_without_an_estimate(world: World):
    kiosk = await world.device("kiosk")
    cmd = tickets.IssueTicket(service="B")
    first = await tickets.issue_ticket(world.app, kiosk, "demo", cmd, idempotency_key="k-1")
    await open_counter(world, 2)  # an estimate now exists, but the answer given stays as it was
    again = await tickets.issue_ticket(world.app, kiosk, "demo", cmd, idempotency_key="k-1")
    assert again == first
    assert again.no_counter_open and again.estimated_wait_s is None


async def test_the_printed_ticket_has_no_estimate_either_when_no_counter_was_open(world: World):
    await open_counter(world, 3)
    served = await world.issue("A")
    unserved = await world.issue("D")
    jobs = {j.number: j for j in await devices.tickets_to_print(world.app, await world.device("kiosk"), after_id=0)}
    assert jobs[served.number].estimated_wait_s == 0
    assert jobs[unserved.number].estimated_wait_s is None


async def test_a_closed_service_says_when_it_opens_next_in_the_branch_zone(world: World):
    # The world's clock: Monday 09:30 in Shanghai. D opens in the afternoon only.
    afternoons = {d: [["14:00", "16:30"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    await admin.update_service(world.app, await world.staff("admin"), "demo", "D", {"hours": afternoons})
    services = await offered(world)
    assert services["D"].unavailable_reason == "closed"
    assert services["D"].opens_at is not None and services["D"].opens_at.isoformat() == "2026-03-02T14:00:00+08:00"
    assert services["A"].available and services["A"].opens_at is None


# --- "no estimate" in the store and in the reports -------------------------------------------


async def test_a_ticket_issued_without_an_estimate_is_stored_with_none_not_a_sentinel(world: World):
    issued = await world.issue("A")  # no counter open
    async with world.app.db.read() as conn:
        row = await repo.ticket_by_id(conn, issued.id)
    assert row.estimated_wait_s is None



async def test_the_phone_page_estimate_follows_the_queue_and_the_counters(world: World):
    """The phone reads its ticket again on every event of the branch; each read projects afresh."""
    await open_counter(world, 3)  # A, B, C
    await world.issue("A")
    await world.issue("A")
    mine = await world.issue("A")
    assert mine.estimated_wait_s == 480  # two ahead at one counter, 4 minutes each
    phone = lambda: tickets.public_ticket(world.app, mine.token)  # noqa: E731

    await world.issue("A", priority="green", green_reason="elderly")
    behind_green = (await phone()).estimated_wait_s
    assert behind_green >= 720  # a green customer came after, and goes first (and more are expected)

    await open_counter(world, 2)  # B, A: a second counter takes A
    two_counters = (await phone()).estimated_wait_s
    assert two_counters <= 480 < behind_green

    await counters.close_counter(world.app, await world.staff("teller2"), "demo", 2)
    assert (await phone()).estimated_wait_s == behind_green  # back to one counter
    await counters.call_next(world.app, await world.staff("teller3"), "demo", 3)
    world.clock.advance(seconds=120)  # the green customer has been at the counter for two minutes
    assert (await phone()).estimated_wait_s == behind_green - 120


async def test_the_kiosk_shows_the_estimate_the_ticket_then_gets(world: World):
    await open_counter(world, 3)
    await open_counter(world, 4)  # C first, then A
    for code in ("A", "A", "C", "B", "A"):
        await world.issue(code)
    await world.issue("A", priority="green", green_reason="elderly")
    for code in ("A", "B", "C"):
        shown = (await offered(world))[code].estimated_wait_s
        assert shown is not None and (await world.issue(code)).estimated_wait_s == shown
