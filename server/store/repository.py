"""Queries and writes on the tables, one function each; services compose them.

Hot paths use SQLAlchemy Core statements (no ORM identity map to fill), which
keeps issuance and call-next to a handful of round trips.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    String,
    Table,
    and_,
    bindparam,
    func,
    insert,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningInsert

from server.domain.events import CALLS, kind_named
from server.domain.model import CounterMode, CounterState, GreenRatio, Priority, TicketState
from server.domain.numbering import APPOINTMENT_SERIES, business_date
from server.domain.policy import Candidate, Profile, ServiceRule

from . import tables as t


def names(row: Any) -> dict[str, str]:
    return {"zh-CN": row.name_zh, "en": row.name_en, "zh-TW": row.name_zh_tw}


@dataclass(frozen=True, slots=True)
class BranchRow:
    id: str
    names: dict[str, str]
    timezone: str
    language: str
    hours: dict[str, Any]
    no_show_grace_s: int
    business_date: date
    event_seq: int
    config_version: int
    languages: tuple[str, ...] = ()
    holidays: tuple[str, ...] = ()
    announcements: dict[str, Any] | None = None
    limits: dict[str, str] | None = None
    """Per-branch request limits (``kiosk_issue``: ``"5/10 seconds;20/minute"``); None: the server's."""
    green_confirm: tuple[str, ...] = ()
    """Green-channel reasons only staff may issue (they confirm them)."""
    just_called_s: int = 3
    """How long after a call a call-next without ``expect`` counts as a second press."""
    complaints: dict[str, Any] | None = None
    """The bank's complaint rules here (deadline days, categories); empty: the defaults."""
    notifications: dict[str, Any] | None = None
    """The branch's message templates and limits (``notifications:`` in its YAML); empty: the built-in ones."""
    assessment: dict[str, Any] | None = None
    """How the branch weighs its tellers' assessment; empty: the defaults."""
    standards: dict[str, Any] | None = None
    """How the branch's breaches are handled (``escalate_after_min``); empty: the defaults."""
    appointments: dict[str, Any] | None = None
    """The ``appointments:`` settings (server/domain/slots.py); empty: none taken."""
    remote: dict[str, Any] | None = None
    """The ``remote:`` settings: tickets from the phone; empty: off."""


@dataclass(frozen=True, slots=True)
class ServiceConf:
    id: int
    code: str
    names: dict[str, str]
    target_wait_s: int
    max_wait_s: int | None
    target_service_s: int
    daily_cap: int | None
    green_allowed: bool
    active: bool
    hours: dict[str, Any] | None = None
    staff_reserve: int = 0
    """Of the daily cap, the tickets only staff may issue."""
    max_service_s: int | None = None
    max_queue: int | None = None
    max_idle_s: int | None = None


@dataclass(frozen=True, slots=True)
class CounterConf:
    id: int
    number: int
    names: dict[str, str]
    mode: CounterMode
    green_only: bool
    green_ratio: GreenRatio | None
    services: tuple[str, ...]

    def profile(self) -> Profile:
        return Profile(self.number, self.services, self.mode, self.green_only, self.green_ratio)


@dataclass(frozen=True, slots=True)
class BranchConfig:
    version: int
    services: dict[str, ServiceConf]  # by code, in display order
    counters: dict[int, CounterConf]  # by number
    retired_services: dict[int, ServiceConf] = field(default_factory=dict)  # by id
    retired_counters: dict[int, CounterConf] = field(default_factory=dict)  # by id
    """Removed from the configuration, still named by past tickets and events."""

    def service(self, code: str) -> ServiceConf | None:
        return self.services.get(code)

    def service_by_id(self, service_id: int) -> ServiceConf:
        found = next((s for s in self.services.values() if s.id == service_id), None)
        return found or self.retired_services[service_id]

    def counter_by_id(self, counter_id: int | None) -> CounterConf | None:
        if counter_id is None:
            return None
        found = next((c for c in self.counters.values() if c.id == counter_id), None)
        return found or self.retired_counters.get(counter_id)

    def rules(self) -> dict[str, ServiceRule]:
        return {
            code: ServiceRule(timedelta(seconds=s.max_wait_s) if s.max_wait_s else None)
            for code, s in self.services.items()
        }


# --- branch and configuration ---------------------------------------------------


