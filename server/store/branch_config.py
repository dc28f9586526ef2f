"""A branch's configuration in the tables: the branch row, its services, its counters and their profiles.

:func:`write` makes the tables say what a configuration document says, given as
plain values (the document's models live in the services); :func:`~.repository.load_config`
reads it back. A service or counter that leaves the configuration is deleted when
nothing ever referred to it, and otherwise kept as *retired*, so past tickets and
events still name it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.errors import Conflict

from . import repository as repo
from . import tables as t

BRANCH, SERVICE, COUNTER = t.Branch.__table__, t.Service.__table__, t.Counter.__table__
PROFILE, TICKET, EVENT = t.CounterService.__table__, t.Ticket.__table__, t.TicketEvent.__table__
BOOKING = t.Booking.__table__


async def hold(conn: AsyncConnection, branch_id: str) -> None:
    """One configuration editor at a time per branch, until commit.

    On PostgreSQL the branch row is locked (a branch not created yet has no row to
    lock: two creators meet at the insert, see :func:`write`); SQLite's write
    transaction holds the whole database already.
    """
    if conn.dialect.name == "postgresql":
        await repo.lock_branch(conn, branch_id)


# --- the branch list -------------------------------------------------------------------


async def branch_summaries(
    conn: AsyncConnection, *, only: Iterable[str] | None, search: str | None, limit: int
) -> list[tuple[Any, dict[str, int]]]:
    """Branches by id, each with how many services, counters, active staff and devices it has.

    ``only``: these branches (None: all); ``search``: a text any of the id and the
    names contains, ignoring case.
    """
    b = BRANCH.c
    query = select(b.id, b.name_zh, b.name_en, b.name_zh_tw, b.timezone).order_by(b.id).limit(limit)
    if only is not None:
        query = query.where(b.id.in_(list(only)))
    if search:
        like = f"%{search.strip().lower()}%"
        query = query.where(or_(*(func.lower(col).like(like) for col in (b.id, b.name_zh, b.name_en, b.name_zh_tw))))
    rows = (await conn.execute(query)).all()
    ids = [r.id for r in rows]
    in_use = {
        "services": (SERVICE, SERVICE.c.retired.is_(False)),
        "counters": (COUNTER, COUNTER.c.retired.is_(False)),
        "staff": (t.Staff.__table__, t.Staff.__table__.c.active.is_(True)),
        "devices": (t.Device.__table__, t.Device.__table__.c.revoked.is_(False)),
    }
    tallies: dict[str, dict[str, int]] = {}
    for name, (table, counted) in in_use.items():
        stmt = (
            select(table.c.branch_id, func.count())
            .where(counted, table.c.branch_id.in_(ids))
            .group_by(table.c.branch_id)
        )
        tallies[name] = dict((await conn.execute(stmt)).all())
    return [(r, {name: tally.get(r.id, 0) for name, tally in tallies.items()}) for r in rows]


# --- what a removal would orphan --------------------------------------------------------


async def live_tickets_by_service(
    conn: AsyncConnection, branch_id: str, codes: Sequence[str], states: Sequence[str]
) -> dict[str, int]:
    """Service code → its tickets in ``states``, for those of ``codes`` that have any."""
    if not codes:
        return {}
    rows = await conn.execute(
        select(SERVICE.c.code, func.count())
        .join(TICKET, TICKET.c.service_id == SERVICE.c.id)
        .where(SERVICE.c.branch_id == branch_id, SERVICE.c.code.in_(list(codes)), TICKET.c.state.in_(list(states)))
        .group_by(SERVICE.c.code)
    )
    return dict(rows.all())


@dataclass(frozen=True, slots=True)
class CounterUse:
    """What a counter is doing, as far as removing it cares."""

    number: int
    state: str
    current_ticket_id: int | None
    sent_here: int
    """Tickets transferred to this counter and waiting for it."""


async def counter_uses(conn: AsyncConnection, branch_id: str, numbers: Sequence[int]) -> list[CounterUse]:
    """The state of each of the branch's counters ``numbers`` (those that exist), by number."""
    if not numbers:
        return []
    sent_here = (
        select(func.count())
        .where(TICKET.c.target_counter_id == COUNTER.c.id, TICKET.c.state == "waiting")
        .scalar_subquery()
    )
    rows = await conn.execute(
        select(COUNTER.c.number, COUNTER.c.state, COUNTER.c.current_ticket_id, sent_here)
        .where(COUNTER.c.branch_id == branch_id, COUNTER.c.number.in_(list(numbers)))
        .order_by(COUNTER.c.number)
    )
    return [CounterUse(*row) for row in rows.all()]


# --- writing -------------------------------------------------------------------------------


async def write(
    conn: AsyncConnection,
    branch_id: str,
    *,
    branch: dict[str, Any],
    services: Sequence[dict[str, Any]],
    counters: Sequence[dict[str, Any]],
    created_on: date | None,
) -> None:
    """Make the branch's rows say this configuration, and bump its ``config_version``.

    Args:
        branch: the branch row's columns (names, zone, languages, hours, …).
        services: in display order, each the service's columns with its ``code``.
        counters: each the counter's columns with its ``number`` and ``services``, the
            codes of its work profile in the order it takes them.
        created_on: the new branch's first business date; None when the branch exists.

    Raises:
        Conflict: another transaction created the branch (or one of its services or
            counters) at the same moment; nothing is written.
    """
    try:
        await _write_branch(conn, branch_id, branch, created_on)
        service_ids = await _write_services(conn, branch_id, services)
        await _write_counters(conn, branch_id, counters, service_ids)
    except IntegrityError:
        # Two admins created the same branch at once: the database let one through.
        raise Conflict(f"branch {branch_id!r} was changed at the same moment; try again", code="exists") from None


