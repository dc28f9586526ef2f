"""Who holds which counter, and when they were last seen: the statements behind
:mod:`server.domain.attendance`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.attendance import HeldCounter

from . import tables as t

COUNTER = t.Counter.__table__
TICKET = t.Ticket.__table__
SESSION = t.StaffSession.__table__

_HELD = (
    select(
        COUNTER.c.id, COUNTER.c.branch_id, COUNTER.c.number, COUNTER.c.state, COUNTER.c.staff_id,
        COUNTER.c.state_since, COUNTER.c.pause_code, TICKET.c.state.label("ticket_state"),
    )
    .outerjoin(TICKET, TICKET.c.id == COUNTER.c.current_ticket_id)
    .where(COUNTER.c.staff_id.is_not(None), COUNTER.c.retired.is_(False), COUNTER.c.state != "closed")
    .order_by(COUNTER.c.branch_id, COUNTER.c.number)
)


async def held_counters(
    conn: AsyncConnection, *, staff_id: int | None = None, branch_id: str | None = None
) -> list[tuple[str, HeldCounter]]:
    """Counters open or paused under someone (``staff_id``'s only, ``branch_id``'s only), with their branch."""
    query = _HELD
    if staff_id is not None:
        query = query.where(COUNTER.c.staff_id == staff_id)
    if branch_id is not None:
        query = query.where(COUNTER.c.branch_id == branch_id)
    return [(row.branch_id, _held(row)) for row in (await conn.execute(query)).all()]


def _held(row: Any) -> HeldCounter:
    return HeldCounter(
        id=row.id, number=row.number, state=row.state, staff_id=row.staff_id,
        state_since=row.state_since, pause_code=row.pause_code, ticket_state=row.ticket_state,
    )


async def last_seen(conn: AsyncConnection, staff_ids: Iterable[int], now: datetime) -> dict[int, datetime]:
    """Each account's latest ``last_seen_at`` over its sessions in force (absent: none in force)."""
    ids = sorted(set(staff_ids))
    if not ids:
        return {}
    rows: Sequence[Any] = (
        await conn.execute(
            select(SESSION.c.staff_id, func.max(SESSION.c.last_seen_at))
            .where(SESSION.c.staff_id.in_(ids), SESSION.c.ended_at.is_(None), SESSION.c.expires_at > now)
            .group_by(SESSION.c.staff_id)
        )
    ).all()
    # max() keeps the column's type (ReturnTypeFromArgs), so the values come back aware UTC.
    return {staff_id: seen for staff_id, seen in rows if seen is not None}