# The hot statements are built once: building a statement costs more than running it.
BRANCH = t.Branch.__table__
_LOAD_BRANCH = select(BRANCH).where(BRANCH.c.id == bindparam("branch_id"))
_BUMP_SEQ = (
    update(BRANCH)
    .where(BRANCH.c.id == bindparam("branch_id"))
    .values(event_seq=BRANCH.c.event_seq + bindparam("n"))
    .returning(BRANCH.c.event_seq)
)
_INSERT_EVENT = insert(t.TicketEvent.__table__)
_NOTIFY = select(func.pg_notify("branchq_events", bindparam("payload")))


async def load_branch(conn: AsyncConnection, branch_id: str) -> BranchRow | None:
    row = (await conn.execute(_LOAD_BRANCH, {"branch_id": branch_id})).first()
    if row is None:
        return None
    return BranchRow(
        row.id,
        names(row),
        row.timezone,
        row.language,
        row.hours or {},
        row.no_show_grace_s,
        row.business_date,
        row.event_seq,
        row.config_version,
        tuple(row.languages or ()),
        tuple(row.holidays or ()),
        dict(row.announcements or {}),
        dict(row.limits or {}),
        tuple(row.green_confirm or ()),
        row.just_called_s,
        dict(row.complaints or {}),
        dict(row.notifications or {}),
        dict(row.assessment or {}),
        dict(row.standards or {}),
        dict(row.appointments or {}),
        dict(row.remote or {}),
    )


async def load_config(conn: AsyncConnection, branch: BranchRow) -> BranchConfig:
    s, c, cs = t.Service, t.Counter, t.CounterService
    services = (
        await conn.execute(
            select(s.__table__).where(s.branch_id == branch.id).order_by(s.position, s.code)
        )
    ).all()
    by_id = {row.id: row.code for row in services}
    profiles: dict[int, list[str]] = {}
    for row in (
        await conn.execute(
            select(cs.counter_id, cs.service_id)
            .join(c, c.id == cs.counter_id)
            .where(c.branch_id == branch.id)
            .order_by(cs.counter_id, cs.rank)
        )
    ).all():
        profiles.setdefault(row.counter_id, []).append(by_id[row.service_id])
    counters = (
        await conn.execute(
            select(c.__table__).where(c.branch_id == branch.id).order_by(c.number)
        )
    ).all()
    service_confs = [
        ServiceConf(
            row.id,
            row.code,
            names(row),
            row.target_wait_s,
            row.max_wait_s,
            row.target_service_s,
            row.daily_cap,
            row.green_allowed,
            row.active,
            row.hours,
            row.staff_reserve or 0,
            row.max_service_s,
            row.max_queue,
            row.max_idle_s,
        )
        for row in services
    ]
    counter_confs = [
        (
            row.retired,
            CounterConf(
                row.id,
                row.number,
                names(row),
                CounterMode(row.mode),
                row.green_only,
                GreenRatio.parse(row.green_ratio) if row.green_ratio else None,
                tuple(profiles.get(row.id, ())),
            ),
        )
        for row in counters
    ]
    retired = {row.id for row in services if row.retired}
    return BranchConfig(
        branch.config_version,
        {s.code: s for s in service_confs if s.id not in retired},
        {c.number: c for gone, c in counter_confs if not gone},
        {s.id: s for s in service_confs if s.id in retired},
        {c.id: c for gone, c in counter_confs if gone},
    )


async def ping(conn: AsyncConnection) -> None:
    """One round trip to the database."""
    await conn.execute(select(1))


async def lock_branch(conn: AsyncConnection, branch_id: str) -> None:
    """Hold the branch row until commit (PostgreSQL): one configuration editor at a time."""
    await conn.execute(select(t.Branch.id).where(t.Branch.id == branch_id).with_for_update())


async def set_business_date(conn: AsyncConnection, branch_id: str, day: date) -> None:
    await conn.execute(
        update(t.Branch).where(t.Branch.id == branch_id).values(business_date=day)
    )


async def branches_due_for_roll_over(conn: AsyncConnection, now: datetime) -> list[str]:
    """Branches whose stored business day is behind the day ``now`` in their zone."""
    rows = (await conn.execute(select(t.Branch.id, t.Branch.timezone, t.Branch.business_date))).all()
    return [branch_id for branch_id, tz, day in rows if business_date(now, tz) > day]


AUDIT = t.AuditEntry.__table__
AUDIT_TEXT = {"actor": cast(String, AUDIT.c.actor.type).length, "action": cast(String, AUDIT.c.action.type).length,
              "target": cast(String, AUDIT.c.target.type).length}