async def _write_branch(conn: AsyncConnection, branch_id: str, values: dict[str, Any], created_on: date | None) -> None:
    if created_on is not None:
        await conn.execute(
            insert(BRANCH).values(id=branch_id, **values, business_date=created_on, event_seq=0, config_version=1)
        )
    else:
        await conn.execute(
            update(BRANCH).where(BRANCH.c.id == branch_id)
            .values(**values, config_version=BRANCH.c.config_version + 1)
        )


async def _write_services(conn: AsyncConnection, branch_id: str, services: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert, update and retire the branch's services; code → id of those in the configuration."""
    existing = {
        row.code: row for row in (await conn.execute(select(SERVICE).where(SERVICE.c.branch_id == branch_id))).all()
    }
    ids: dict[str, int] = {}
    for position, service in enumerate(services):
        code = service["code"]
        values = {k: v for k, v in service.items() if k != "code"} | {"position": position, "retired": False}
        if code in existing:
            ids[code] = existing[code].id
            await conn.execute(update(SERVICE).where(SERVICE.c.id == ids[code]).values(**values))
        else:
            ids[code] = (
                await conn.execute(
                    insert(SERVICE).values(branch_id=branch_id, code=code, active=True, **values)
                    .returning(SERVICE.c.id)
                )
            ).scalar_one()
    for code, row in existing.items():
        if code not in ids and not row.retired:
            await _retire_service(conn, row.id)
    return ids


async def _write_counters(
    conn: AsyncConnection, branch_id: str, counters: Sequence[dict[str, Any]], service_ids: dict[str, int]
) -> None:
    """Insert, update and retire the branch's counters, and write each one's profile afresh."""
    existing = {
        row.number: row for row in (await conn.execute(select(COUNTER).where(COUNTER.c.branch_id == branch_id))).all()
    }
    for counter in counters:
        number = counter["number"]
        values = {k: v for k, v in counter.items() if k not in ("number", "services")} | {"retired": False}
        if number in existing:
            counter_id = existing[number].id
            await conn.execute(update(COUNTER).where(COUNTER.c.id == counter_id).values(**values))
            await conn.execute(delete(PROFILE).where(PROFILE.c.counter_id == counter_id))
        else:
            counter_id = (
                await conn.execute(
                    insert(COUNTER).values(branch_id=branch_id, number=number, state="closed", recent_calls="",
                                           **values)
                    .returning(COUNTER.c.id)
                )
            ).scalar_one()
        await conn.execute(
            insert(PROFILE),
            [{"counter_id": counter_id, "service_id": service_ids[code], "rank": rank}
             for rank, code in enumerate(counter["services"])],
        )
    wanted = {c["number"] for c in counters}
    for number, row in existing.items():
        if number not in wanted and not row.retired:
            await _retire_counter(conn, row.id)


async def _retire_service(conn: AsyncConnection, service_id: int) -> None:
    """Delete a service nobody ever used; keep one with tickets or bookings, out of the configuration."""
    await conn.execute(delete(PROFILE).where(PROFILE.c.service_id == service_id))
    used = (await conn.execute(select(
        exists().where(TICKET.c.service_id == service_id) | exists().where(BOOKING.c.service_id == service_id)
    ))).scalar_one()
    if used:
        await conn.execute(update(SERVICE).where(SERVICE.c.id == service_id).values(retired=True))
    else:
        await conn.execute(delete(SERVICE).where(SERVICE.c.id == service_id))


async def _retire_counter(conn: AsyncConnection, counter_id: int) -> None:
    """Delete a counter nothing refers to; keep one named by tickets or events, closed and retired."""
    await conn.execute(delete(PROFILE).where(PROFILE.c.counter_id == counter_id))
    referenced = (
        await conn.execute(
            select(
                exists().where((TICKET.c.counter_id == counter_id) | (TICKET.c.target_counter_id == counter_id))
                | exists().where(EVENT.c.counter_id == counter_id)
            )
        )
    ).scalar_one()
    if referenced:
        await conn.execute(
            update(COUNTER).where(COUNTER.c.id == counter_id)
            .values(retired=True, staff_id=None, current_ticket_id=None, state="closed")
        )
    else:
        await conn.execute(delete(COUNTER).where(COUNTER.c.id == counter_id))


async def set_service_active(conn: AsyncConnection, service_id: int, branch_id: str, active: bool) -> None:
    """Suspend (``active`` False) or resume a service, and bump the branch's ``config_version``.

    Not part of the configuration document: like a counter's state, it is the day's
    operation, so applying a configuration file keeps it.
    """
    await conn.execute(update(SERVICE).where(SERVICE.c.id == service_id).values(active=active))
    await conn.execute(
        update(BRANCH).where(BRANCH.c.id == branch_id).values(config_version=BRANCH.c.config_version + 1)
    )
