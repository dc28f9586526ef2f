"""Staffing advice and the teller scorecard, from the ticket and event log."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, and_, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.hours import WEEKDAYS
from server.domain.staffing import counters_needed, evaluate
from server.store import tables as t

from .summary import SERVICE, STAFF, TICKET, Period, open_spans


async def staffing_advice(
    conn: AsyncConnection, branch_id: str, timezone: str, period: Period, *, sla: float, now: datetime,
) -> dict[str, Any]:
    """Counters needed per weekday and hour to meet ``sla`` (Erlang C), beside those actually open.

    For each weekday × hour over the days of ``period``: arrivals per hour (tickets
    issued in that hour ÷ number of such weekdays), the average handling time of
    tickets served in that slot, the branch's target wait (the issued-weighted
    mean of its services' targets), and the counters open on average in that hour.
    """
    first_day, last_day = period.first, period.last
    rows = (
        await conn.execute(
            select(
                TICKET.c.business_date,
                TICKET.c.issued_hour,
                func.count().label("arrivals"),
                func.sum(TICKET.c.service_s).label("service_sum"),
                func.count(TICKET.c.service_s).label("served"),
                func.sum(SERVICE.c.target_wait_s).label("target_sum"),
            )
            .select_from(TICKET.join(SERVICE, SERVICE.c.id == TICKET.c.service_id))
            .where(
                TICKET.c.branch_id == branch_id,
                TICKET.c.business_date >= period.first,
                TICKET.c.business_date <= period.last,
            )
            .group_by(TICKET.c.business_date, TICKET.c.issued_hour)
        )
    ).all()
    days_per_weekday: defaultdict[int, int] = defaultdict(int)
    day = first_day
    while day <= last_day:
        days_per_weekday[day.weekday()] += 1
        day += timedelta(days=1)
    slots: dict[tuple[int, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        slot = slots[(r.business_date.weekday(), r.issued_hour)]
        slot["arrivals"] += r.arrivals
        slot["service_sum"] += r.service_sum or 0
        slot["served"] += r.served
        slot["target_sum"] += r.target_sum or 0
    open_hours = await _open_counter_hours(conn, branch_id, timezone, first_day, last_day, now)
    advice = []
    for (weekday, hour), s in sorted(slots.items()):
        n_days = days_per_weekday[weekday]
        arrivals = s["arrivals"] / n_days
        aht = s["service_sum"] / s["served"] if s["served"] else 0.0
        target = s["target_sum"] / s["arrivals"]
        need = counters_needed(arrivals, 3600, aht, target_s=target, sla=sla)
        open_avg = open_hours.get((weekday, hour), 0.0) / n_days
        with_open = (
            evaluate(arrivals, 3600, aht, round(open_avg), target).service_level
            if aht and round(open_avg) > 0
            else None
        )
        advice.append(
            {
                "weekday": WEEKDAYS[weekday],
                "hour": hour,
                "arrivals_per_hour": round(arrivals, 2),
                "aht_s": round(aht, 1),
                "target_wait_s": round(target),
                "counters_needed": need.counters,
                "service_level_needed": round(need.service_level, 4),
                "counters_open": round(open_avg, 2),
                "service_level_open": round(with_open, 4) if with_open is not None else None,
            }
        )
    return {"from": first_day.isoformat(), "to": last_day.isoformat(), "sla": sla, "rows": advice}


async def _open_counter_hours(
    conn: AsyncConnection, branch_id: str, timezone: str, first: date, last: date, now: datetime
) -> dict[tuple[int, int], float]:
    """Counter-hours open in each weekday × hour slot over the period (from counter events)."""
    tz = ZoneInfo(timezone)
    start = datetime.combine(first, time.min, tz)
    end = min(datetime.combine(last + timedelta(days=1), time.min, tz), now)
    spans = [(span.begin, span.end) for span in await open_spans(conn, branch_id, start, end)]
    hours: dict[tuple[int, int], float] = defaultdict(float)
    for a, b in spans:
        a, b = max(a, start).astimezone(tz), min(b, end).astimezone(tz)
        while a < b:
            edge = (a + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
            piece = min(edge, b)
            hours[(a.weekday(), a.hour)] += (piece - a).total_seconds() / 3600
            a = piece
    return hours


async def teller_scorecard(conn: AsyncConnection, branch_id: str, period: Period) -> list[dict[str, Any]]:
    """Per teller: served, average service time against the target of what they served,
    satisfaction, and the share of their calls that were no-shows."""
    feedback = t.Feedback.__table__
    served = case((TICKET.c.state == "done", 1), else_=0)
    stmt = (
        select(
            STAFF.c.username.label("teller"),
            func.sum(served).label("served"),
            func.avg(TICKET.c.service_s).label("service_avg_s"),
            func.avg(case((TICKET.c.state == "done", SERVICE.c.target_service_s))).label("target_service_avg_s"),
            func.avg(feedback.c.score).label("rating_mean"),
            func.count(feedback.c.id).label("ratings"),
            (
                cast(func.sum(case((TICKET.c.state == "no_show", 1), else_=0)), Float)
                / func.nullif(func.count(), 0)
            ).label("no_show_share"),
        )
        .select_from(
            TICKET.join(SERVICE, SERVICE.c.id == TICKET.c.service_id)
            .join(STAFF, STAFF.c.id == TICKET.c.staff_id)
            .outerjoin(feedback, feedback.c.ticket_id == TICKET.c.id)
        )
        .where(
            and_(
                TICKET.c.branch_id == branch_id,
                TICKET.c.business_date >= period.first,
                TICKET.c.business_date <= period.last,
            )
        )
        .group_by(STAFF.c.username)
        .order_by(STAFF.c.username)
    )
    out = []
    for r in (await conn.execute(stmt)).all():
        row: dict[str, Any] = {
            k: (round(float(v), 4) if v is not None and not isinstance(v, int | str) else v)
            for k, v in r._mapping.items()
        }
        avg, target = row["service_avg_s"], row["target_service_avg_s"]
        row["service_vs_target"] = round(avg / target, 4) if avg and target else None
        out.append(row)
    return out


