"""What the staff assessment reads: served mix, ratings, evaluator prompts, busy and waiting spans,
findings about a person. Every query is on one branch over the business days of a period."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.events import (
    COUNTER_CLOSED,
    COUNTER_PAUSED,
    TICKET_CALLED,
    TICKET_CANCELLED,
    TICKET_FINISHED,
    TICKET_NO_SHOW,
    TICKET_RECALLED,
    TICKET_REQUEUED,
    TICKET_STARTED,
    TICKET_TRANSFERRED,
)

from . import tables as t
from .repository import aware

TICKET, SERVICE, STAFF = t.Ticket.__table__, t.Service.__table__, t.Staff.__table__
FEEDBACK, PROMPT, FINDING = t.Feedback.__table__, t.RatingPrompt.__table__, t.StaffFinding.__table__
EVENT = t.TicketEvent.__table__

BUSY_FROM = (TICKET_CALLED.name, TICKET_RECALLED.name, TICKET_STARTED.name)
BUSY_UNTIL = (TICKET_FINISHED.name, TICKET_NO_SHOW.name, TICKET_TRANSFERRED.name, TICKET_REQUEUED.name,
              TICKET_CANCELLED.name, COUNTER_PAUSED.name, COUNTER_CLOSED.name)
#: How far before the period's start a customer may have been called and still be at the counter.
LOOK_BACK = timedelta(hours=12)

Span = tuple[datetime, datetime]


def _in_period(first: date, last: date) -> Any:
    return and_(TICKET.c.business_date >= first, TICKET.c.business_date <= last)


async def record_prompt(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Record that the evaluator asked about a ticket; False when it was recorded already."""
    try:
        async with conn.begin_nested():
            await conn.execute(insert(PROMPT).values(**values))
    except IntegrityError:
        return False
    return True


async def prompt_for(conn: AsyncConnection, ticket_id: int) -> Any | None:
    return (await conn.execute(select(PROMPT).where(PROMPT.c.ticket_id == ticket_id))).first()


async def record_findings(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(FINDING), rows)


async def findings_of_inspection(conn: AsyncConnection, inspection_id: int) -> dict[str, int]:
    """Item → the staff member it names, for one inspection."""
    rows = (await conn.execute(select(FINDING.c.item, FINDING.c.staff_id)
                               .where(FINDING.c.inspection_id == inspection_id))).all()
    return {r.item: r.staff_id for r in rows}


async def tellers(conn: AsyncConnection, branch_id: str) -> list[Any]:
    """The branch's own tellers (active or not: a period may cover someone who has left)."""
    return list((await conn.execute(
        select(STAFF.c.id, STAFF.c.username, STAFF.c.display_name)
        .where(STAFF.c.branch_id == branch_id, STAFF.c.role == "teller").order_by(STAFF.c.username)
    )).all())


async def staff_rows(conn: AsyncConnection, ids: list[int]) -> list[Any]:
    if not ids:
        return []
    return list((await conn.execute(
        select(STAFF.c.id, STAFF.c.username, STAFF.c.display_name).where(STAFF.c.id.in_(ids))
    )).all())


async def served_mix(conn: AsyncConnection, branch_id: str, first: date, last: date) -> list[Any]:
    """Per staff member and service: tickets finished, their service times summed, the target."""
    return list((await conn.execute(
        select(TICKET.c.staff_id, SERVICE.c.code, SERVICE.c.target_service_s,
               func.count().label("served"), func.coalesce(func.sum(TICKET.c.service_s), 0).label("service_s"))
        .select_from(TICKET.join(SERVICE, SERVICE.c.id == TICKET.c.service_id))
        .where(TICKET.c.branch_id == branch_id, _in_period(first, last), TICKET.c.state == "done",
               TICKET.c.staff_id.is_not(None))
        .group_by(TICKET.c.staff_id, SERVICE.c.code, SERVICE.c.target_service_s)
        .order_by(TICKET.c.staff_id, SERVICE.c.code)
    )).all())


