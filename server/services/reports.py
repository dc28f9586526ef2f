"""Managers' reports: the summary over a period, grouped as asked."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.domain.access import Action, require
from server.domain.errors import InvalidInput, NotFound
from server.domain.hours import WEEKDAYS
from server.domain.numbering import business_date
from server.reports import advice, charts
from server.reports.appointments import appointment_figures
from server.reports.summary import Period, summary
from server.reports.words import LANGUAGES, Language
from server.store import complaints as complaint_store
from server.store import history as history_store
from server.store import repository as repo
from server.store.repository import BranchRow

from . import emergency, history, notifications
from .bookings import appointment_rules
from .context import Actor, Services


async def summary_report(
    app: Services, actor: Actor, branch_id: str, *, first: str | None, last: str | None, group: str
) -> dict[str, Any]:
    """The summary of ``branch_id`` from ``first`` to ``last`` (business days; default today)."""
    require(actor, Action.MANAGE_BRANCH, branch_id)
    now = app.clock()
    async with app.db.read() as conn:
        branch = await _branch(conn, branch_id)
    period = Period.parse(first, last, today=business_date(now, branch.timezone))
    report = await summary(app.db.slow_read, branch_id, branch.timezone, period, group, now=now)
    async with app.db.read() as conn:  # emergency mode: real incidents only, drills kept apart
        report["incidents"] = await emergency.incident_figures(conn, branch_id, period.first, period.last, now)
        report["appointments"] = await appointment_figures(
            conn, branch_id, period.first, period.last, now=now, rules=appointment_rules(branch.appointments))
    zone = ZoneInfo(branch.timezone)
    since = datetime.combine(period.first, time(), zone)
    until = datetime.combine(period.last + timedelta(days=1), time(), zone)
    rates = await notifications.delivery_rates(app, branch_id, since=since, until=until)
    report["notifications"] = [r.model_dump() for r in rates]
    return {
        "branch": branch_id,
        "branch_names": branch.names,
        "language": branch.language,
        "timezone": branch.timezone,
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "group": group,
        **report,
    }


async def _branch(conn: Any, branch_id: str) -> BranchRow:
    branch = await repo.load_branch(conn, branch_id)
    if branch is None:
        raise NotFound(f"no branch {branch_id!r}")
    return branch


async def staffing(
    app: Services, actor: Actor, branch_id: str, *, weeks: int = 4, sla: float = 0.8,
    first: str | None = None, last: str | None = None,
) -> dict[str, Any]:
    """Counters needed per weekday and hour (Erlang C) beside those open: over the days from
    ``first`` to ``last`` when given (the period the rest of the report covers), else over the
    last ``weeks`` weeks."""
    require(actor, Action.MANAGE_BRANCH, branch_id)
    if not 1 <= weeks <= 26:
        raise InvalidInput("weeks is between 1 and 26")
    if not 0.5 <= sla < 1:
        raise InvalidInput("sla is a share between 0.5 and 0.99")
    now = app.clock()
    async with app.db.slow_read() as conn:
        branch = await _branch(conn, branch_id)
        today = business_date(now, branch.timezone)
        if first is None and last is None:
            period = Period(today - timedelta(days=7 * weeks - 1), today)
        else:
            period = Period.parse(first, last, today=today)
        data = await advice.staffing_advice(conn, branch_id, branch.timezone, period, sla=sla, now=now)
        data["simulated"] = await _simulated(app, conn, branch, period, data["rows"])
        return data


async def _simulated(
    app: Services, conn: Any, branch: BranchRow, period: Period, rows: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The period's real customers replayed with the advice's counters (``simulated: 82 % within
    target with these counters``); None with no customers."""
    config = await app.config(conn, branch)
    past = await history_store.past_customers(conn, branch.id, period.first, period.last)
    if not past:
        return None
    served: dict[int, list[float]] = {}
    for r in past:
        if r.service_s is not None:
            served.setdefault(r.service_id, []).append(float(r.service_s))
    days: dict[Any, list[history.PastTicket]] = {}
    for r in past:
        try:
            service = config.service_by_id(r.service_id)
        except KeyError:
            continue
        if service.code not in config.services:
            continue  # a service removed since: no counter would take it
        times = served.get(r.service_id)
        mean = sum(times) / len(times) if times else float(service.target_service_s)
        days.setdefault(r.business_date, []).append(history.PastTicket(
            repo.aware(r.issued_at), service.code, r.priority == "green",
            float(r.service_s) if r.service_s is not None else mean,
            r.target_wait_s if r.target_wait_s is not None else service.target_wait_s,
        ))
    weekday = {name: i for i, name in enumerate(WEEKDAYS)}
    needed = {(weekday[r["weekday"]], r["hour"]): r["counters_needed"] for r in rows}
    return history.what_if(days, list(config.counters.values()), config.services, needed,
                           ZoneInfo(branch.timezone), rules=config.rules())


