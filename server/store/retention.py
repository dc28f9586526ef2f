"""The statements of retention: erase what is personal from old rows, keep the figures.

Each erasing statement takes a window ``[since, before)`` of the time its rows were
written (a ticket's issue, a rating's time, an event's time): a run picks up where the
last one stopped (:func:`erased_before`), so a daily run reads only a day of rows.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import meta
from . import tables as t

TICKET, FEEDBACK, EVENT = t.Ticket.__table__, t.Feedback.__table__, t.TicketEvent.__table__
WATERMARK = "retention_erased_before"
BATCH = 500


def _within(column: Any, since: datetime | None, before: datetime) -> ColumnElement[bool]:
    return and_(column < before, column >= since) if since is not None else column < before


async def erased_before(conn: AsyncConnection) -> datetime | None:
    """Up to when the last run erased (None: never ran)."""
    value = await meta.get(conn, WATERMARK)
    return datetime.fromisoformat(value) if value else None


async def set_erased_before(conn: AsyncConnection, before: datetime) -> None:
    await meta.put(conn, WATERMARK, before.isoformat())


async def erase_green_reasons(conn: AsyncConnection, *, since: datetime | None, before: datetime) -> int:
    """Tickets issued in the window keep their green-channel priority, lose the reason."""
    result = await conn.execute(
        update(TICKET)
        .where(TICKET.c.green_reason.is_not(None), _within(TICKET.c.issued_at, since, before))
        .values(green_reason=None)
    )
    return int(result.rowcount or 0)


async def erase_comments(conn: AsyncConnection, *, since: datetime | None, before: datetime) -> int:
    """Ratings given in the window keep their score and tags, lose the free-text comment."""
    result = await conn.execute(
        update(FEEDBACK)
        .where(FEEDBACK.c.comment != "", _within(FEEDBACK.c.at, since, before))
        .values(comment="")
    )
    return int(result.rowcount or 0)


def _without(value: Any, fields: Collection[str]) -> Any:
    """``value`` with every key in ``fields`` removed, at any depth."""
    if isinstance(value, dict):
        return {k: _without(v, fields) for k, v in value.items() if k not in fields}
    if isinstance(value, list):
        return [_without(v, fields) for v in value]
    return value


async def erase_event_fields(
    conn: AsyncConnection, fields: Collection[str], *, since: datetime | None, before: datetime
) -> int:
    """Events of the window lose the keys ``fields`` from their data; how many changed.

    The data is JSON on both databases: its text is searched for the keys' names, so
    only events that may hold one are read and rewritten, a batch at a time.
    """
    mentions = or_(*(cast(EVENT.c.data, Text).like(f'%"{name}"%') for name in fields))
    changed, after_id = 0, 0
    while True:
        rows = (
            await conn.execute(
                select(EVENT.c.id, EVENT.c.data)
                .where(_within(EVENT.c.at, since, before), mentions, EVENT.c.id > after_id)
                .order_by(EVENT.c.id)
                .limit(BATCH)
            )
        ).all()
        for row in rows:
            kept = _without(row.data, fields)
            if kept != row.data:
                await conn.execute(update(EVENT).where(EVENT.c.id == row.id).values(data=kept))
                changed += 1
        if len(rows) < BATCH:
            return changed
        after_id = rows[-1].id
