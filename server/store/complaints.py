"""Complaint cases in the tables: the case row, its timeline, its rectification."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import tables as t

CASE, STEP, FIX = t.Complaint.__table__, t.ComplaintStep.__table__, t.ComplaintRectification.__table__
PERSON, KEYS = t.ComplaintComplainant.__table__, t.ComplaintIdempotencyKey.__table__


async def insert_case(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return int((await conn.execute(insert(CASE).values(**values).returning(CASE.c.id))).scalar_one())


async def case_row(conn: AsyncConnection, branch_id: str, case_id: int, *, lock: bool = False) -> Any:
    query = select(CASE).where(CASE.c.id == case_id, CASE.c.branch_id == branch_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def case_by_token(conn: AsyncConnection, token: str) -> Any:
    return (await conn.execute(select(CASE).where(CASE.c.token == token))).first()


async def update_case(conn: AsyncConnection, case_id: int, **values: Any) -> None:
    await conn.execute(update(CASE).where(CASE.c.id == case_id).values(**values))


async def insert_step(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(STEP).values(**values))


async def steps_of(conn: AsyncConnection, case_id: int) -> Sequence[Any]:
    return (await conn.execute(select(STEP).where(STEP.c.complaint_id == case_id).order_by(STEP.c.id))).all()


async def cases_of(conn: AsyncConnection, branch_ids: Sequence[str], **equal: Any) -> Sequence[Any]:
    query = select(CASE).where(CASE.c.branch_id.in_(list(branch_ids)))
    for column, value in equal.items():
        if value is not None:
            query = query.where(CASE.c[column] == value)
    return (await conn.execute(query.order_by(CASE.c.id.desc()))).all()


async def cases_in_states(conn: AsyncConnection, states: Sequence[str]) -> Sequence[Any]:
    return (await conn.execute(select(CASE).where(CASE.c.state.in_(list(states))))).all()


async def filed_since(conn: AsyncConnection, branch_id: str, contact_hash: str, since: datetime) -> int:
    query = select(func.count()).select_from(CASE).where(
        CASE.c.branch_id == branch_id, CASE.c.contact_hash == contact_hash, CASE.c.received_at >= since
    )
    return int((await conn.execute(query)).scalar_one())


async def contact_counts(conn: AsyncConnection, branch_id: str) -> dict[str, int]:
    query = (
        select(CASE.c.contact_hash, func.count()).where(CASE.c.branch_id == branch_id, CASE.c.contact_hash.is_not(None))
        .group_by(CASE.c.contact_hash)
    )
    return {h: int(n) for h, n in (await conn.execute(query)).all()}


async def open_duplicate(
    conn: AsyncConnection, branch_id: str, contact_hash: str, category: str, states: Sequence[str]
) -> Any:
    """The first open case of the same contact on the same matter (category), if any."""
    query = select(CASE).where(
        CASE.c.branch_id == branch_id, CASE.c.contact_hash == contact_hash, CASE.c.category == category,
        CASE.c.state.in_(list(states)),
    ).order_by(CASE.c.id).limit(1)
    return (await conn.execute(query)).first()


async def rectification_of(conn: AsyncConnection, case_id: int) -> Any:
    return (await conn.execute(select(FIX).where(FIX.c.complaint_id == case_id))).first()


async def put_rectification(conn: AsyncConnection, case_id: int, values: dict[str, Any]) -> None:
    if await rectification_of(conn, case_id) is None:
        await conn.execute(insert(FIX).values(complaint_id=case_id, **values))
    else:
        await conn.execute(update(FIX).where(FIX.c.complaint_id == case_id).values(**values))


async def erase_contacts(conn: AsyncConnection, *, ended_before: datetime, now: datetime) -> int:
    """Erase the contact of every case that ended before ``ended_before``; the rest of the case stays."""
    result = await conn.execute(
        update(CASE)
        .where(CASE.c.ended_at < ended_before, CASE.c.contact.is_not(None))
        .values(contact=None, contact_masked={}, contact_hash=None, contact_erased_at=now)
    )
    return int(result.rowcount or 0)


async def sealed_contacts(conn: AsyncConnection) -> Sequence[Any]:
    return (await conn.execute(select(CASE.c.id, CASE.c.contact).where(CASE.c.contact.is_not(None)))).all()


async def active_staff(conn: AsyncConnection) -> list[Any]:
    """Every active staff account, by id (the superiors a case may escalate to are among them)."""
    s = t.Staff.__table__
    return list((await conn.execute(select(s).where(s.c.active.is_(True)).order_by(s.c.id))).all())


# --- statistics and intake retries ------------------------------------------------------------


async def first_case_of(conn: AsyncConnection, branch_id: str, contact_hash: str) -> int | None:
    """The first case the holder of ``contact_hash`` filed at the branch (None: none yet)."""
    query = (
        select(func.min(PERSON.c.first_case_id))
        .select_from(PERSON.join(CASE, CASE.c.id == PERSON.c.complaint_id))
        .where(CASE.c.branch_id == branch_id, CASE.c.contact_hash == contact_hash)
    )
    found = (await conn.execute(query)).scalar_one_or_none()
    return int(found) if found is not None else None


async def put_complainant(conn: AsyncConnection, case_id: int, first_case_id: int) -> None:
    await conn.execute(insert(PERSON).values(complaint_id=case_id, first_case_id=first_case_id))


async def stat_rows(conn: AsyncConnection, branch_ids: Sequence[str], last: date) -> Sequence[Any]:
    """What the statistics read of every case received by ``last``: no contact, no text."""
    services, staff = t.Service.__table__, t.Staff.__table__
    query = (
        select(
            CASE.c.id, CASE.c.branch_id, CASE.c.channel, CASE.c.category, CASE.c.state, CASE.c.received_at,
            CASE.c.received_on, CASE.c.due_on, CASE.c.first_decided_at, CASE.c.decided_late, CASE.c.outcome,
            CASE.c.round, CASE.c.escalations, CASE.c.satisfied, CASE.c.merged_into,
            func.coalesce(PERSON.c.first_case_id, CASE.c.id).label("complainant"),
            services.c.code.label("service"), staff.c.username.label("teller"),
        )
        .select_from(
            CASE.outerjoin(PERSON, PERSON.c.complaint_id == CASE.c.id)
            .outerjoin(services, services.c.id == CASE.c.service_id)
            .outerjoin(staff, staff.c.id == CASE.c.staff_id)
        )
        .where(CASE.c.branch_id.in_(list(branch_ids)), CASE.c.received_on <= last)
        .order_by(CASE.c.id)
    )
    return (await conn.execute(query)).all()


async def idempotent_case(conn: AsyncConnection, branch_id: str, scope: str, key: str) -> Any:
    query = select(KEYS).where(KEYS.c.branch_id == branch_id, KEYS.c.scope == scope, KEYS.c.key == key)
    return (await conn.execute(query)).first()


async def claim_idempotency_key(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Record the key; False when a concurrent intake with the same key holds it already."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(KEYS).values(**values).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(KEYS).values(**values).on_conflict_do_nothing()
    return (await conn.execute(stmt)).rowcount == 1


async def upheld_against_tellers(conn: AsyncConnection, branch_id: str, first: date | None = None,
                                 last: date | None = None) -> dict[str, int]:
    """Cases decided upheld (or partly) against the teller on the case, by username; received
    from ``first`` to ``last`` when given. Merged duplicates do not count."""
    staff = t.Staff.__table__
    query = (
        select(staff.c.username, func.count())
        .select_from(CASE.join(staff, staff.c.id == CASE.c.staff_id))
        .where(CASE.c.branch_id == branch_id, CASE.c.against_teller.is_(True),
               CASE.c.outcome.in_(["upheld", "partly_upheld"]), CASE.c.merged_into.is_(None))
        .group_by(staff.c.username)
    )
    if first is not None:
        query = query.where(CASE.c.received_on >= first)
    if last is not None:
        query = query.where(CASE.c.received_on <= last)
    return {name: int(n) for name, n in (await conn.execute(query)).all()}


async def open_cases(conn: AsyncConnection, branch_id: str, states: Sequence[str]) -> Sequence[Any]:
    """(id, number, state, due_on) of the branch's cases in ``states``: what the deadline alerts read."""
    query = select(CASE.c.id, CASE.c.number, CASE.c.state, CASE.c.due_on).where(
        CASE.c.branch_id == branch_id, CASE.c.state.in_(list(states)))
    return (await conn.execute(query)).all()


async def day_counts(
    conn: AsyncConnection, branch_id: str, day: date, start: datetime, end: datetime
) -> tuple[int, int]:
    """Cases received on ``day`` (the branch's wall clock) and first or again decided from ``start`` to ``end``."""
    received = select(func.count()).select_from(CASE).where(CASE.c.branch_id == branch_id, CASE.c.received_on == day)
    decided = select(func.count()).select_from(CASE).where(
        CASE.c.branch_id == branch_id, CASE.c.decided_at >= start, CASE.c.decided_at < end)
    return int((await conn.execute(received)).scalar_one()), int((await conn.execute(decided)).scalar_one())