async def insert_audit(conn: AsyncConnection, **entry: Any) -> None:
    """One audit entry (text cut to its columns), in the caller's transaction."""
    for key, length in AUDIT_TEXT.items():
        entry[key] = entry[key][:length]
    await conn.execute(insert(AUDIT).values(**entry))


async def audit_entries(
    conn: AsyncConnection, branch_id: str | None, *, limit: int, before_id: int | None
) -> list[Any]:
    """Newest first: one branch's entries, or all (branch None)."""
    query = select(AUDIT).order_by(AUDIT.c.id.desc()).limit(limit)
    if branch_id is not None:
        query = query.where(AUDIT.c.branch_id == branch_id)
    if before_id is not None:
        query = query.where(AUDIT.c.id < before_id)
    return list((await conn.execute(query)).all())


async def append_events(
    conn: AsyncConnection, branch_id: str, events: list[dict[str, Any]]
) -> None:
    """Give ``events`` the branch's next seqs and write them (mutates each event).

    The branch row stays locked until commit, so seqs commit in order on every
    process and database. A kind the catalogue does not define is refused
    (:class:`~server.domain.events.UndefinedEvent`): no event nobody can read is logged.
    """
    for event in events:
        kind_named(event["kind"])
    last = (
        await conn.execute(_BUMP_SEQ, {"branch_id": branch_id, "n": len(events)})
    ).scalar_one()
    for i, event in enumerate(events):
        event["seq"] = last - len(events) + 1 + i
    await conn.execute(_INSERT_EVENT, [{"branch_id": branch_id, **event} for event in events])
    if conn.dialect.name == "postgresql":
        # Delivered to every listening process at commit, in commit order.
        await conn.execute(_NOTIFY, {"payload": f"{branch_id}:{last}"})


async def events_between(
    conn: AsyncConnection, branch_id: str, after_seq: int, up_to_seq: int
) -> list[dict[str, Any]]:
    """A branch's events with after_seq < seq ≤ up_to_seq, in order, as event dicts."""
    e = t.TicketEvent.__table__
    rows = (
        await conn.execute(
            select(e)
            .where(e.c.branch_id == branch_id, e.c.seq > after_seq, e.c.seq <= up_to_seq)
            .order_by(e.c.seq)
        )
    ).all()
    return [
        {
            "seq": r.seq,
            "kind": r.kind,
            "at": r.at,
            "ticket_id": r.ticket_id,
            "counter_id": r.counter_id,
            "staff_id": r.staff_id,
            "data": r.data,
        }
        for r in rows
    ]


async def event_seqs(conn: AsyncConnection, branch_ids: Iterable[str]) -> dict[str, int]:
    rows = (
        await conn.execute(
            select(BRANCH.c.id, BRANCH.c.event_seq).where(BRANCH.c.id.in_(list(branch_ids)))
        )
    ).all()
    return dict(rows)


# --- numbering ------------------------------------------------------------------


async def next_sequence(
    conn: AsyncConnection, branch_id: str, day: date, series: str
) -> int:
    """The next number in a series, gapless: the row stays locked until commit."""
    params = {"branch_id": branch_id, "business_date": day, "series": series, "last_value": 1}
    value: int = (await conn.execute(_next_sequence_stmt(conn.dialect.name), params)).scalar_one()
    return value


@cache
def _next_sequence_stmt(dialect: str) -> ReturningInsert[Any]:
    table = t.NumberSequence.__table__
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return ins.on_conflict_do_update(
        index_elements=["branch_id", "business_date", "series"],
        set_={"last_value": table.c.last_value + 1},
    ).returning(table.c.last_value)


# --- tickets --------------------------------------------------------------------

TICKET = t.Ticket.__table__
_INSERT_TICKET = insert(TICKET).returning(TICKET.c.id)
_WAITING_COUNTS = (
    select(TICKET.c.service_id, TICKET.c.priority, func.count())
    .where(
        TICKET.c.branch_id == bindparam("branch_id"),
        TICKET.c.state == TicketState.WAITING.value,
        TICKET.c.target_counter_id.is_(None),
    )
    .group_by(TICKET.c.service_id, TICKET.c.priority)
)
_WAITING_COUNTS_OF_SERVICE = _WAITING_COUNTS.where(TICKET.c.service_id == bindparam("service_id"))


