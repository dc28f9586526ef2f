"""Staff assessment for a period: each teller's score and band with the figures behind it, and
the evaluator's prompts that rating coverage counts. The rules are :mod:`server.domain.assessment`."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.domain.access import Action, Role, may, require
from server.domain.assessment import (
    Assessment,
    ServiceMix,
    Span,
    TellerRecord,
    assess,
    idle_with_queue_s,
    union,
)
from server.domain.errors import Conflict, Forbidden, NotFound, Unauthenticated
from server.domain.numbering import business_date
from server.protocol import RatingPromptIn
from server.reports.summary import Period, open_spans
from server.store import assessment as store
from server.store import repository as repo

from . import complaints
from .branches import AssessmentSpec
from .context import Actor, Services
from .tickets import EVALUATOR_WINDOW

PART_FIELDS = ("attitude", "efficiency", "complaints", "inspection")


async def record_prompt(app: Services, actor: Actor, branch_id: str, number: int,
                        body: RatingPromptIn) -> dict[str, Any]:
    """The evaluator at counter ``number`` showed the customer of ticket ``body.number`` the
    rating prompt: the ticket just finished there, the one a rating from it would be for
    (``nothing_to_rate`` otherwise). Repeating it changes nothing (``recorded`` is then False).
    """
    if actor.kind == "public":
        raise Unauthenticated("an evaluator device token is needed")
    if actor.kind != "device" or actor.role != Role.EVALUATOR or actor.branch_id != branch_id:
        raise Forbidden("only an evaluator of this branch asks for ratings at a counter")
    if number not in actor.counters:
        raise Forbidden(f"this evaluator does not face counter {number}", code="not_this_counter")
    async with app.unit_of_work(branch_id) as tx:
        conf = tx.config.counters.get(number)
        if conf is None:
            raise NotFound(f"no counter {number} in branch {branch_id!r}")
        row = await repo.last_finished_at_counter(tx.conn, conf.id, tx.now - EVALUATOR_WINDOW)
        if row is None or row.number != body.number:
            raise Conflict(f"ticket {body.number} was not the one just served at counter {number}",
                           code="nothing_to_rate")
        recorded = await store.record_prompt(tx.conn, {
            "ticket_id": row.id, "branch_id": branch_id, "counter_id": row.counter_id, "staff_id": row.staff_id,
            "device_id": actor.id, "shown_at": tx.now,
        })
    return {"number": row.number, "recorded": recorded}


def _period_bounds(period: Period, zone: str) -> tuple[datetime, datetime]:
    """The period's first and last business days as [start, end) on the branch's wall clock."""
    tz = ZoneInfo(zone)
    return (datetime.combine(period.first, time.min, tz),
            datetime.combine(period.last + timedelta(days=1), time.min, tz))


async def assessment_report(
    app: Services, actor: Actor, branch_id: str, *, first: str | None, last: str | None
) -> dict[str, Any]:
    """Every teller's assessment over the business days ``first``–``last`` (default today).

    A manager (or an administrator) sees every teller of the branch and anyone else who
    served there in the period; a teller sees their own assessment only.
    """
    require(actor, Action.READ_ASSESSMENT, branch_id)
    everyone = may(actor, Action.MANAGE_BRANCH, branch_id)
    now = app.clock()
    async with app.reading(branch_id) as (conn, branch, config):
        period = Period.parse(first, last, today=business_date(now, branch.timezone))
        start, period_end = _period_bounds(period, branch.timezone)
        end = min(period_end, now)  # counters open now count until now, not the evening
        rules = AssessmentSpec.model_validate(branch.assessment or {}).rules()
        mix = await store.served_mix(conn, branch_id, period.first, period.last)
        rated = await store.ratings(conn, branch_id, period.first, period.last)
        asked = await store.prompts(conn, branch_id, period.first, period.last)
        spans = await open_spans(conn, branch_id, start, end)
        busy = await store.busy_spans(conn, branch_id, start, end)
        waiting = await store.waiting_spans(conn, branch_id, period.first, period.last, end)
        found = await store.findings(conn, branch_id, start, period_end)
        roster = {r.id: r for r in await store.tellers(conn, branch_id)}
        others = ({r.staff_id for r in mix} | set(rated)) - set(roster)
        roster.update({r.id: r for r in await store.staff_rows(conn, sorted(others))})
    upheld = await complaints.upheld_by_teller(app, branch_id, since=start, until=period_end)
    by_name = {r.username: r.id for r in roster.values()}

    mixes: dict[int, list[ServiceMix]] = defaultdict(list)
    for r in mix:
        mixes[r.staff_id].append(ServiceMix(r.code, r.served, float(r.service_s), float(r.target_service_s)))
    open_s: dict[int, float] = defaultdict(float)
    idle_s: dict[int, float] = defaultdict(float)
    counters = {c.number: c for c in config.counters.values()}
    queues: dict[tuple[str, ...], tuple[list[Span], list[datetime], list[datetime]]] = {}
    for span in spans:
        sid = by_name.get(span.teller or "")
        if sid is None:
            continue
        open_s[sid] += (span.end - span.begin).total_seconds()
        conf = counters.get(span.counter)
        if conf is None:  # a retired counter: its profile is gone, so is what waited for it
            continue
        queue = _queue_near(queues, conf.services, waiting, span.begin, span.end)
        idle_s[sid] += idle_with_queue_s([(span.begin, span.end)], busy.get(conf.id, ()), queue,
                                         grace_s=rules.idle_grace_s)
    ids = sorted(roster, key=lambda i: roster[i].username)
    if not everyone:
        ids = [i for i in ids if i == actor.id]
    tellers = []
    for sid in ids:
        row = roster[sid]
        shown, answered = asked.get(sid, (0, 0))
        record = TellerRecord(
            staff_id=sid, username=row.username, name=row.display_name or "",
            ratings=rated.get(sid, {}), finished=sum(m.served for m in mixes.get(sid, ())),
            prompted=shown, prompted_answered=answered, mix=tuple(mixes.get(sid, ())),
            open_s=open_s.get(sid, 0.0), serving_s=sum(m.service_s for m in mixes.get(sid, ())),
            idle_queue_s=idle_s.get(sid, 0.0), upheld_complaints=upheld.get(sid, 0), findings=found.get(sid, 0),
        )
        tellers.append(_json(assess(record, rules)))
    return {
        "branch": branch_id, "branch_names": branch.names, "language": branch.language,
        "from": period.first.isoformat(), "to": period.last.isoformat(), "everyone": everyone,
        "rules": AssessmentSpec.model_validate(branch.assessment or {}).model_dump(mode="json"),
        "tellers": tellers,
    }


def _queue_near(
    cache: dict[tuple[str, ...], tuple[list[Span], list[datetime], list[datetime]]], profile: tuple[str, ...],
    waiting: dict[str, list[Span]], begin: datetime, end: datetime,
) -> list[Span]:
    """The periods some ticket of ``profile`` waited, merged once per profile, cut to those that
    meet [begin, end): a month's queue is not walked again for every open span of every teller."""
    if profile not in cache:
        merged = union(w for code in profile for w in waiting.get(code, ()))
        cache[profile] = (merged, [a for a, _ in merged], [b for _, b in merged])
    merged, starts, ends = cache[profile]
    return merged[bisect_right(ends, begin):bisect_left(starts, end)]


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def _json(a: Assessment) -> dict[str, Any]:
    return {"staff": a.staff_id, "username": a.username, "name": a.name, "score": a.score, "band": a.band,
            "parts": a.parts, "figures": _round(a.figures)}


#: The columns of the payroll export, in order: who, the score, the parts, then the figures.
COLUMNS = ("username", "name", "score", "band", *PART_FIELDS, "finished", "ratings", "rating_mean", "coverage",
           "service_vs_target", "utilisation", "idle_queue_min", "upheld_complaints", "findings")


def rows_for_export(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per teller (the columns of :data:`COLUMNS`)."""
    out = []
    for t in report["tellers"]:
        f = t["figures"]
        out.append({"username": t["username"], "name": t["name"], "score": t["score"], "band": t["band"],
                    **t["parts"], **{k: f.get(k) for k in COLUMNS[8:]}})
    return out