async def ratings(conn: AsyncConnection, branch_id: str, first: date, last: date) -> dict[int, dict[int, int]]:
    """Staff id → score → ratings, for tickets of the period (from the evaluator or the phone)."""
    rows = (await conn.execute(
        select(FEEDBACK.c.staff_id, FEEDBACK.c.score, func.count())
        .select_from(FEEDBACK.join(TICKET, TICKET.c.id == FEEDBACK.c.ticket_id))
        .where(FEEDBACK.c.branch_id == branch_id, _in_period(first, last), FEEDBACK.c.staff_id.is_not(None))
        .group_by(FEEDBACK.c.staff_id, FEEDBACK.c.score)
    )).all()
    out: dict[int, dict[int, int]] = defaultdict(dict)
    for staff_id, score, n in rows:
        out[staff_id][score] = n
    return dict(out)


async def prompts(conn: AsyncConnection, branch_id: str, first: date, last: date) -> dict[int, tuple[int, int]]:
    """Staff id → (finished tickets the evaluator asked about, of those the ones rated)."""
    rows = (await conn.execute(
        select(TICKET.c.staff_id, func.count(), func.count(FEEDBACK.c.id))
        .select_from(PROMPT.join(TICKET, TICKET.c.id == PROMPT.c.ticket_id)
                     .outerjoin(FEEDBACK, FEEDBACK.c.ticket_id == TICKET.c.id))
        .where(PROMPT.c.branch_id == branch_id, _in_period(first, last), TICKET.c.state == "done",
               TICKET.c.staff_id.is_not(None))
        .group_by(TICKET.c.staff_id)
    )).all()
    return {r[0]: (r[1], r[2]) for r in rows}


async def busy_spans(conn: AsyncConnection, branch_id: str, start: datetime, end: datetime) -> dict[int, list[Span]]:
    """Counter id → the periods a customer was at it (from a call until finish, no-show,
    transfer or the counter's pause), clipped to [start, end)."""
    rows = (await conn.execute(
        select(EVENT.c.kind, EVENT.c.at, EVENT.c.counter_id)
        .where(EVENT.c.branch_id == branch_id, EVENT.c.counter_id.is_not(None),
               EVENT.c.kind.in_(BUSY_FROM + BUSY_UNTIL), EVENT.c.at >= start - LOOK_BACK, EVENT.c.at < end)
        .order_by(EVENT.c.seq)
    )).all()
    since: dict[int, datetime] = {}
    out: dict[int, list[Span]] = defaultdict(list)
    for kind, at, counter in rows:
        at = aware(at)
        if kind in BUSY_FROM:
            since.setdefault(counter, at)
        elif counter in since:
            a = max(since.pop(counter), start)
            if at > a:
                out[counter].append((a, at))
    for counter, a in since.items():
        a = max(a, start)
        if end > a:
            out[counter].append((a, end))
    return dict(out)


async def waiting_spans(conn: AsyncConnection, branch_id: str, first: date, last: date,
                        end: datetime) -> dict[str, list[Span]]:
    """Service code → the periods each ticket of the period waited for its first call (a ticket
    still waiting: until ``end``). Tickets given up before any call are not counted."""
    rows = (await conn.execute(
        select(SERVICE.c.code, TICKET.c.issued_at, TICKET.c.first_called_at, TICKET.c.state)
        .select_from(TICKET.join(SERVICE, SERVICE.c.id == TICKET.c.service_id))
        .where(TICKET.c.branch_id == branch_id, _in_period(first, last),
               (TICKET.c.first_called_at.is_not(None)) | (TICKET.c.state == "waiting"))
    )).all()
    out: dict[str, list[Span]] = defaultdict(list)
    for code, issued, called, _state in rows:
        a, b = aware(issued), aware(called) if called is not None else end
        if b > a:
            out[code].append((a, min(b, end)))
    return dict(out)


async def findings(conn: AsyncConnection, branch_id: str, start: datetime, end: datetime) -> dict[int, int]:
    """Staff id → failed inspection items naming them, from inspections in [start, end)."""
    rows = (await conn.execute(
        select(FINDING.c.staff_id, func.count())
        .where(FINDING.c.branch_id == branch_id, FINDING.c.visited_at >= start, FINDING.c.visited_at < end)
        .group_by(FINDING.c.staff_id)
    )).all()
    return {r[0]: r[1] for r in rows}