async def insert_ticket(conn: AsyncConnection, values: dict[str, Any]) -> int:
    ticket_id: int = (await conn.execute(_INSERT_TICKET, values)).scalar_one()
    return ticket_id


@cache
def _row_by(table: Table, column: str, lock: bool) -> Select[*tuple[Any, ...]]:
    """``SELECT * FROM table WHERE column = :value`` (``FOR UPDATE`` with lock), built once."""
    stmt = select(table).where(table.c[column] == bindparam("value"))
    return stmt.with_for_update() if lock else stmt


def _locking(conn: AsyncConnection, lock: bool) -> bool:
    return lock and conn.dialect.name == "postgresql"


async def ticket_by_id(conn: AsyncConnection, ticket_id: int, *, lock: bool = False) -> Any:
    return (await conn.execute(_row_by(TICKET, "id", _locking(conn, lock)), {"value": ticket_id})).first()


async def ticket_by_token(conn: AsyncConnection, token: str, *, lock: bool = False) -> Any:
    return (await conn.execute(_row_by(TICKET, "token", _locking(conn, lock)), {"value": token})).first()


async def ticket_by_number(
    conn: AsyncConnection, branch_id: str, day: date, number: str
) -> Any:
    return (
        await conn.execute(
            select(TICKET).where(
                TICKET.c.branch_id == branch_id,
                TICKET.c.business_date == day,
                TICKET.c.number == number,
            )
        )
    ).first()


async def update_ticket(conn: AsyncConnection, ticket_id: int, **values: Any) -> None:
    await conn.execute(update(TICKET).where(TICKET.c.id == ticket_id).values(**values))


async def issued_today(conn: AsyncConnection, branch_id: str, day: date, service_id: int) -> int:
    return (
        await conn.execute(
            select(func.count())
            .select_from(TICKET)
            .where(
                TICKET.c.branch_id == branch_id,
                TICKET.c.business_date == day,
                TICKET.c.service_id == service_id,
            )
        )
    ).scalar_one()


async def waiting_counts(
    conn: AsyncConnection, branch_id: str, service_id: int | None = None
) -> dict[tuple[int, str], int]:
    """(service id, priority) → waiting tickets in the service queues (not sent to a counter)."""
    if service_id is None:
        result = await conn.execute(_WAITING_COUNTS, {"branch_id": branch_id})
    else:
        result = await conn.execute(
            _WAITING_COUNTS_OF_SERVICE, {"branch_id": branch_id, "service_id": service_id}
        )
    return {(sid, prio): n for sid, prio, n in result.all()}


def to_candidate(row: Any, config: BranchConfig) -> Candidate:
    target = config.counter_by_id(row.target_counter_id)
    return Candidate(
        id=row.id,
        service=config.service_by_id(row.service_id).code,
        priority=Priority(row.priority),
        queued_at=row.queued_at,
        head=row.head,
        counter=target.number if target else None,
        # While a checked-in appointment keeps its place, it is queued at its slot's start.
        appointment=row.queued_at if row.series == APPOINTMENT_SERIES and not row.transfers else None,
    )


async def waiting_tickets(
    conn: AsyncConnection,
    branch_id: str,
    *,
    service_ids: Iterable[int] | None = None,
    counter_id: int | None = None,
) -> Sequence[Any]:
    """Waiting tickets of the given services (any, when None) plus those sent to ``counter_id``."""
    where = [TICKET.c.branch_id == branch_id, TICKET.c.state == TicketState.WAITING]
    if service_ids is not None:
        scope: ColumnElement[bool] = TICKET.c.service_id.in_(list(service_ids))
        if counter_id is not None:
            scope = scope | (TICKET.c.target_counter_id == counter_id)
        where.append(scope)
    return (await conn.execute(select(TICKET).where(and_(*where)))).all()


@cache
def _candidates_statement(services: int, per_queue: int) -> Select[*tuple[Any, ...]]:
    """The candidates query for a profile of ``services`` services, built once per shape.

    Building the union (and SQLAlchemy's column proxies for it) cost ~35 ms, far
    more than running it; with bind parameters it is built once and reused.
    """
    waiting = (TICKET.c.branch_id == bindparam("branch_id")) & (TICKET.c.state == TicketState.WAITING.value)
    oldest = (TICKET.c.queued_at, TICKET.c.id)
    counter: BindParameter[Any] = bindparam("counter_id")
    parts = [
        select(TICKET).where(waiting, TICKET.c.target_counter_id == counter)
        .order_by(*oldest).limit(per_queue)
    ]
    for i in range(services):
        for priority in (Priority.NORMAL.value, Priority.GREEN.value):
            parts.append(
                select(TICKET)
                .where(waiting, TICKET.c.service_id == bindparam(f"service_{i}"), TICKET.c.priority == priority,
                       TICKET.c.target_counter_id.is_(None))
                .order_by(*oldest)
                .limit(per_queue)
            )
    parts.append(
        select(TICKET).where(
            waiting,
            TICKET.c.head.is_(True),
            TICKET.c.service_id.in_(bindparam("service_ids", expanding=True))
            | (TICKET.c.target_counter_id == counter),
        )
    )
    union = union_all(*(select(p.subquery()) for p in parts)).subquery()
    return select(union)


