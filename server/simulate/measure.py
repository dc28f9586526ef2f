"""How a simulated period went: the summary report, the SLA, and the estimate's error.

The estimate's error is measured as customers saw it: the wait printed on their
ticket at issue (``estimated_wait_s``) against the wait they then had (issue to
first call), over the tickets that were called and had an estimate. An estimate is
*good* when it is within ±25 % of the wait or within ±5 minutes, whichever is wider.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.reports.summary import Period, summary
from server.services.context import Services
from server.store import tables as t

TICKET = t.Ticket.__table__
SERVICE = t.Service.__table__
GOOD_SHARE, GOOD_SECONDS = 0.25, 300


@dataclass(frozen=True, slots=True)
class Seen:
    """One called ticket: its service, issue hour, the estimate given and the wait had."""

    service: str
    hour: int
    estimate_s: float
    wait_s: float


def error_figures(seen: Iterable[Seen]) -> dict[str, Any]:
    """MAE, mean wait, MAE ÷ mean wait, bias, share of good estimates, over ``seen``."""
    rows = list(seen)
    if not rows:
        return {"tickets": 0, "mae_s": None, "mean_wait_s": None, "mae_ratio": None, "bias_s": None,
                "good_share": None}
    errors = [r.estimate_s - r.wait_s for r in rows]
    mae = sum(abs(e) for e in errors) / len(rows)
    mean_wait = sum(r.wait_s for r in rows) / len(rows)
    good = sum(1 for r, e in zip(rows, errors, strict=True) if abs(e) <= max(GOOD_SHARE * r.wait_s, GOOD_SECONDS))
    return {
        "tickets": len(rows),
        "mae_s": round(mae, 1),
        "mean_wait_s": round(mean_wait, 1),
        "mae_ratio": round(mae / mean_wait, 4) if mean_wait > 0 else None,
        "bias_s": round(sum(errors) / len(rows), 1),
        "good_share": round(good / len(rows), 4),
    }


def estimate_error(seen: Iterable[Seen]) -> dict[str, Any]:
    """The error figures over all, by service and by issue hour."""
    rows = list(seen)
    by_service: dict[str, list[Seen]] = defaultdict(list)
    by_hour: dict[int, list[Seen]] = defaultdict(list)
    for r in rows:
        by_service[r.service].append(r)
        by_hour[r.hour].append(r)
    return {
        "total": error_figures(rows),
        "by_service": {k: error_figures(v) for k, v in sorted(by_service.items())},
        "by_hour": {k: error_figures(v) for k, v in sorted(by_hour.items())},
    }


async def seen_estimates(app: Services, branch_id: str, first: date, last: date) -> list[Seen]:
    """The called tickets of the period that were given an estimate at issue."""
    async with app.db.read() as conn:
        rows = (await conn.execute(
            select(SERVICE.c.code, TICKET.c.issued_hour, TICKET.c.estimated_wait_s, TICKET.c.wait_s)
            .select_from(TICKET.join(SERVICE, SERVICE.c.id == TICKET.c.service_id))
            .where(TICKET.c.branch_id == branch_id, TICKET.c.business_date >= first,
                   TICKET.c.business_date <= last, TICKET.c.wait_s.is_not(None),
                   TICKET.c.estimated_wait_s >= 0)
            .order_by(TICKET.c.id)
        )).all()
    return [Seen(r.code, r.issued_hour, float(r.estimated_wait_s), float(r.wait_s)) for r in rows]


async def green_waits(app: Services, branch_id: str, first: date, last: date) -> tuple[float, float]:
    """Average wait of green-channel and of normal tickets that were called."""
    async with app.db.read() as conn:
        rows = (await conn.execute(
            select(TICKET.c.priority, TICKET.c.wait_s)
            .where(TICKET.c.branch_id == branch_id, TICKET.c.business_date >= first,
                   TICKET.c.business_date <= last, TICKET.c.wait_s.is_not(None))
        )).all()
    green = [r.wait_s for r in rows if r.priority == "green"]
    normal = [r.wait_s for r in rows if r.priority != "green"]
    return (sum(green) / len(green) if green else 0.0, sum(normal) / len(normal) if normal else 0.0)


async def report(
    app: Services, branch_id: str, timezone: str, first: date, last: date, *, now: datetime,
    group: str = "service",
) -> dict[str, Any]:
    """The summary report of the simulated days, by the same code as the real reports."""
    lock = asyncio.Lock()

    @asynccontextmanager
    async def one_at_a_time() -> AsyncIterator[AsyncConnection]:
        # The report runs its passes at once, each on a connection of its own; the in-memory
        # database has one connection, so they take turns.
        async with lock, app.db.read() as conn:
            yield conn

    data = await summary(one_at_a_time, branch_id, timezone, Period(first, last), group, now=now)
    return {"branch": branch_id, "from": first.isoformat(), "to": last.isoformat(), "timezone": timezone,
            "group": group, **data}
