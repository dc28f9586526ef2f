"""The outbox of notifications and customers' wishes to be told, in the tables.

Claiming is one statement on both databases: an UPDATE of the due rows chosen by a
sub-select, returning them. On PostgreSQL the sub-select locks its rows ``FOR UPDATE SKIP
LOCKED``, so two processes claiming at once take different rows and neither waits; on SQLite
the database has one writer at a time and the statement's own condition (not claimed, or
its claim run out) decides. A claim lasts until ``claimed_until``: a worker that dies while
sending leaves the message to be claimed again once the claim has run out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from . import tables as t

OUTBOX, WISH = t.OutboxMessage.__table__, t.NotifyWish.__table__


async def insert_message(conn: AsyncConnection, values: dict[str, Any]) -> int | None:
    """Insert the message unless its key is there already; its id, or None when it was."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(OUTBOX).values(**values).on_conflict_do_nothing(index_elements=["key"]).returning(OUTBOX.c.id)
    )
    found = (await conn.execute(statement)).scalar_one_or_none()
    return int(found) if found is not None else None


async def claim(
    conn: AsyncConnection, *, now: datetime, until: datetime, channels: Sequence[str], limit: int
) -> Sequence[Any]:
    """Claim up to ``limit`` due messages of ``channels`` until ``until``; the claimed rows."""
    due = (
        select(OUTBOX.c.id)
        .where(
            OUTBOX.c.state == "pending",
            OUTBOX.c.next_attempt_at <= now,
            OUTBOX.c.channel.in_(list(channels)),
            or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < now),
        )
        .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    statement = (
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(due.scalar_subquery()),
               or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < now))
        .values(claimed_until=until, attempts=OUTBOX.c.attempts + 1)
        .returning(*OUTBOX.c)
    )
    return (await conn.execute(statement)).all()


async def finish(conn: AsyncConnection, message_id: int, claimed_until: datetime, **values: Any) -> bool:
    """Record an attempt's outcome, if the claim is still this worker's (it has not run out and been taken)."""
    statement = (
        update(OUTBOX)
        .where(OUTBOX.c.id == message_id, OUTBOX.c.claimed_until == claimed_until)
        .values(claimed_until=None, **values)
    )
    return bool((await conn.execute(statement)).rowcount)


async def message(conn: AsyncConnection, message_id: int) -> Any:
    return (await conn.execute(select(OUTBOX).where(OUTBOX.c.id == message_id))).first()


async def message_by_key(conn: AsyncConnection, key: str) -> Any:
    return (await conn.execute(select(OUTBOX).where(OUTBOX.c.key == key))).first()


async def messages(
    conn: AsyncConnection, *, states: Sequence[str] | None = None, branch_ids: Sequence[str] | None = None,
    channels: Sequence[str] | None = None, limit: int = 200,
) -> Sequence[Any]:
    query = select(OUTBOX)
    if states is not None:
        query = query.where(OUTBOX.c.state.in_(list(states)))
    if branch_ids is not None:
        query = query.where(OUTBOX.c.branch_id.in_(list(branch_ids)))
    if channels is not None:
        query = query.where(OUTBOX.c.channel.in_(list(channels)))
    return (await conn.execute(query.order_by(OUTBOX.c.id.desc()).limit(limit))).all()


async def revive(conn: AsyncConnection, message_id: int, now: datetime) -> bool:
    """A dead (or still pending) message is due again now, with a fresh count of attempts."""
    statement = (
        update(OUTBOX)
        .where(OUTBOX.c.id == message_id, OUTBOX.c.state.in_(["dead", "pending"]))
        .values(state="pending", attempts=0, next_attempt_at=now, claimed_until=None)
    )
    return bool((await conn.execute(statement)).rowcount)


async def counts(conn: AsyncConnection, *, branch_ids: Sequence[str] | None = None,
                 since: datetime | None = None, until: datetime | None = None) -> Sequence[Any]:
    """(kind, channel, state, n) over messages created in [since, until)."""
    query = select(OUTBOX.c.kind, OUTBOX.c.channel, OUTBOX.c.state, func.count().label("n"))
    if branch_ids is not None:
        query = query.where(OUTBOX.c.branch_id.in_(list(branch_ids)))
    if since is not None:
        query = query.where(OUTBOX.c.created_at >= since)
    if until is not None:
        query = query.where(OUTBOX.c.created_at < until)
    query = query.group_by(OUTBOX.c.kind, OUTBOX.c.channel, OUTBOX.c.state)
    return (await conn.execute(query)).all()


# --- wishes -------------------------------------------------------------------------------


async def put_wish(conn: AsyncConnection, values: dict[str, Any]) -> None:
    """The ticket's wish, replacing an earlier one of the same ticket."""
    ticket_id = values["ticket_id"]
    done = await conn.execute(update(WISH).where(WISH.c.ticket_id == ticket_id).values(**values))
    if not done.rowcount:
        await conn.execute(insert(WISH).values(**values))


async def wish_of(conn: AsyncConnection, ticket_id: int) -> Any:
    return (await conn.execute(select(WISH).where(WISH.c.ticket_id == ticket_id))).first()


async def unsent_ahead(conn: AsyncConnection, ticket_ids: Sequence[int]) -> Sequence[Any]:
    """The wishes of these tickets whose "N ahead" message is not sent yet (by the unique ticket index)."""
    query = select(WISH).where(WISH.c.ticket_id.in_(list(ticket_ids)), WISH.c.ahead_sent == False)  # noqa: E712
    return (await conn.execute(query)).all()


async def update_wish(conn: AsyncConnection, wish_id: int, **values: Any) -> None:
    await conn.execute(update(WISH).where(WISH.c.id == wish_id).values(**values))


async def withdraw_pending(conn: AsyncConnection, key_prefix: str, now: datetime) -> int:
    """Withdraw the messages under ``key_prefix`` not sent and not due yet (a moved booking's
    reminders); how many."""
    result = await conn.execute(delete(OUTBOX).where(
        OUTBOX.c.key.startswith(key_prefix, autoescape=True), OUTBOX.c.state == "pending", OUTBOX.c.send_at > now))
    return int(result.rowcount or 0)


async def drop_wishes(conn: AsyncConnection, *, before: datetime) -> int:
    """Forget the wishes made before ``before`` (their tickets' day is over)."""
    return int((await conn.execute(WISH.delete().where(WISH.c.created_at < before))).rowcount or 0)


async def erase_recipients(conn: AsyncConnection, *, before: datetime) -> int:
    """Erase the contacts of messages created before ``before``; one never sent is given up as dead."""
    old = and_(OUTBOX.c.created_at < before, OUTBOX.c.recipient.is_not(None))
    await conn.execute(update(OUTBOX).where(old, OUTBOX.c.state == "pending")
                       .values(state="dead", last_error="the contact was erased by retention"))
    return int((await conn.execute(update(OUTBOX).where(old).values(recipient=None))).rowcount or 0)
