"""The store of supervision: breach records, and what the breach rules read of a branch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.alerts import CounterView, QueueView
from server.domain.standards import Serving

from . import tables as t
from .repository import BranchConfig, aware

BREACH, TICKET, COUNTER, STAFF = t.Breach.__table__, t.Ticket.__table__, t.Counter.__table__, t.Staff.__table__


@dataclass(frozen=True)
class BranchState:
    """What the breach rules read: the queues, the counters, what each open counter is doing."""

    queues: list[QueueView]
    counters: list[CounterView]
    serving: list[Serving]
    tellers: dict[int, str]


async def branch_state(conn: AsyncConnection, branch_id: str, config: BranchConfig) -> BranchState:
    """The branch as the breach rules see it now (one read, in the caller's transaction)."""
    waiting = (
        await conn.execute(
            select(TICKET.c.service_id, func.count(), func.min(TICKET.c.issued_at))
            .where(TICKET.c.branch_id == branch_id, TICKET.c.state == "waiting")
            .group_by(TICKET.c.service_id)
        )
    ).all()
    by_service = {sid: (n, aware(oldest)) for sid, n, oldest in waiting}
    queues = [
        QueueView(code, by_service.get(s.id, (0, None))[0], by_service.get(s.id, (0, None))[1])
        for code, s in config.services.items()
    ]
    rows = (
        await conn.execute(select(COUNTER).where(COUNTER.c.branch_id == branch_id, COUNTER.c.retired.is_(False)))
    ).all()
    counters = [
        CounterView(r.number, r.state, tuple(config.counters[r.number].services),
                    aware(r.state_since) if r.state_since else None, r.staff_id is not None, r.pause_code)
        for r in rows if r.number in config.counters
    ]
    current_ids = [r.current_ticket_id for r in rows if r.current_ticket_id is not None]
    current = {
        r.id: r for r in (await conn.execute(select(TICKET).where(TICKET.c.id.in_(current_ids)))).all()
    } if current_ids else {}
    last_done = dict(
        (
            await conn.execute(
                select(TICKET.c.counter_id, func.max(TICKET.c.finished_at))
                .where(TICKET.c.branch_id == branch_id, TICKET.c.finished_at.is_not(None))
                .group_by(TICKET.c.counter_id)
            )
        ).all()
    )
    serving: list[Serving] = []
    for r in rows:
        if r.state != "open":
            continue
        ticket = current.get(r.current_ticket_id)
        if ticket is not None:
            serving.append(Serving(r.number, config.service_by_id(ticket.service_id).code,
                                   aware(ticket.called_at) if ticket.called_at else None))
            continue
        idle_since = [aware(x) for x in (r.state_since, last_done.get(r.id)) if x is not None]
        serving.append(Serving(r.number, None, max(idle_since) if idle_since else None))
    names = dict(
        (await conn.execute(
            select(STAFF.c.id, STAFF.c.username).where(STAFF.c.id.in_([r.staff_id for r in rows if r.staff_id]))
        )).all()
    )
    tellers = {r.number: names[r.staff_id] for r in rows if r.staff_id in names}
    return BranchState(queues, counters, serving, tellers)


# --- breach records -----------------------------------------------------------------------


async def open_breaches(conn: AsyncConnection, branch_id: str) -> Sequence[Any]:
    """The branch's breaches that have not cleared, oldest first."""
    return (
        await conn.execute(
            select(BREACH).where(BREACH.c.branch_id == branch_id, BREACH.c.cleared_at.is_(None))
            .order_by(BREACH.c.raised_at, BREACH.c.id)
        )
    ).all()


async def breach(conn: AsyncConnection, branch_id: str, breach_id: int) -> Any | None:
    return (
        await conn.execute(select(BREACH).where(BREACH.c.branch_id == branch_id, BREACH.c.id == breach_id))
    ).first()


async def insert_breach(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return int(
        (await conn.execute(insert(BREACH).values(open_key=values["key"], **values).returning(BREACH.c.id)))
        .scalar_one()
    )


async def update_breach(conn: AsyncConnection, breach_id: int, **values: Any) -> None:
    await conn.execute(update(BREACH).where(BREACH.c.id == breach_id).values(**values))


async def breaches_between(conn: AsyncConnection, branch_id: str, start: datetime, end: datetime) -> Sequence[Any]:
    """Breaches raised in [start, end), oldest first (the report)."""
    return (
        await conn.execute(
            select(BREACH).where(BREACH.c.branch_id == branch_id, BREACH.c.raised_at >= start,
                                 BREACH.c.raised_at < end)
            .order_by(BREACH.c.raised_at, BREACH.c.id)
        )
    ).all()


async def overseers(conn: AsyncConnection, branch_id: str) -> list[str]:
    """Usernames of who a breach escalates to: regional managers of the branch, and administrators."""
    rows = (
        await conn.execute(
            select(STAFF.c.username, STAFF.c.role, STAFF.c.branches)
            .where(STAFF.c.active.is_(True), STAFF.c.role.in_(["manager", "admin"]))
            .order_by(STAFF.c.username)
        )
    ).all()
    return [r.username for r in rows if r.role == "admin" or branch_id in (r.branches or [])]


async def branch_managers(conn: AsyncConnection, branch_id: str) -> list[str]:
    rows = await conn.execute(
        select(STAFF.c.username).where(STAFF.c.active.is_(True), STAFF.c.role == "manager",
                                       STAFF.c.branch_id == branch_id).order_by(STAFF.c.username)
    )
    return list(rows.scalars())


async def branch_ids(conn: AsyncConnection) -> list[str]:
    return list((await conn.execute(select(t.Branch.id).order_by(t.Branch.id))).scalars())


# --- inspections and rectification ---------------------------------------------------------

INSPECTION, ITEM, PHOTO = t.Inspection.__table__, t.InspectionItem.__table__, t.InspectionPhoto.__table__
RECT = t.Rectification.__table__


async def insert_inspection(conn: AsyncConnection, values: dict[str, Any], items: list[dict[str, Any]]) -> int:
    iid = int((await conn.execute(insert(INSPECTION).values(**values).returning(INSPECTION.c.id))).scalar_one())
    await conn.execute(insert(ITEM), [{"inspection_id": iid, **i} for i in items])
    return iid


async def insert_rectification(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return int((await conn.execute(insert(RECT).values(**values).returning(RECT.c.id))).scalar_one())


async def inspection(conn: AsyncConnection, branch_id: str, inspection_id: int) -> Any | None:
    return (await conn.execute(
        select(INSPECTION).where(INSPECTION.c.branch_id == branch_id, INSPECTION.c.id == inspection_id)
    )).first()


async def inspections(conn: AsyncConnection, branch_id: str, limit: int = 100) -> Sequence[Any]:
    return (await conn.execute(
        select(INSPECTION).where(INSPECTION.c.branch_id == branch_id)
        .order_by(INSPECTION.c.visited_at.desc(), INSPECTION.c.id.desc()).limit(limit)
    )).all()


async def items_of(conn: AsyncConnection, inspection_ids: Sequence[int]) -> Sequence[Any]:
    if not inspection_ids:
        return []
    return (await conn.execute(
        select(ITEM).where(ITEM.c.inspection_id.in_(list(inspection_ids))).order_by(ITEM.c.id)
    )).all()


async def photos_of(conn: AsyncConnection, inspection_id: int) -> Sequence[Any]:
    return (await conn.execute(select(PHOTO).where(PHOTO.c.inspection_id == inspection_id)
                               .order_by(PHOTO.c.id))).all()


async def photo(conn: AsyncConnection, inspection_id: int, photo_id: int) -> Any | None:
    return (await conn.execute(
        select(PHOTO).where(PHOTO.c.inspection_id == inspection_id, PHOTO.c.id == photo_id)
    )).first()


async def insert_photo(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return int((await conn.execute(insert(PHOTO).values(**values).returning(PHOTO.c.id))).scalar_one())


async def rectifications(conn: AsyncConnection, branch_id: str, *, inspection_id: int | None = None) -> Sequence[Any]:
    query = select(RECT).where(RECT.c.branch_id == branch_id)
    if inspection_id is not None:
        query = query.where(RECT.c.inspection_id == inspection_id)
    return (await conn.execute(query.order_by(RECT.c.deadline, RECT.c.id))).all()


async def rectification(conn: AsyncConnection, branch_id: str, rect_id: int) -> Any | None:
    return (await conn.execute(select(RECT).where(RECT.c.branch_id == branch_id, RECT.c.id == rect_id))).first()


async def update_rectification(conn: AsyncConnection, rect_id: int, **values: Any) -> None:
    await conn.execute(update(RECT).where(RECT.c.id == rect_id).values(**values))


async def overdue_candidates(conn: AsyncConnection, now: datetime) -> Sequence[Any]:
    """Rectifications past their deadline, the owner still to act, not escalated yet (every branch)."""
    return (await conn.execute(
        select(RECT).where(RECT.c.state.in_(["open", "reopened"]), RECT.c.deadline < now,
                           RECT.c.overdue_at.is_(None)).order_by(RECT.c.branch_id, RECT.c.id)
    )).all()


async def findings_between(conn: AsyncConnection, branch_ids: Sequence[str], start: datetime,
                           end: datetime) -> Sequence[Any]:
    """(branch, item, passed) of inspections visited in [start, end)."""
    return (await conn.execute(
        select(INSPECTION.c.branch_id, ITEM.c.item, ITEM.c.passed)
        .join(ITEM, ITEM.c.inspection_id == INSPECTION.c.id)
        .where(INSPECTION.c.branch_id.in_(list(branch_ids)), INSPECTION.c.visited_at >= start,
               INSPECTION.c.visited_at < end)
    )).all()


async def rectifications_of(conn: AsyncConnection, branch_ids: Sequence[str], before: datetime) -> Sequence[Any]:
    """Rectifications of the branches issued before ``before`` (their state now)."""
    return (await conn.execute(
        select(RECT.c.branch_id, RECT.c.state, RECT.c.deadline)
        .join(INSPECTION, INSPECTION.c.id == RECT.c.inspection_id)
        .where(RECT.c.branch_id.in_(list(branch_ids)), INSPECTION.c.visited_at < before)
    )).all()


async def staff_of_branch(conn: AsyncConnection, branch_id: str, username: str) -> Any | None:
    """An active staff member of the branch (its own, or overseeing it) by username."""
    row = (await conn.execute(select(STAFF).where(STAFF.c.username == username, STAFF.c.active.is_(True)))).first()
    if row is None or (row.branch_id != branch_id and branch_id not in (row.branches or [])):
        return None
    return row
