"""Retention: a ticket's token ends with its business day; green-channel reasons and comments
are erased after the retention period, the anonymous figures kept."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from server.domain.errors import InvalidInput
from server.protocol import FeedbackIn
from server.services import counters, retention, tickets
from server.store import tables as t

from .conftest import World


async def served_with_comment(w: World) -> tuple[str, int]:
    """A green-channel ticket (elderly) served at counter 1 and rated with a comment: (token, id)."""
    issued = await w.issue("A", priority="green", green_reason="elderly")
    teller = await w.staff("teller1")
    await counters.open_counter(w.app, teller, "demo", 1)
    await counters.call_next(w.app, teller, "demo", 1)
    w.clock.advance(minutes=3)
    await counters.finish(w.app, teller, "demo", 1)
    await tickets.give_feedback(w.app, issued.token, FeedbackIn(score=2, tags=["slow"], comment="my knee hurts"))
    return issued.token, issued.id


# --- tokens end with the business day -------------------------------------------------


async def test_a_tickets_page_works_all_its_business_day(world: World):
    issued = await world.issue("A")
    world.clock.advance(hours=14)  # 23:30 in Shanghai, the same day
    assert (await tickets.public_ticket(world.app, issued.token)).number == issued.number


async def test_a_tickets_token_stops_working_when_its_business_day_ends(world: World):
    issued = await world.issue("A")
    world.clock.advance(hours=15)  # 00:30 the next day in Shanghai
    await world.refused("ticket_expired", lambda: tickets.public_ticket(world.app, issued.token))
    await world.refused("ticket_expired", lambda: tickets.cancel_ticket(world.app, issued.token))


async def test_a_served_ticket_can_no_longer_be_rated_the_next_day(world: World):
    issued = await world.issue("A")
    teller = await world.staff("teller3")
    await counters.open_counter(world.app, teller, "demo", 3)
    await counters.call_next(world.app, teller, "demo", 3)
    await counters.finish(world.app, teller, "demo", 3)
    world.clock.advance(days=1)
    await world.refused("ticket_expired", lambda: tickets.give_feedback(world.app, issued.token, FeedbackIn(score=5)))


# --- green-channel reasons and comments are erased, the figures kept ---------------------


async def add_event_holding(w: World, ticket_id: int) -> None:
    """An event whose data holds a reason and a comment (as another kind of event may)."""
    async with w.app.unit_of_work(None) as uow:
        await uow.conn.execute(insert(t.TicketEvent).values(
            branch_id="demo", seq=10_000, kind="ticket.issued", at=uow.now, ticket_id=ticket_id,
            data={"number": "G001", "green_reason": "pregnant", "confirmed": {"comment": "seen her card"}},
        ))


async def personal_data(w: World, ticket_id: int) -> tuple:
    async with w.app.db.read() as conn:
        reason, priority, wait = (await conn.execute(
            select(t.Ticket.green_reason, t.Ticket.priority, t.Ticket.service_s).where(t.Ticket.id == ticket_id)
        )).one()
        comment, score, tags = (await conn.execute(
            select(t.Feedback.comment, t.Feedback.score, t.Feedback.tags).where(t.Feedback.ticket_id == ticket_id)
        )).one()
        data = (await conn.execute(select(t.TicketEvent.data).where(t.TicketEvent.seq == 10_000))).scalar_one()
    return reason, comment, data, (priority, wait, score, tags)


async def test_green_reasons_and_comments_are_erased_after_the_period_and_the_figures_kept(world: World):
    _, ticket_id = await served_with_comment(world)
    await add_event_holding(world, ticket_id)

    world.clock.advance(days=89)
    assert (await retention.erase_expired(world.app, days=90)).total == 0, "not yet due"
    assert (await personal_data(world, ticket_id))[:2] == ("elderly", "my knee hurts")

    world.clock.advance(days=2)
    erased = await retention.erase_expired(world.app, days=90)
    assert (erased.green_reasons, erased.comments, erased.events) == (1, 1, 1)
    reason, comment, data, figures = await personal_data(world, ticket_id)
    assert (reason, comment) == (None, "")
    assert data == {"number": "G001", "confirmed": {}}
    assert figures == ("green", 180, 2, ["slow"])

    assert (await retention.erase_expired(world.app, days=90)).total == 0, "a second run finds nothing"


async def test_recent_records_keep_their_reasons_and_comments(world: World):
    _, old_id = await served_with_comment(world)
    world.clock.advance(days=60)
    recent = await world.issue("B", priority="green", green_reason="disabled")
    world.clock.advance(days=31)
    erased = await retention.erase_expired(world.app, days=90)
    assert (erased.green_reasons, erased.comments) == (1, 1)
    async with world.app.db.read() as conn:
        assert (await conn.execute(select(t.Ticket.green_reason).where(t.Ticket.id == recent.id))).scalar_one() \
            == "disabled"


async def test_the_retention_period_is_at_least_a_day(world: World):
    with pytest.raises(InvalidInput):
        await retention.erase_expired(world.app, days=0)