async def scorecard(
    app: Services, actor: Actor, branch_id: str, *, first: str | None, last: str | None
) -> dict[str, Any]:
    """Per teller: served, service time against target, satisfaction, no-show share, and the
    complaints received in the period and decided upheld against them."""
    require(actor, Action.MANAGE_BRANCH, branch_id)
    now = app.clock()
    async with app.db.slow_read() as conn:
        branch = await _branch(conn, branch_id)
        period = Period.parse(first, last, today=business_date(now, branch.timezone))
        rows = await advice.teller_scorecard(conn, branch_id, period)
        upheld = await complaint_store.upheld_against_tellers(conn, branch_id, period.first, period.last)
    for row in rows:
        row["upheld_complaints"] = upheld.pop(row["teller"], 0)
    # A teller with upheld complaints and no ticket in the period still shows.
    rows.extend({"teller": name, "upheld_complaints": n} for name, n in sorted(upheld.items()))
    return {"from": period.first.isoformat(), "to": period.last.isoformat(), "tellers": rows}


async def export(
    app: Services, actor: Actor, branch_id: str, *, first: str | None, last: str | None, group: str,
    lang: Language | None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], Language]:
    """What the workbook holds: the summary, the teller scorecard and the staffing advice over
    one period, and the language of its headings (``lang``, else the branch's)."""
    report = await summary_report(app, actor, branch_id, first=first, last=last, group=group)
    first, last = report["from"], report["to"]
    tellers = await scorecard(app, actor, branch_id, first=first, last=last)
    advice_rows = await staffing(app, actor, branch_id, first=first, last=last)
    return report, tellers, advice_rows, report_language(report, lang)


def report_language(report: dict[str, Any], lang: Language | None) -> Language:
    """``lang``, else the branch's language; the report's ``branch_name`` set in it."""
    language: Language = lang or (report["language"] if report["language"] in LANGUAGES else "zh-CN")
    names = report["branch_names"] or {}
    report["branch_name"] = names.get(language) or names.get("zh-CN") or report["branch"]
    return language


CHARTS = ("arrivals", "waits", "sla")


async def chart(
    app: Services, actor: Actor, branch_id: str, name: str, *, first: str | None, last: str | None
) -> str:
    """One report chart as SVG."""
    if name not in CHARTS:
        raise NotFound(f"no chart {name!r}; charts are {', '.join(CHARTS)}")
    if name == "waits":
        require(actor, Action.MANAGE_BRANCH, branch_id)
        now = app.clock()
        async with app.db.slow_read() as conn:
            branch = await _branch(conn, branch_id)
            period = Period.parse(first, last, today=business_date(now, branch.timezone))
            return await charts.wait_distribution(conn, branch_id, period)
    group = "hour" if name == "arrivals" else "service"
    report = await summary_report(app, actor, branch_id, first=first, last=last, group=group)
    if name == "arrivals":
        return charts.arrivals_and_served_by_hour(report["rows"])
    return charts.sla_by_service(report["rows"])
