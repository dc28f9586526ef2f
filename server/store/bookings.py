"""Bookings in the tables: the slots' places, the bookings, their messages, remote tickets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from . import tables as t

SLOT, BOOKING, MESSAGE, REMOTE = (
    t.BookingSlot.__table__, t.Booking.__table__, t.BookingMessage.__table__, t.RemoteTicket.__table__,
)
TICKET = t.Ticket.__table__


async def take_place(conn: AsyncConnection, branch_id: str, service_id: int, start: datetime, capacity: int) -> bool:
    """Take one place of the slot if one is free; False when the slot is full.

    The slot's row is made on first use (a concurrent maker is ignored), then one
    conditional update takes the place: under PostgreSQL's row lock the second of two
    writers re-reads ``booked`` after the first commits, so no more than ``capacity``
    ever succeed.
    """
    values = {"branch_id": branch_id, "service_id": service_id, "start": start, "booked": 0}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    await conn.execute(dialect.insert(SLOT).values(**values).on_conflict_do_nothing())
    result = await conn.execute(
        update(SLOT)
        .where(SLOT.c.branch_id == branch_id, SLOT.c.service_id == service_id, SLOT.c.start == start,
               SLOT.c.booked < capacity)
        .values(booked=SLOT.c.booked + 1)
    )
    return bool(result.rowcount)


async def give_place(conn: AsyncConnection, branch_id: str, service_id: int, start: datetime) -> None:
    """Give back one place of the slot (a cancelled or moved booking)."""
    await conn.execute(
        update(SLOT)
        .where(SLOT.c.branch_id == branch_id, SLOT.c.service_id == service_id, SLOT.c.start == start,
               SLOT.c.booked > 0)
        .values(booked=SLOT.c.booked - 1)
    )


async def places_taken(conn: AsyncConnection, branch_id: str, service_id: int,
                       starts: Sequence[datetime]) -> dict[datetime, int]:
    """Slot start → places taken, for those of ``starts`` that have any."""
    if not starts:
        return {}
    rows = await conn.execute(
        select(SLOT.c.start, SLOT.c.booked)
        .where(SLOT.c.branch_id == branch_id, SLOT.c.service_id == service_id, SLOT.c.start.in_(list(starts)))
    )
    return {start: booked for start, booked in rows.all()}


async def insert_booking(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return int((await conn.execute(insert(BOOKING).values(**values).returning(BOOKING.c.id))).scalar_one())


async def update_booking(conn: AsyncConnection, booking_id: int, **values: Any) -> None:
    await conn.execute(update(BOOKING).where(BOOKING.c.id == booking_id).values(**values))


def _locked(query: Any, conn: AsyncConnection, lock: bool) -> Any:
    return query.with_for_update() if lock and conn.dialect.name == "postgresql" else query


async def by_token(conn: AsyncConnection, token: str, *, lock: bool = False) -> Any:
    return (await conn.execute(_locked(select(BOOKING).where(BOOKING.c.token == token), conn, lock))).first()


async def by_code(conn: AsyncConnection, branch_id: str, code: str, *, lock: bool = False) -> Any:
    query = select(BOOKING).where(BOOKING.c.branch_id == branch_id, BOOKING.c.code == code)
    return (await conn.execute(_locked(query, conn, lock))).first()


async def by_ticket(conn: AsyncConnection, ticket_id: int) -> Any:
    return (await conn.execute(select(BOOKING).where(BOOKING.c.ticket_id == ticket_id))).first()


async def code_taken(conn: AsyncConnection, branch_id: str, code: str) -> bool:
    row = (await conn.execute(
        select(BOOKING.c.id).where(BOOKING.c.branch_id == branch_id, BOOKING.c.code == code))).first()
    return row is not None


async def contact_holds(conn: AsyncConnection, branch_id: str, contact_hash: str, day: date,
                        now: datetime) -> tuple[int, int]:
    """Bookings this contact holds (booked, not over): on ``day``, and upcoming in all."""
    live = (BOOKING.c.branch_id == branch_id) & (BOOKING.c.contact_hash == contact_hash) & (
        BOOKING.c.state == "booked") & (BOOKING.c.end > now)
    on_day = (await conn.execute(select(func.count()).where(live, BOOKING.c.day == day))).scalar_one()
    upcoming = (await conn.execute(select(func.count()).where(live))).scalar_one()
    return int(on_day), int(upcoming)


async def of_day(conn: AsyncConnection, branch_id: str, day: date) -> Sequence[Any]:
    """The day's bookings, every state, by slot."""
    return (await conn.execute(
        select(BOOKING).where(BOOKING.c.branch_id == branch_id, BOOKING.c.day == day)
        .order_by(BOOKING.c.start, BOOKING.c.id)
    )).all()


