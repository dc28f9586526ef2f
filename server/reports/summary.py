"""The summary report: how long people waited and were served, grouped as the manager asks.

Every figure is aggregated in SQL (portable between SQLite and PostgreSQL) over
the branch's tickets whose business day lies in [from, to], in the branch's time
zone. Definitions, exactly as computed:

- issued: tickets issued; served / no_show / cancelled / expired: tickets now in that state.
- wait: seconds from issue to the ticket's first call (tickets never called have none).
  avg, median, p90, max over called tickets. Percentiles are nearest-rank: the
  smallest value whose rank r (1-based, ascending) satisfies r ≥ p·n.
- service time: seconds from start (or from the call, when not started) to finish,
  over served tickets; avg, median, p90.
- sla_share: called tickets whose wait ≤ the target wait their service had when they were
  issued, ÷ called tickets (changing a target never rewrites past weeks).
- green_wait_avg / normal_wait_avg: average wait of green-channel / normal tickets.
- utilisation (teller and counter groups only): serving time ÷ time open, where
  time open is the sum of periods from ``counter.opened`` to the next pause or close
  (or the report's end) under that teller / at that counter.
- rating_mean, rating_share_4_5 (scores 4–5 ÷ ratings), rating_response_rate
  (ratings ÷ served tickets).
- estimate_mae: mean |estimated wait at issue − actual wait| over called tickets that were
  given an estimate (a ticket issued with no counter serving it open has none: NULL).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Join, Table, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.errors import InvalidInput
from server.domain.events import COUNTER_KINDS, COUNTER_OPENED
from server.store import tables as t

GROUPS = ("service", "counter", "teller", "hour", "day", "priority")
#: The days a report may cover. Far beyond any branch's history and future, and inside what a
#: date can hold: a period ending 9999-12-31 has no next day, which the queries need.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
MAX_DAYS = 366

T = TypeVar("T")

TICKET = t.Ticket.__table__
SERVICE = t.Service.__table__
COUNTER = t.Counter.__table__
STAFF = t.Staff.__table__
FEEDBACK = t.Feedback.__table__
EVENT = t.TicketEvent.__table__

COLUMNS = (
    "key", "issued", "served", "no_show", "cancelled", "expired",
    "wait_avg_s", "wait_median_s", "wait_p90_s", "wait_max_s",
    "service_avg_s", "service_median_s", "service_p90_s",
    "sla_share", "green_wait_avg_s", "normal_wait_avg_s", "utilisation",
    "rating_mean", "rating_share_4_5", "rating_response_rate", "estimate_mae_s",
)


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @classmethod
    def parse(cls, first: str | None, last: str | None, *, today: date) -> Period:
        try:
            a = date.fromisoformat(first) if first else today
            b = date.fromisoformat(last) if last else (a if first else today)
        except ValueError:
            raise InvalidInput("from and to are dates: YYYY-MM-DD") from None
        if not (FIRST_DAY <= a <= LAST_DAY and FIRST_DAY <= b <= LAST_DAY):
            raise InvalidInput(f"from and to are days between {FIRST_DAY} and {LAST_DAY}")
        if b < a:
            raise InvalidInput("to is before from")
        if (b - a).days > MAX_DAYS:
            raise InvalidInput(f"a report covers at most {MAX_DAYS} days")
        return cls(a, b)


def _key(group: str) -> tuple[ColumnElement[Any], list[Table]]:
    return {
        "service": (SERVICE.c.code, []),
        "counter": (COUNTER.c.number, [COUNTER]),
        "teller": (STAFF.c.username, [STAFF]),
        "hour": (TICKET.c.issued_hour, []),
        "day": (TICKET.c.business_date, []),
        "priority": (TICKET.c.priority, []),
        "all": (literal("all"), []),
    }[group]


def _from(joins: list[Table]) -> Join:
    src = TICKET.join(SERVICE, SERVICE.c.id == TICKET.c.service_id)
    if COUNTER in joins:
        src = src.outerjoin(COUNTER, COUNTER.c.id == TICKET.c.counter_id)
    if STAFF in joins:
        src = src.outerjoin(STAFF, STAFF.c.id == TICKET.c.staff_id)
    return src


def _where(branch_id: str, period: Period) -> ColumnElement[bool]:
    return and_(
        TICKET.c.branch_id == branch_id,
        TICKET.c.business_date >= period.first,
        TICKET.c.business_date <= period.last,
    )


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


#: Additive parts of each group's figures; averages and shares are formed from them,
#: so the total over all groups is their sum (one pass over the tickets, not two).
SUMS = ("issued", "served", "no_show", "cancelled", "expired", "called", "wait_sum", "service_sum",
        "within_target", "green_called", "green_wait_sum", "normal_called", "normal_wait_sum",
        "estimate_error_sum", "estimated", "served_s")


async def _sums(conn: AsyncConnection, branch_id: str, period: Period, group: str) -> dict[Any, dict[str, Any]]:
    key, joins = _key(group)
    state, wait, green = TICKET.c.state, TICKET.c.wait_s, TICKET.c.priority == "green"
    stmt = (
        select(
            key.label("key"),
            func.count().label("issued"),
            _count_if(state == "done").label("served"),
            _count_if(state == "no_show").label("no_show"),
            _count_if(state == "cancelled").label("cancelled"),
            _count_if(state == "expired").label("expired"),
            func.count(wait).label("called"),
            func.sum(wait).label("wait_sum"),
            func.max(wait).label("wait_max_s"),
            func.sum(TICKET.c.service_s).label("service_sum"),
            # The target in force when each ticket was issued (tickets from before it was kept: today's).
            _count_if(wait <= func.coalesce(TICKET.c.target_wait_s, SERVICE.c.target_wait_s)).label("within_target"),
            _count_if(and_(green, wait.is_not(None))).label("green_called"),
            func.sum(case((green, wait))).label("green_wait_sum"),
            _count_if(and_(~green, wait.is_not(None))).label("normal_called"),
            func.sum(case((~green, wait))).label("normal_wait_sum"),
            # NULL estimates drop out of both: the sum skips them, the count leaves them out.
            func.sum(func.abs(TICKET.c.estimated_wait_s - wait)).label("estimate_error_sum"),
            func.count(TICKET.c.estimated_wait_s - wait).label("estimated"),
            func.count(TICKET.c.service_s).label("served_s"),
        )
        .select_from(_from(joins))
        .where(_where(branch_id, period))
        .group_by(key)
    )
    return {r.key: dict(r._mapping) for r in (await conn.execute(stmt)).all()}


async def _ratings(conn: AsyncConnection, branch_id: str, period: Period, group: str) -> dict[Any, dict[str, Any]]:
    key, joins = _key(group)
    stmt = (
        select(
            key.label("key"),
            func.count().label("ratings"),
            func.sum(FEEDBACK.c.score).label("score_sum"),
            _count_if(FEEDBACK.c.score >= 4).label("good"),
        )
        .select_from(_from(joins).join(FEEDBACK, FEEDBACK.c.ticket_id == TICKET.c.id))
        .where(_where(branch_id, period))
        .group_by(key)
    )
    return {r.key: dict(r._mapping) for r in (await conn.execute(stmt)).all()}


async def _frequencies(
    conn: AsyncConnection, branch_id: str, period: Period, group: str, column: ColumnElement[Any]
) -> dict[Any, list[tuple[int, int]]]:
    """Per key, (value, how many) in ascending value order: counted in SQL, a few
    thousand rows at most because the values are whole seconds."""
    key, joins = _key(group)
    stmt = (
        select(key.label("key"), column.label("v"), func.count().label("n"))
        .select_from(_from(joins))
        .where(_where(branch_id, period), column.is_not(None))
        .group_by(key, column)
        .order_by(key, column)
    )
    out: dict[Any, list[tuple[int, int]]] = {}
    for r in (await conn.execute(stmt)).all():
        out.setdefault(r.key, []).append((r.v, r.n))
    return out


def nearest_rank(frequencies: list[tuple[int, int]], p: float) -> int | None:
    """The smallest value whose rank r (1-based, ascending) satisfies r ≥ p·n."""
    n = sum(count for _, count in frequencies)
    if n == 0:
        return None
    seen = 0
    for value, count in frequencies:
        seen += count
        if seen >= p * n:
            return value
    return frequencies[-1][0]


def _merge(tables: list[list[tuple[int, int]]]) -> list[tuple[int, int]]:
    merged: dict[int, int] = {}
    for table in tables:
        for value, count in table:
            merged[value] = merged.get(value, 0) + count
    return sorted(merged.items())


@dataclass(frozen=True)
class OpenSpan:
    """A period a counter was open, clipped to [start, end), with whom it was open under."""

    counter: int
    teller: str | None
    begin: datetime
    end: datetime


async def open_spans(
    conn: AsyncConnection, branch_id: str, start: datetime, end: datetime
) -> list[OpenSpan]:
    """Every period from ``counter.opened`` to the next pause or close (or ``end``)."""
    rows = (
        await conn.execute(
            select(EVENT.c.kind, EVENT.c.at, EVENT.c.counter_id, COUNTER.c.number, STAFF.c.username)
            .select_from(
                EVENT.join(COUNTER, COUNTER.c.id == EVENT.c.counter_id).outerjoin(
                    STAFF, STAFF.c.id == EVENT.c.staff_id
                )
            )
            .where(
                EVENT.c.branch_id == branch_id,
                EVENT.c.kind.in_(COUNTER_KINDS),
                EVENT.c.at < end,
            )
            .order_by(EVENT.c.seq)
        )
    ).all()
    opened: dict[int, Any] = {}
    spans: list[OpenSpan] = []

    def close(row: Any, until: datetime) -> None:
        begin = max(row.at, start)
        if until > begin:
            spans.append(OpenSpan(row.number, row.username, begin, until))

    for r in rows:
        if r.counter_id in opened:
            close(opened.pop(r.counter_id), r.at)
        if r.kind == COUNTER_OPENED.name:
            opened[r.counter_id] = r
    for row in opened.values():
        close(row, end)
    return spans


async def _open_seconds(
    conn: AsyncConnection, branch_id: str, start: datetime, end: datetime, group: str
) -> dict[Any, float]:
    """Seconds each teller / counter was open in [start, end)."""
    totals: dict[Any, float] = {}
    for span in await open_spans(conn, branch_id, start, end):
        who = span.teller if group == "teller" else span.counter
        totals[who] = totals.get(who, 0.0) + (span.end - span.begin).total_seconds()
    return totals


def _figures(key: Any, sums: dict[str, Any], ratings: dict[str, Any], waits: list[tuple[int, int]],
             services: list[tuple[int, int]], open_s: float | None) -> dict[str, Any]:
    def div(a: Any, b: Any) -> Any:
        return a / b if a is not None and b else None

    return {
        "key": key,
        **{k: sums.get(k) or 0 for k in ("issued", "served", "no_show", "cancelled", "expired")},
        "wait_avg_s": div(sums.get("wait_sum"), sums.get("called")),
        "wait_median_s": nearest_rank(waits, 0.5),
        "wait_p90_s": nearest_rank(waits, 0.9),
        "wait_max_s": sums.get("wait_max_s"),
        "service_avg_s": div(sums.get("service_sum"), sums.get("served_s")),
        "service_median_s": nearest_rank(services, 0.5),
        "service_p90_s": nearest_rank(services, 0.9),
        "sla_share": div(sums.get("within_target"), sums.get("called")),
        "green_wait_avg_s": div(sums.get("green_wait_sum"), sums.get("green_called")),
        "normal_wait_avg_s": div(sums.get("normal_wait_sum"), sums.get("normal_called")),
        "utilisation": div(sums.get("service_sum") or 0, open_s) if open_s else None,
        "rating_mean": div(ratings.get("score_sum"), ratings.get("ratings")),
        "rating_share_4_5": div(ratings.get("good"), ratings.get("ratings")),
        "rating_response_rate": div(ratings.get("ratings") or 0, sums.get("served")),
        "estimate_mae_s": div(sums.get("estimate_error_sum"), sums.get("estimated")),
    }


def _total(groups: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {k: sum((g.get(k) or 0) for g in groups.values()) for k in SUMS}
    maxima = [g["wait_max_s"] for g in groups.values() if g.get("wait_max_s") is not None]
    total["wait_max_s"] = max(maxima) if maxima else None
    for k in ("wait_sum", "service_sum", "green_wait_sum", "normal_wait_sum", "estimate_error_sum"):
        if not any(g.get(k) is not None for g in groups.values()):
            total[k] = None
    return total


async def summary(
    connect: Callable[[], AbstractAsyncContextManager[AsyncConnection]],
    branch_id: str,
    timezone: str,
    period: Period,
    group: str,
    *,
    now: datetime,
) -> dict[str, Any]:
    """The report as a dict: ``rows`` per group key, and ``total`` over all.

    Its passes over the tickets run at once, each on a connection from
    ``connect()``: both databases then use every core (SQLite releases the GIL
    while it scans). Past days never change, so separate snapshots only matter
    for today's figures, which may then differ by the tickets of that instant.
    """
    if group not in GROUPS:
        raise InvalidInput(f"group is one of {', '.join(GROUPS)}")
    tz = ZoneInfo(timezone)
    start = datetime.combine(period.first, time.min, tz)
    end = min(datetime.combine(period.last + timedelta(days=1), time.min, tz), now)

    async def run(query: Callable[..., Awaitable[T]], *args: Any) -> T:
        async with connect() as conn:
            return await query(conn, *args)

    async def no_open_times() -> dict[Any, float]:
        return {}

    sums, ratings, waits, services, open_s = await asyncio.gather(
        run(_sums, branch_id, period, group),
        run(_ratings, branch_id, period, group),
        run(_frequencies, branch_id, period, group, TICKET.c.wait_s),
        run(_frequencies, branch_id, period, group, TICKET.c.service_s),
        run(_open_seconds, branch_id, start, end, group)
        if group in ("teller", "counter")
        else no_open_times(),
    )
    order = sorted(sums, key=lambda k: (k is None, f"{k:08d}" if isinstance(k, int) else str(k)))
    rows = [
        _clean(_figures(k, sums[k], ratings.get(k, {}), waits.get(k, []), services.get(k, []),
                        open_s.get(k)))
        for k in order
    ]
    rating_total = {f: sum(r.get(f) or 0 for r in ratings.values()) for f in ("ratings", "score_sum", "good")}
    total = _figures(
        "all", _total(sums), rating_total if ratings else {}, _merge(list(waits.values())),
        _merge(list(services.values())), None,
    )
    return {"rows": rows, "total": _clean(total)}


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in COLUMNS:
        value = row.get(column)
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, float) or (value is not None and hasattr(value, "as_integer_ratio")
                                          and not isinstance(value, int | bool)):
            value = round(float(value), 4)
        elif value is None and column in ("issued", "served", "no_show", "cancelled", "expired"):
            value = 0
        out[column] = value
    return out
