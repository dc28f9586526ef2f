"""Staff accounts, devices and enrollment codes: the statements the account use cases run.

Reading one account or device by id, name or token stays in :mod:`.repository`
(the hot paths use it on every request); here are the administration's writes and
lists. A unique name or token taken at the same moment by another transaction is
reported as the domain's :class:`~server.domain.errors.Conflict`, so the use cases
never see a database exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.errors import Conflict

from . import tables as t

STAFF = t.Staff.__table__
DEVICE = t.Device.__table__
ENROLLMENT = t.EnrollmentCode.__table__


# --- staff ---------------------------------------------------------------------------


async def all_staff(conn: AsyncConnection) -> Sequence[Any]:
    """Every account, by branch (accounts of no branch first) and username."""
    return (await conn.execute(select(STAFF).order_by(STAFF.c.branch_id, STAFF.c.username))).all()


async def insert_staff(conn: AsyncConnection, values: dict[str, Any]) -> int:
    """Create an account; its id.

    Raises:
        Conflict: the username is taken (also by a transaction that committed meanwhile).
    """
    try:
        staff_id: int = (await conn.execute(insert(STAFF).values(**values).returning(STAFF.c.id))).scalar_one()
        return staff_id
    except IntegrityError:  # the same name taken at the same moment
        raise Conflict(f"user {values['username']!r} exists already", code="exists") from None


async def update_staff(conn: AsyncConnection, staff_id: int, **values: Any) -> None:
    """Set columns of one account (``password_hash`` among them for a reset)."""
    await conn.execute(update(STAFF).where(STAFF.c.id == staff_id).values(**values))


async def teller_counters(conn: AsyncConnection, branch_id: str) -> Sequence[tuple[int, list[int] | None]]:
    """(staff id, counter numbers) of the branch's tellers."""
    rows = await conn.execute(
        select(STAFF.c.id, STAFF.c.counters).where(STAFF.c.branch_id == branch_id, STAFF.c.role == "teller")
    )
    return [(staff_id, counters) for staff_id, counters in rows.all()]


# --- devices ---------------------------------------------------------------------------


async def insert_device(conn: AsyncConnection, values: dict[str, Any]) -> int:
    """Register a device (its token only as a hash); its id.

    Raises:
        Conflict: a device already holds this token.
    """
    try:
        device_id: int = (await conn.execute(insert(DEVICE).values(**values).returning(DEVICE.c.id))).scalar_one()
        return device_id
    except IntegrityError:
        raise Conflict("a device with this token exists already", code="exists") from None


async def mark_device_seen(conn: AsyncConnection, device_id: int, at: datetime) -> None:
    await conn.execute(update(DEVICE).where(DEVICE.c.id == device_id).values(last_seen_at=at))


async def revoke_device(conn: AsyncConnection, device_id: int) -> None:
    await conn.execute(update(DEVICE).where(DEVICE.c.id == device_id).values(revoked=True))


# --- enrollment codes --------------------------------------------------------------------


async def insert_enrollment(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(ENROLLMENT).values(**values))


async def enrollment_by_code_hash(conn: AsyncConnection, code_hash: str) -> Any:
    return (await conn.execute(select(ENROLLMENT).where(ENROLLMENT.c.code_hash == code_hash))).first()


async def claim_enrollment(conn: AsyncConnection, enrollment_id: int, *, device_id: int, at: datetime) -> bool:
    """Mark the code used by ``device_id``; False when another exchange claimed it first.

    The guard on ``used_at`` makes the second of two simultaneous exchanges lose.
    """
    claimed = await conn.execute(
        update(ENROLLMENT)
        .where(ENROLLMENT.c.id == enrollment_id, ENROLLMENT.c.used_at.is_(None))
        .values(used_at=at, device_id=device_id)
    )
    return claimed.rowcount == 1