async def between(conn: AsyncConnection, branch_id: str, first: date, last: date) -> Sequence[Any]:
    """Bookings of the days ``first`` … ``last`` with their ticket's times (reports)."""
    return (await conn.execute(
        select(BOOKING, TICKET.c.wait_s, TICKET.c.first_called_at, TICKET.c.state.label("ticket_state"))
        .select_from(BOOKING.outerjoin(TICKET, TICKET.c.id == BOOKING.c.ticket_id))
        .where(BOOKING.c.branch_id == branch_id, BOOKING.c.day >= first, BOOKING.c.day <= last)
    )).all()


async def booked_from(conn: AsyncConnection, branch_id: str, now: datetime, *, lock: bool = False) -> Sequence[Any]:
    """Bookings still to come (booked, slot not begun)."""
    query = select(BOOKING).where(BOOKING.c.branch_id == branch_id, BOOKING.c.state == "booked",
                                  BOOKING.c.start > now)
    return (await conn.execute(_locked(query, conn, lock))).all()


async def add_message(conn: AsyncConnection, values: dict[str, Any]) -> None:
    """Record a message to send; one per key (a repeated key is the same message)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    await conn.execute(dialect.insert(MESSAGE).values(**values).on_conflict_do_nothing(index_elements=["key"]))


async def messages_of(conn: AsyncConnection, booking_id: int) -> Sequence[Any]:
    return (await conn.execute(
        select(MESSAGE).where(MESSAGE.c.booking_id == booking_id).order_by(MESSAGE.c.id))).all()


async def add_remote(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(REMOTE).values(**values))


async def remote_waiting(conn: AsyncConnection, branch_id: str, service_id: int) -> int:
    """Remote tickets of the service still waiting."""
    return int((await conn.execute(
        select(func.count()).select_from(REMOTE.join(TICKET, TICKET.c.id == REMOTE.c.ticket_id))
        .where(REMOTE.c.branch_id == branch_id, REMOTE.c.service_id == service_id, TICKET.c.state == "waiting")
    )).scalar_one())


async def remote_ids(conn: AsyncConnection, branch_id: str, day: date) -> set[int]:
    rows = await conn.execute(
        select(REMOTE.c.ticket_id).where(REMOTE.c.branch_id == branch_id, REMOTE.c.business_date == day))
    return {r for (r,) in rows.all()}


async def sealed_contacts(conn: AsyncConnection) -> Sequence[Any]:
    """Every booking that still holds a sealed contact (id, contact)."""
    return (await conn.execute(select(BOOKING.c.id, BOOKING.c.contact).where(BOOKING.c.contact.is_not(None)))).all()


async def drop_pending(conn: AsyncConnection, booking_id: int, now: datetime) -> None:
    """Forget the booking's messages not due yet (reminders of a slot it no longer holds)."""
    await conn.execute(delete(MESSAGE).where(MESSAGE.c.booking_id == booking_id, MESSAGE.c.send_at > now))


async def travel_min(conn: AsyncConnection, ticket_id: int) -> int | None:
    """The travel time a remote ticket's customer gave (None: not remote, or not given)."""
    row = (await conn.execute(select(REMOTE.c.travel_min).where(REMOTE.c.ticket_id == ticket_id))).first()
    return row.travel_min if row else None


async def erase_contacts(conn: AsyncConnection, *, before: datetime) -> int:
    """Erase the contacts (and their fingerprints) of bookings whose slot ended before ``before``."""
    result = await conn.execute(update(BOOKING).where(BOOKING.c.end < before, BOOKING.c.contact.is_not(None))
                                .values(contact=None, contact_hash=None))
    return int(result.rowcount or 0)
