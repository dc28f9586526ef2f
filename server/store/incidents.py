"""Incidents (emergency mode) and their timelines: the store's side of :mod:`server.services.emergency`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.emergency import Incident, IncidentKind, scope_of
from server.domain.errors import Conflict

from . import tables as t
from .repository import aware

INCIDENT = t.Incident.__table__
ENTRY = t.IncidentEntry.__table__


def to_incident(row: Any) -> Incident:
    """A row as the rules of :mod:`server.domain.emergency` see it."""
    return Incident(
        kind=IncidentKind(row.kind),
        scope=scope_of(row.scope),
        drill=bool(row.drill),
        started_at=aware(row.started_at),
        ended_at=aware(row.ended_at) if row.ended_at is not None else None,
    )


async def active_incident(conn: AsyncConnection, branch_id: str, *, lock: bool = False) -> Any | None:
    """The branch's incident in force, or None."""
    query = select(INCIDENT).where(INCIDENT.c.branch_id == branch_id, INCIDENT.c.active.is_(True))
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def incident_by_id(conn: AsyncConnection, branch_id: str, incident_id: int) -> Any | None:
    return (
        await conn.execute(select(INCIDENT).where(INCIDENT.c.id == incident_id, INCIDENT.c.branch_id == branch_id))
    ).first()


async def insert_incident(conn: AsyncConnection, values: dict[str, Any]) -> int:
    """A new active incident; :class:`Conflict` ``emergency_active`` when the branch has one already.

    The database decides (unique (branch_id, active)), so two processes starting at once
    make one incident, never two; the loser's transaction is rolled back whole.
    """
    try:
        async with conn.begin_nested():
            incident_id: int = (
                await conn.execute(insert(INCIDENT).values(**values, active=True).returning(INCIDENT.c.id))
            ).scalar_one()
    except IntegrityError:
        raise Conflict("an emergency is already in force in this branch: end it first",
                       code="emergency_active") from None
    return incident_id


async def end_incident(conn: AsyncConnection, incident_id: int, *, at: datetime, by: int | None) -> bool:
    result = await conn.execute(
        update(INCIDENT)
        .where(INCIDENT.c.id == incident_id, INCIDENT.c.active.is_(True))
        .values(active=None, ended_at=at, ended_by=by)
    )
    return result.rowcount == 1


async def mark_reported_upward(conn: AsyncConnection, incident_id: int, at: datetime) -> None:
    await conn.execute(update(INCIDENT).where(INCIDENT.c.id == incident_id).values(reported_upward_at=at))


async def add_entry(
    conn: AsyncConnection, incident_id: int, *, at: datetime, kind: str, staff_id: int | None, actor: str,
    text: str = "",
) -> int:
    entry_id: int = (
        await conn.execute(
            insert(ENTRY)
            .values(incident_id=incident_id, at=at, kind=kind, staff_id=staff_id, actor=actor, text=text)
            .returning(ENTRY.c.id)
        )
    ).scalar_one()
    return entry_id


async def timeline(conn: AsyncConnection, incident_id: int) -> Sequence[Any]:
    return (await conn.execute(select(ENTRY).where(ENTRY.c.incident_id == incident_id).order_by(ENTRY.c.id))).all()


async def incidents_of_branch(
    conn: AsyncConnection, branch_id: str, *, first: date | None = None, last: date | None = None,
    limit: int = 200,
) -> Sequence[Any]:
    """The branch's incidents, newest first, whose business day is within first–last (when given)."""
    query = select(INCIDENT).where(INCIDENT.c.branch_id == branch_id)
    if first is not None:
        query = query.where(INCIDENT.c.business_date >= first)
    if last is not None:
        query = query.where(INCIDENT.c.business_date <= last)
    return (await conn.execute(query.order_by(INCIDENT.c.started_at.desc(), INCIDENT.c.id.desc()).limit(limit))).all()


async def tickets_in_scope(
    conn: AsyncConnection, branch_id: str, day: date, service_ids: Sequence[int] | None
) -> Sequence[Any]:
    """Today's tickets waiting, called or serving (of ``service_ids``; None: all services)."""
    tk = t.Ticket.__table__
    query = select(tk.c.id, tk.c.number, tk.c.service_id, tk.c.state).where(
        tk.c.branch_id == branch_id, tk.c.business_date == day, tk.c.state.in_(("waiting", "called", "serving"))
    )
    if service_ids is not None:
        query = query.where(tk.c.service_id.in_(list(service_ids)))
    return (await conn.execute(query.order_by(tk.c.id))).all()


async def ticket_states(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    tk = t.Ticket.__table__
    return {r.id: r.state for r in await conn.execute(select(tk.c.id, tk.c.state).where(tk.c.id.in_(list(ids))))}