async def call_candidates(
    conn: AsyncConnection,
    branch_id: str,
    *,
    service_ids: Iterable[int],
    counter_id: int,
    per_queue: int = 3,
) -> Sequence[Any]:
    """The few waiting tickets call-next can choose from, without loading the whole queue.

    The policy only ever takes, within one queue (service × class, or the tickets
    sent to this counter), the first by queue key (a transfer placed at the head,
    else the oldest queued_at) or the longest waiting (max-wait override). So the
    head-placed tickets (rare) and the oldest ``per_queue`` of each queue are
    enough; the extra ones stand in when another counter holds the first locked.
    Each part is an ordered range of ``ix_tickets_queue``: no sort, no scan.
    """
    service_ids = list(service_ids)
    params = {"branch_id": branch_id, "counter_id": counter_id, "service_ids": service_ids}
    params.update({f"service_{i}": sid for i, sid in enumerate(service_ids)})
    rows = (await conn.execute(_candidates_statement(len(service_ids), per_queue), params)).all()
    unique = {r.id: r for r in rows}  # a head-placed ticket may also be among the oldest
    return list(unique.values())


async def lock_if_waiting(conn: AsyncConnection, ticket_id: int) -> bool:
    """Lock the ticket if it still waits; False if taken, or held by another counter right now.

    On PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so two counters calling at once
    never wait on, or take, the same ticket; the loser moves on to its next
    choice. On SQLite the write transaction already holds the whole database.
    """
    stmt = select(TICKET.c.id).where(TICKET.c.id == ticket_id, TICKET.c.state == TicketState.WAITING)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return (await conn.execute(stmt)).first() is not None


async def recent_service_seconds(
    conn: AsyncConnection, branch_id: str, service_id: int, *, limit: int
) -> list[float]:
    """Service times (call → finish) of the service's latest finished tickets, oldest first."""
    rows = (
        await conn.execute(
            select(TICKET.c.called_at, TICKET.c.finished_at)
            .where(
                TICKET.c.branch_id == branch_id,
                TICKET.c.service_id == service_id,
                TICKET.c.state == TicketState.DONE,
            )
            .order_by(TICKET.c.finished_at.desc())
            .limit(limit)
        )
    ).all()
    return [
        (_aware(f) - _aware(c)).total_seconds() for c, f in reversed(rows) if c and f
    ]


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


aware = _aware


async def expire_before(
    conn: AsyncConnection, branch_id: str, day: date, now: datetime
) -> Sequence[Any]:
    """Expire waiting and called tickets of days before ``day``; returns the expired rows."""
    return (
        await conn.execute(
            update(TICKET)
            .where(
                TICKET.c.branch_id == branch_id,
                TICKET.c.business_date < day,
                TICKET.c.state.in_([TicketState.WAITING, TicketState.CALLED]),
            )
            .values(state=TicketState.EXPIRED, finished_at=now)
            .returning(TICKET.c.id, TICKET.c.number, TICKET.c.service_id, TICKET.c.counter_id)
        )
    ).all()


# --- counters -------------------------------------------------------------------

COUNTER = t.Counter.__table__


async def counter_row(conn: AsyncConnection, counter_id: int, *, lock: bool = False) -> Any:
    return (await conn.execute(_row_by(COUNTER, "id", _locking(conn, lock)), {"value": counter_id})).first()


async def counter_rows(conn: AsyncConnection, branch_id: str) -> Sequence[Any]:
    return (
        await conn.execute(
            select(COUNTER)
            .where(COUNTER.c.branch_id == branch_id, COUNTER.c.retired.is_(False))
            .order_by(COUNTER.c.number)
        )
    ).all()


