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
- sla_share: called tickets whose wait ≤ their service's target wait, ÷ called tickets.
- green_wait_avg / normal_wait_avg: average wait of green-channel / normal tickets.
- utilisation (teller and counter groups only): serving time ÷ time open, where
  time open is the sum of periods from ``counter.opened`` to the next pause or close
  (or the report's end) under that teller / at that counter.
- rating_mean, rating_share_4_5 (scores 4–5 ÷ ratings), rating_response_rate
  (ratings ÷ served tickets).
- estimate_mae: mean |estimated wait at issue − actual wait| over called tickets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, and_, case, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.errors import InvalidInput
from server.store import tables as t

GROUPS = ("service", "counter", "teller", "hour", "day", "priority")

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
        if b < a:
            raise InvalidInput("to is before from")
        if (b - a).days > 366:
            raise InvalidInput("a report covers at most 366 days")
        return cls(a, b)


def _key(group: str):
    return {
        "service": (SERVICE.c.code, []),
        "counter": (COUNTER.c.number, [COUNTER]),
        "teller": (STAFF.c.username, [STAFF]),
        "hour": (TICKET.c.issued_hour, []),
        "day": (TICKET.c.business_date, []),
        "priority": (TICKET.c.priority, []),
        "all": (literal("all"), []),
    }[group]


def _from(joins: list):
    src = TICKET.join(SERVICE, SERVICE.c.id == TICKET.c.service_id)
    if COUNTER in joins:
        src = src.outerjoin(COUNTER, COUNTER.c.id == TICKET.c.counter_id)
    if STAFF in joins:
        src = src.outerjoin(STAFF, STAFF.c.id == TICKET.c.staff_id)
    return src


def _where(branch_id: str, period: Period):
    return and_(
        TICKET.c.branch_id == branch_id,
        TICKET.c.business_date >= period.first,
        TICKET.c.business_date <= period.last,
    )


def _count_if(condition):
    return func.sum(case((condition, 1), else_=0))


def _ratio(numerator, denominator):
    return cast(numerator, Float) / func.nullif(denominator, 0)


async def _totals(conn: AsyncConnection, branch_id: str, period: Period, group: str) -> dict:
    key, joins = _key(group)
    src = _from(joins).outerjoin(FEEDBACK, FEEDBACK.c.ticket_id == TICKET.c.id)
    state = TICKET.c.state
    wait = TICKET.c.wait_s
    served = _count_if(state == "done")
    stmt = (
        select(
            key.label("key"),
            func.count().label("issued"),
            served.label("served"),
            _count_if(state == "no_show").label("no_show"),
            _count_if(state == "cancelled").label("cancelled"),
            _count_if(state == "expired").label("expired"),
            func.avg(wait).label("wait_avg_s"),
            func.max(wait).label("wait_max_s"),
            func.avg(TICKET.c.service_s).label("service_avg_s"),
            _ratio(_count_if(wait <= SERVICE.c.target_wait_s), func.count(wait)).label("sla_share"),
            func.avg(case((TICKET.c.priority == "green", wait))).label("green_wait_avg_s"),
            func.avg(case((TICKET.c.priority == "normal", wait))).label("normal_wait_avg_s"),
            func.avg(FEEDBACK.c.score).label("rating_mean"),
            _ratio(_count_if(FEEDBACK.c.score >= 4), func.count(FEEDBACK.c.id)).label("rating_share_4_5"),
            _ratio(func.count(FEEDBACK.c.id), served).label("rating_response_rate"),
            func.avg(func.abs(TICKET.c.estimated_wait_s - wait)).label("estimate_mae_s"),
            func.sum(TICKET.c.service_s).label("serving_s"),
        )
        .select_from(src)
        .where(_where(branch_id, period))
        .group_by(key)
    )
    return {r.key: dict(r._mapping) for r in (await conn.execute(stmt)).all()}


async def _percentiles(
    conn: AsyncConnection, branch_id: str, period: Period, group: str, column, prefix: str
) -> dict:
    key, joins = _key(group)
    ranked = (
        select(
            key.label("key"),
            column.label("v"),
            func.row_number().over(partition_by=key, order_by=column).label("rn"),
            func.count().over(partition_by=key).label("n"),
        )
        .select_from(_from(joins))
        .where(_where(branch_id, period), column.is_not(None))
        .subquery()
    )
    stmt = select(
        ranked.c.key,
        func.min(case((ranked.c.rn >= 0.5 * ranked.c.n, ranked.c.v))).label("median"),
        func.min(case((ranked.c.rn >= 0.9 * ranked.c.n, ranked.c.v))).label("p90"),
    ).group_by(ranked.c.key)
    return {
        r.key: {f"{prefix}_median_s": r.median, f"{prefix}_p90_s": r.p90}
        for r in (await conn.execute(stmt)).all()
    }


async def _open_seconds(
    conn: AsyncConnection, branch_id: str, start: datetime, end: datetime, group: str
) -> dict:
    """Seconds each teller / counter was open in [start, end), from the counter events."""
    rows = (
        await conn.execute(
            select(EVENT.c.kind, EVENT.c.at, EVENT.c.counter_id, EVENT.c.staff_id,
                   COUNTER.c.number, STAFF.c.username)
            .select_from(
                EVENT.join(COUNTER, COUNTER.c.id == EVENT.c.counter_id).outerjoin(
                    STAFF, STAFF.c.id == EVENT.c.staff_id
                )
            )
            .where(
                EVENT.c.branch_id == branch_id,
                EVENT.c.kind.in_(["counter.opened", "counter.paused", "counter.closed"]),
                EVENT.c.at < end,
            )
            .order_by(EVENT.c.seq)
        )
    ).all()
    opened: dict[int, tuple[datetime, Any]] = {}
    totals: dict[Any, float] = {}
    for r in rows:
        at = r.at if r.at.tzinfo else r.at.replace(tzinfo=ZoneInfo("UTC"))
        if r.counter_id in opened:
            since, who = opened.pop(r.counter_id)
            begin = max(since, start)
            if at > begin:
                totals[who] = totals.get(who, 0.0) + (at - begin).total_seconds()
        if r.kind == "counter.opened":
            opened[r.counter_id] = (at, r.username if group == "teller" else r.number)
    for since, who in opened.values():
        begin = max(since, start)
        if end > begin:
            totals[who] = totals.get(who, 0.0) + (end - begin).total_seconds()
    return totals


async def summary(
    conn: AsyncConnection, branch_id: str, timezone: str, period: Period, group: str, *, now: datetime
) -> dict[str, Any]:
    """The report as a dict: ``rows`` per group key, and ``total`` over all."""
    if group not in GROUPS:
        raise InvalidInput(f"group is one of {', '.join(GROUPS)}")
    tz = ZoneInfo(timezone)
    start = datetime.combine(period.first, time.min, tz)
    end = min(datetime.combine(period.last + timedelta(days=1), time.min, tz), now)
    out: dict[str, Any] = {"rows": [], "total": None}
    for grouping in (group, "all"):
        totals = await _totals(conn, branch_id, period, grouping)
        waits = await _percentiles(conn, branch_id, period, grouping, TICKET.c.wait_s, "wait")
        services = await _percentiles(conn, branch_id, period, grouping, TICKET.c.service_s, "service")
        open_s = (
            await _open_seconds(conn, branch_id, start, end, grouping)
            if grouping in ("teller", "counter")
            else {}
        )
        rows = []
        for key in sorted(totals, key=lambda k: (k is None, str(k) if not isinstance(k, int) else f"{k:08d}")):
            row = {**totals[key], **waits.get(key, {}), **services.get(key, {})}
            serving = row.pop("serving_s") or 0
            row["utilisation"] = (serving / open_s[key]) if open_s.get(key) else None
            rows.append(_clean(row))
        if grouping == "all":
            out["total"] = rows[0] if rows else _clean({"key": "all", "issued": 0})
        else:
            out["rows"] = rows
    return out


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
