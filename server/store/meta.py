"""Facts about the database itself (``database_meta``), such as whether it is a demo database."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import tables as t

META = t.DatabaseMeta.__table__
BRANCH, STAFF = t.Branch.__table__, t.Staff.__table__


async def get(conn: AsyncConnection, key: str) -> str | None:
    value: str | None = (await conn.execute(select(META.c.value).where(META.c.key == key))).scalar_one_or_none()
    return value


async def put(conn: AsyncConnection, key: str, value: str) -> None:
    """Set ``key`` to ``value``, in the caller's transaction."""
    if await get(conn, key) is None:
        await conn.execute(insert(META).values(key=key, value=value))
    else:
        await conn.execute(update(META).where(META.c.key == key).values(value=value))


async def others_than(conn: AsyncConnection, branch_id: str, usernames: Iterable[str]) -> tuple[int, int]:
    """How many branches other than ``branch_id``, and staff accounts not named in ``usernames``, exist."""
    branches = (await conn.execute(select(func.count()).where(BRANCH.c.id != branch_id))).scalar_one()
    staff = (
        await conn.execute(select(func.count()).where(STAFF.c.username.not_in(list(usernames))))
    ).scalar_one()
    return int(branches), int(staff)