async def update_counter(conn: AsyncConnection, counter_id: int, **values: Any) -> None:
    await conn.execute(update(COUNTER).where(COUNTER.c.id == counter_id).values(**values))


async def clear_counters_holding(conn: AsyncConnection, ticket_ids: Sequence[int]) -> None:
    if ticket_ids:
        await conn.execute(
            update(COUNTER)
            .where(COUNTER.c.current_ticket_id.in_(list(ticket_ids)))
            .values(current_ticket_id=None)
        )


# --- staff and devices ------------------------------------------------------------


async def staff_by_username(conn: AsyncConnection, username: str) -> Any:
    s = t.Staff.__table__
    return (await conn.execute(select(s).where(s.c.username == username))).first()


async def staff_by_id(conn: AsyncConnection, staff_id: int) -> Any:
    s = t.Staff.__table__
    return (await conn.execute(select(s).where(s.c.id == staff_id))).first()


async def staff_names(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, str]:
    ids = [i for i in set(ids) if i is not None]
    if not ids:
        return {}
    s = t.Staff.__table__
    rows = (await conn.execute(select(s.c.id, s.c.username).where(s.c.id.in_(ids)))).all()
    return dict(rows)


async def staff_cards(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """What a customer may read of staff at a counter: {id: {"name": display name, "number": username}}."""
    ids = [i for i in set(ids) if i is not None]
    if not ids:
        return {}
    s = t.Staff.__table__
    rows = (await conn.execute(select(s.c.id, s.c.username, s.c.display_name).where(s.c.id.in_(ids)))).all()
    return {r.id: {"name": r.display_name or r.username, "number": r.username} for r in rows}


async def device_by_id(conn: AsyncConnection, device_id: int) -> Any:
    d = t.Device.__table__
    return (await conn.execute(select(d).where(d.c.id == device_id))).first()


_DEVICE_BY_TOKEN = select(t.Device.__table__).where(t.Device.__table__.c.token_hash == bindparam("h"))


async def device_by_token_hash(conn: AsyncConnection, token_hash: str) -> Any:
    return (await conn.execute(_DEVICE_BY_TOKEN, {"h": token_hash})).first()


# --- idempotency and feedback ------------------------------------------------------


_KEYS = t.IdempotencyKey.__table__
_IDEMPOTENT = select(_KEYS).where(
    _KEYS.c.branch_id == bindparam("b"), _KEYS.c.scope == bindparam("s"), _KEYS.c.key == bindparam("k")
)
_CLAIM = {
    name: dialect.insert(_KEYS).on_conflict_do_nothing(index_elements=["branch_id", "scope", "key"])
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


async def idempotent_ticket(
    conn: AsyncConnection, branch_id: str, scope: str, key: str
) -> Any:
    return (await conn.execute(_IDEMPOTENT, {"b": branch_id, "s": scope, "k": key})).first()


async def claim_idempotency_key(
    conn: AsyncConnection, values: dict[str, Any]
) -> bool:
    """Record the key; False when it was already there (waits for a concurrent holder on PostgreSQL)."""
    result = await conn.execute(_CLAIM[conn.dialect.name], values)
    return result.rowcount == 1


async def feedback_for(conn: AsyncConnection, ticket_id: int) -> Any:
    f = t.Feedback.__table__
    return (await conn.execute(select(f).where(f.c.ticket_id == ticket_id))).first()


async def insert_feedback(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(t.Feedback).values(**values))


async def recent_calls(
    conn: AsyncConnection, branch_id: str, *, limit: int, since: datetime
) -> Sequence[Any]:
    """The branch's latest call and recall events since ``since``, newest first."""
    e = t.TicketEvent.__table__
    return (
        await conn.execute(
            select(e.c.seq, e.c.kind, e.c.at, e.c.data)
            .where(
                e.c.branch_id == branch_id,
                e.c.kind.in_(CALLS),
                e.c.at >= since,
            )
            .order_by(e.c.seq.desc())
            .limit(limit)
        )
    ).all()


async def tickets_by_ids(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, Any]:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    return {r.id: r for r in (await conn.execute(select(TICKET).where(TICKET.c.id.in_(ids)))).all()}


async def staff_today(conn: AsyncConnection, staff_id: int, branch_id: str, day: date) -> tuple[int, float | None]:
    """(served, average service seconds) of one staff member on one business day."""
    row = (
        await conn.execute(
            select(func.count(), func.avg(TICKET.c.service_s)).where(
                TICKET.c.branch_id == branch_id,
                TICKET.c.business_date == day,
                TICKET.c.staff_id == staff_id,
                TICKET.c.state == TicketState.DONE.value,
            )
        )
    ).one()
    return row[0], (float(row[1]) if row[1] is not None else None)


async def last_finished_at_counter(conn: AsyncConnection, counter_id: int, since: datetime) -> Any:
    """The ticket most recently finished at a counter, if after ``since``."""
    return (
        await conn.execute(
            select(TICKET)
            .where(
                TICKET.c.counter_id == counter_id,
                TICKET.c.state == TicketState.DONE.value,
                TICKET.c.finished_at >= since,
            )
            .order_by(TICKET.c.finished_at.desc())
            .limit(1)
        )
    ).first()


async def tickets_of_device(conn: AsyncConnection, device_id: int, *, after_id: int, limit: int) -> Sequence[Any]:
    return (
        await conn.execute(
            select(TICKET)
            .where(TICKET.c.device_id == device_id, TICKET.c.id > after_id)
            .order_by(TICKET.c.id)
            .limit(limit)
        )
    ).all()


# --- print jobs (reprints) ---------------------------------------------------------

PRINT_JOB = t.PrintJob.__table__


async def insert_print_job(conn: AsyncConnection, **values: Any) -> int:
    return int((await conn.execute(insert(PRINT_JOB).values(**values).returning(PRINT_JOB.c.id))).scalar_one())


async def reprints_of_ticket(conn: AsyncConnection, ticket_id: int) -> int:
    stmt = select(func.count()).select_from(PRINT_JOB).where(PRINT_JOB.c.ticket_id == ticket_id)
    return int((await conn.execute(stmt)).scalar_one())


async def print_jobs_of_device(conn: AsyncConnection, device_id: int, *, after_id: int, limit: int) -> Sequence[Any]:
    """A kiosk's print jobs after ``after_id``, each with its ticket's row (``job_id``, ``requested_at``)."""
    stmt = (
        select(TICKET, PRINT_JOB.c.id.label("job_id"), PRINT_JOB.c.requested_at)
        .join(PRINT_JOB, PRINT_JOB.c.ticket_id == TICKET.c.id)
        .where(PRINT_JOB.c.device_id == device_id, PRINT_JOB.c.id > after_id)
        .order_by(PRINT_JOB.c.id)
        .limit(limit)
    )
    return (await conn.execute(stmt)).all()


async def issue_languages(conn: AsyncConnection, ticket_ids: Sequence[int]) -> dict[int, str]:
    """The language each ticket was taken in, where its ``ticket.issued`` event says one."""
    if not ticket_ids:
        return {}
    e = t.TicketEvent.__table__
    rows = await conn.execute(
        select(e.c.ticket_id, e.c.data).where(e.c.ticket_id.in_(ticket_ids), e.c.kind == "ticket.issued")
    )
    return {r.ticket_id: r.data["language"] for r in rows if isinstance(r.data, dict) and r.data.get("language")}


async def set_device_status(conn: AsyncConnection, device_id: int, status: dict[str, Any], at: datetime) -> None:
    d = t.Device.__table__
    await conn.execute(update(d).where(d.c.id == device_id).values(status=status, last_seen_at=at))


async def devices_of_branch(conn: AsyncConnection, branch_id: str, *, revoked: bool = False) -> Sequence[Any]:
    """The branch's devices by id; ``revoked`` ones too when asked."""
    d = t.Device.__table__
    query = select(d).where(d.c.branch_id == branch_id).order_by(d.c.id)
    return (await conn.execute(query if revoked else query.where(d.c.revoked.is_(False)))).all()


NOTICE = t.Notice.__table__


async def active_notices(conn: AsyncConnection, branch_id: str, now: datetime) -> Sequence[Any]:
    return (
        await conn.execute(
            select(NOTICE)
            .where(
                NOTICE.c.branch_id == branch_id,
                NOTICE.c.cleared_at.is_(None),
                (NOTICE.c.expires_at.is_(None)) | (NOTICE.c.expires_at > now),
            )
            .order_by(NOTICE.c.id)
        )
    ).all()


async def insert_notice(conn: AsyncConnection, values: dict[str, Any]) -> int:
    notice_id: int = (await conn.execute(insert(NOTICE).values(**values).returning(NOTICE.c.id))).scalar_one()
    return notice_id


async def branches_with_expired_notices(conn: AsyncConnection, now: datetime) -> list[str]:
    """The branches with a notice still up whose end time has passed."""
    query = (
        select(NOTICE.c.branch_id)
        .where(NOTICE.c.cleared_at.is_(None), NOTICE.c.expires_at.is_not(None), NOTICE.c.expires_at <= now)
        .distinct()
        .order_by(NOTICE.c.branch_id)
    )
    return list((await conn.execute(query)).scalars())


async def clear_expired_notices(conn: AsyncConnection, branch_id: str, now: datetime) -> list[int]:
    """Take down the branch's notices whose end time has passed; the ids this call took down.

    One conditional UPDATE: of two processes sweeping at once, the second finds the rows
    already cleared (PostgreSQL re-checks the condition after the first commits; SQLite
    runs one writer at a time), so each notice is cleared, and announced, once.
    """
    result = await conn.execute(
        update(NOTICE)
        .where(NOTICE.c.branch_id == branch_id, NOTICE.c.cleared_at.is_(None),
               NOTICE.c.expires_at.is_not(None), NOTICE.c.expires_at <= now)
        .values(cleared_at=NOTICE.c.expires_at)
        .returning(NOTICE.c.id)
    )
    return sorted(result.scalars())


async def clear_notice(conn: AsyncConnection, branch_id: str, notice_id: int, now: datetime) -> bool:
    result = await conn.execute(
        update(NOTICE)
        .where(NOTICE.c.id == notice_id, NOTICE.c.branch_id == branch_id, NOTICE.c.cleared_at.is_(None))
        .values(cleared_at=now)
    )
    return result.rowcount == 1


# --- what the projected wait estimate reads ------------------------------------------------


async def recent_service_seconds_by_service(
    conn: AsyncConnection, branch_id: str, *, limit: int
) -> dict[int, list[float]]:
    """Service id → service times (call → finish) of the branch's latest ``limit`` finished tickets,
    oldest first."""
    rows = (
        await conn.execute(
            select(TICKET.c.service_id, TICKET.c.called_at, TICKET.c.finished_at)
            .where(TICKET.c.branch_id == branch_id, TICKET.c.state == TicketState.DONE)
            .order_by(TICKET.c.finished_at.desc())
            .limit(limit)
        )
    ).all()
    out: dict[int, list[float]] = {}
    for sid, c, f in reversed(rows):
        if c and f:
            out.setdefault(sid, []).append((_aware(f) - _aware(c)).total_seconds())
    return out


async def issued_since(
    conn: AsyncConnection, branch_id: str, since: datetime
) -> tuple[dict[tuple[int, str], int], datetime | None]:
    """(service id, priority) → tickets issued since ``since``, and the first such issue time."""
    rows = (
        await conn.execute(
            select(TICKET.c.service_id, TICKET.c.priority, func.count(), func.min(TICKET.c.issued_at))
            .where(TICKET.c.branch_id == branch_id, TICKET.c.issued_at >= since)
            .group_by(TICKET.c.service_id, TICKET.c.priority)
        )
    ).all()
    first = min((_aware(r[3]) for r in rows if r[3] is not None), default=None)
    return {(sid, prio): n for sid, prio, n, _ in rows}, first


async def open_counters_at_work(conn: AsyncConnection, branch_id: str) -> Sequence[Any]:
    """The branch's open counters: number, recent call classes, and the service and call time of the
    ticket each holds (None when it holds none)."""
    return (
        await conn.execute(
            select(COUNTER.c.number, COUNTER.c.recent_calls, TICKET.c.service_id, TICKET.c.called_at)
            .select_from(COUNTER.outerjoin(TICKET, TICKET.c.id == COUNTER.c.current_ticket_id))
            .where(COUNTER.c.branch_id == branch_id, COUNTER.c.retired.is_(False),
                   COUNTER.c.state == CounterState.OPEN)
            .order_by(COUNTER.c.number)
        )
    ).all()


async def waiting_candidates(conn: AsyncConnection, branch_id: str) -> Sequence[Any]:
    """Every waiting ticket of the branch, with only what the policy reads (see :func:`to_candidate`)."""
    return (
        await conn.execute(
            select(TICKET.c.id, TICKET.c.service_id, TICKET.c.priority, TICKET.c.queued_at, TICKET.c.head,
                   TICKET.c.target_counter_id, TICKET.c.series, TICKET.c.transfers)
            .where(TICKET.c.branch_id == branch_id, TICKET.c.state == TicketState.WAITING)
        )
    ).all()
