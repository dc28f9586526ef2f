"""The appointments part of the summary report: share, punctuality, no-shows, waits against walk-ins.

The rules are :func:`server.domain.slots.figures`; this reads the rows they need.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.numbering import APPOINTMENT_SERIES
from server.domain.slots import AppointmentRules, BookingState, Outcome, figures
from server.store import tables as t

BOOKING, TICKET = t.Booking.__table__, t.Ticket.__table__


async def appointment_figures(conn: AsyncConnection, branch_id: str, first: date, last: date, *,
                              now: datetime, rules: AppointmentRules) -> dict[str, Any]:
    """The appointment figures of the business days ``first`` … ``last``."""
    rows = (await conn.execute(
        select(BOOKING.c.state, BOOKING.c.start, BOOKING.c.end, BOOKING.c.on_time, BOOKING.c.checked_in_at,
               TICKET.c.first_called_at)
        .select_from(BOOKING.outerjoin(TICKET, TICKET.c.id == BOOKING.c.ticket_id))
        .where(BOOKING.c.branch_id == branch_id, BOOKING.c.day >= first, BOOKING.c.day <= last)
    )).all()
    in_period = (TICKET.c.branch_id == branch_id) & (TICKET.c.business_date >= first) & (
        TICKET.c.business_date <= last)
    tickets = (await conn.execute(select(func.count()).where(in_period))).scalar_one()
    waits = (await conn.execute(select(TICKET.c.wait_s).where(
        in_period, TICKET.c.series != APPOINTMENT_SERIES, TICKET.c.wait_s.is_not(None)))).scalars().all()
    # The columns are UTCDateTime: aware instants on SQLite too.
    outcomes = [Outcome(BookingState(r.state), r.start, r.end, r.on_time, r.checked_in_at, r.first_called_at)
                for r in rows]
    return figures(outcomes, tickets=int(tickets), walk_in_waits=[int(w) for w in waits], now=now, rules=rules)

