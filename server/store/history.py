"""Bulk writes of past days (``branchq simulate``, the demo's history): tickets, feedback, events.

Weeks of a busy branch are hundreds of thousands of rows, so each list goes in as
few multi-row statements as the drivers allow (one ``executemany`` per
:data:`ROWS_PER_STATEMENT` rows) instead of one statement a row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import tables as t

ROWS_PER_STATEMENT = 5000
TICKET, FEEDBACK, EVENT = t.Ticket.__table__, t.Feedback.__table__, t.TicketEvent.__table__


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        yield rows[start : start + ROWS_PER_STATEMENT]


async def has_tickets(conn: AsyncConnection, branch_id: str) -> bool:
    """Whether the branch has issued any ticket (live or past)."""
    return bool(await conn.scalar(select(exists().where(TICKET.c.branch_id == branch_id))))


async def insert_tickets(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert ticket rows; their ids, in the order of ``rows``."""
    ids: list[int] = []
    for chunk in _chunks(rows):
        result = await conn.execute(insert(TICKET).returning(TICKET.c.id, sort_by_parameter_order=True), chunk)
        ids.extend(result.scalars())
    return ids


async def insert_feedback(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    for chunk in _chunks(rows):
        await conn.execute(insert(FEEDBACK), chunk)


async def insert_events(conn: AsyncConnection, branch_id: str, rows: Sequence[dict[str, Any]]) -> None:
    """Write events that already carry their ``seq``, and move the branch's ``event_seq`` to the last.

    Unlike :func:`~.repository.append_events` nothing is numbered or announced: past
    days are written before the branch has any ticket (its only events may be, say,
    complaint cases of the demo, which the past days' numbers follow).
    """
    for chunk in _chunks(rows):
        await conn.execute(insert(EVENT), chunk)
    if rows:
        branch = t.Branch.__table__
        last = max(row["seq"] for row in rows)
        await conn.execute(update(branch).where(branch.c.id == branch_id).values(event_seq=last))


async def past_customers(conn: AsyncConnection, branch_id: str, first: date, last: date) -> Sequence[Any]:
    """Every ticket of the days from ``first`` to ``last``: day, issue time, service id, class, the
    service time it had (None if never served) and its target wait (for the staffing what-if)."""
    return (
        await conn.execute(
            select(TICKET.c.business_date, TICKET.c.issued_at, TICKET.c.service_id, TICKET.c.priority,
                   TICKET.c.service_s, TICKET.c.target_wait_s)
            .where(TICKET.c.branch_id == branch_id, TICKET.c.business_date >= first,
                   TICKET.c.business_date <= last)
            .order_by(TICKET.c.issued_at, TICKET.c.id)
        )
    ).all()


async def replayed_arrivals(conn: AsyncConnection, branch_id: str, first: date, last: date) -> Sequence[Any]:
    """The period's tickets as arrivals to replay: day, issue time, service code, class, green reason."""
    service = t.Service.__table__
    return (
        await conn.execute(
            select(TICKET.c.business_date, TICKET.c.issued_at, service.c.code, TICKET.c.priority,
                   TICKET.c.green_reason)
            .select_from(TICKET.join(service, service.c.id == TICKET.c.service_id))
            .where(TICKET.c.branch_id == branch_id, TICKET.c.business_date >= first,
                   TICKET.c.business_date <= last)
            .order_by(TICKET.c.issued_at, TICKET.c.id)
        )
    ).all()


async def recent_service_times(conn: AsyncConnection, branch_id: str, first: date, last: date) -> Sequence[Any]:
    """Service code and service time of the period's served tickets."""
    service = t.Service.__table__
    return (
        await conn.execute(
            select(service.c.code, TICKET.c.service_s)
            .select_from(TICKET.join(service, service.c.id == TICKET.c.service_id))
            .where(TICKET.c.branch_id == branch_id, TICKET.c.business_date >= first,
                   TICKET.c.business_date <= last, TICKET.c.service_s.is_not(None))
            .order_by(TICKET.c.id)
        )
    ).all()
