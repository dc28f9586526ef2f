"""Staff sessions and sign-in throttling: the statements behind them.

A session row is what a staff cookie stands for: the cookie holds a random secret,
the row its SHA-256, so ending the row ends the cookie however long it would still
be valid. Ending an account's access (disable, role change, password reset) ends
all its rows at once and rings ``branchq_access`` so that every process closes the
account's sockets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from . import tables as t

SESSION = t.StaffSession.__table__
THROTTLE = t.LoginThrottle.__table__
STAFF = t.Staff.__table__

#: The PostgreSQL channel on which a commit that ended access tells every process.
ACCESS_CHANNEL = "branchq_access"
_NOTIFY_ACCESS = select(func.pg_notify(ACCESS_CHANNEL, bindparam("payload")))


async def insert_session(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(SESSION).values(**values))


_SESSION_WITH_STAFF = (
    select(SESSION.c.id.label("session_id"), SESSION.c.expires_at, SESSION.c.ended_at,
           SESSION.c.last_seen_at, STAFF)
    .join(STAFF, STAFF.c.id == SESSION.c.staff_id)
    .where(SESSION.c.id == bindparam("sid"))
)


async def session_with_staff(conn: AsyncConnection, session_id: str) -> Any:
    """The session row joined with its account (None when there is no such session)."""
    return (await conn.execute(_SESSION_WITH_STAFF, {"sid": session_id})).first()


async def touch_session(conn: AsyncConnection, session_id: str, at: datetime) -> None:
    await conn.execute(update(SESSION).where(SESSION.c.id == session_id).values(last_seen_at=at))


async def sessions_of(conn: AsyncConnection, staff_id: int, now: datetime) -> Sequence[Any]:
    """The account's sessions still in force, newest first."""
    return (
        await conn.execute(
            select(SESSION)
            .where(SESSION.c.staff_id == staff_id, SESSION.c.ended_at.is_(None), SESSION.c.expires_at > now)
            .order_by(SESSION.c.created_at.desc())
        )
    ).all()


async def end_sessions(
    conn: AsyncConnection, *, staff_id: int, at: datetime, why: str,
    only: str | None = None, keep: str | None = None,
) -> list[str]:
    """End the account's sessions (only the one ``only``, or all but ``keep``); the ids ended."""
    where = [SESSION.c.staff_id == staff_id, SESSION.c.ended_at.is_(None)]
    if only is not None:
        where.append(SESSION.c.id == only)
    if keep is not None:
        where.append(SESSION.c.id != keep)
    ended = await conn.execute(
        update(SESSION).where(and_(*where)).values(ended_at=at, ended_why=why).returning(SESSION.c.id)
    )
    return [row[0] for row in ended.all()]


async def forget_old_sessions(conn: AsyncConnection, before: datetime) -> int:
    """Delete sessions that ended or expired before ``before``."""
    gone = await conn.execute(
        delete(SESSION).where((SESSION.c.expires_at < before) | (SESSION.c.ended_at < before))
    )
    return gone.rowcount or 0


async def notify_access_ended(conn: AsyncConnection, payload: str) -> None:
    """Ring every process (PostgreSQL delivers it at commit, or never if this rolls back)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_NOTIFY_ACCESS, {"payload": payload})


# --- sign-in throttling ----------------------------------------------------------------


async def throttles(conn: AsyncConnection, keys: Sequence[str]) -> dict[str, Any]:
    rows = (await conn.execute(select(THROTTLE).where(THROTTLE.c.key.in_(list(keys))))).all()
    return {row.key: row for row in rows}


async def throttle_for_update(conn: AsyncConnection, key: str, at: datetime) -> Any:
    """The key's row, created empty if missing, locked for this transaction on PostgreSQL
    (two failures at the same moment count twice, never once)."""
    fresh = {"key": key, "failures": 0, "last_failure_at": at, "locked_until": None}
    if conn.dialect.name == "postgresql":
        await conn.execute(pg_insert(THROTTLE).values(**fresh).on_conflict_do_nothing())
        query = select(THROTTLE).where(THROTTLE.c.key == key).with_for_update()
    else:  # SQLite: the write transaction already holds the database
        await conn.execute(sqlite_insert(THROTTLE).values(**fresh).on_conflict_do_nothing())
        query = select(THROTTLE).where(THROTTLE.c.key == key)
    return (await conn.execute(query)).one()


async def save_throttle(conn: AsyncConnection, key: str, *, failures: int, at: datetime,
                        locked_until: datetime | None) -> None:
    await conn.execute(
        update(THROTTLE).where(THROTTLE.c.key == key)
        .values(failures=failures, last_failure_at=at, locked_until=locked_until)
    )


async def clear_throttle(conn: AsyncConnection, key: str) -> bool:
    gone = await conn.execute(delete(THROTTLE).where(THROTTLE.c.key == key))
    return (gone.rowcount or 0) > 0
