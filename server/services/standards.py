"""Service standards that act: evaluate the breach rules, record and acknowledge breaches, report them.

:func:`evaluate` is what the server's periodic evaluator runs on every branch (and any
process may run it at the same moment: the branch row is locked on PostgreSQL, SQLite's
write transaction holds the database, and an open breach's key is unique per branch, so a
breach is one record however many processes evaluate). It raises, clears and escalates
as :func:`server.domain.standards.reconcile` says, each step with its ``alert.*`` event.

Where a breach is raised or escalated, :func:`notify` is called with who should hear of it:
the one call point for the notifier: the branch's staff recipients (webhook, e-mail) get a
message written in the same transaction (server/notify's outbox), and it is logged.
How long a breach may stay unacknowledged before it escalates is the branch's own
(``standards: {escalate_after_min: …}`` in its YAML; 10 minutes by default).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.domain.access import Action, require
from server.domain.errors import Conflict, InvalidInput, NotFound
from server.domain.events import ALERT_ACKNOWLEDGED, ALERT_CLEARED, ALERT_ESCALATED, ALERT_RAISED
from server.domain.standards import (
    ESCALATE_AFTER,
    REGIONAL_LEVEL,
    Breach,
    Plan,
    Recorded,
    Standards,
    breaches,
    reconcile,
)
from server.store import repository as repo
from server.store import supervision as store
from server.store.repository import BranchConfig

from . import notifications
from .context import Actor, Services

log = logging.getLogger(__name__)

NOTE_MAX = 500


def standards_of(config: BranchConfig) -> dict[str, Standards]:
    """Each service's standards as its configuration sets them."""

    def s(seconds: int | None) -> timedelta | None:
        return None if seconds is None else timedelta(seconds=seconds)

    return {
        code: Standards(target_wait=s(c.target_wait_s), max_wait=s(c.max_wait_s),
                        target_service=s(c.target_service_s), max_service=s(c.max_service_s),
                        max_queue=c.max_queue, max_idle=s(c.max_idle_s))
        for code, c in config.services.items()
    }



async def notify(tx: Any, branch_id: str, event: str, breach: Mapping[str, Any], audience: list[str]) -> None:
    """Tell of a breach ``event`` ("raised" or "escalated"): ``audience`` (usernames) see it on
    their screens, and the staff recipients the branch's YAML names (``notifications.staff``:
    its webhook, e-mail addresses) get a message queued in the breach's own transaction, so it
    goes out only if the breach was recorded, under a key that makes a repeat harmless.
    """
    log.info("breach %s %s of %s for %s", event, breach.get("key"), branch_id, ", ".join(audience) or "nobody")
    facts = ", ".join(f"{k} {v}" for k, v in dict(breach.get("facts") or {}).items())
    await notifications.tell_staff(tx, "breach", f"breach:{breach['id']}:{event}", {
        **{k: v for k, v in breach.items() if k != "key"}, "event": event, "to": audience,
        "text": f"{breach['rule']}: {facts}" if facts else str(breach["rule"])})


def _iso(at: datetime) -> str:
    return repo.aware(at).isoformat()


def _base(row: Any, **override: Any) -> dict[str, Any]:
    return {"id": row.id, "rule": row.rule, "service": row.service, "counter": row.counter,
            "severity": row.severity, "level": row.level, **override}


def breach_json(row: Any, names: Mapping[int, str] | None = None) -> dict[str, Any]:
    """A breach record as the dashboard and the API show it."""
    return {
        **_base(row), "key": row.key, "facts": row.facts or {}, "suggestion": row.suggestion,
        "raised_at": _iso(row.raised_at),
        "cleared_at": _iso(row.cleared_at) if row.cleared_at else None,
        "escalated_at": _iso(row.escalated_at) if row.escalated_at else None,
        "acknowledged_at": _iso(row.acknowledged_at) if row.acknowledged_at else None,
        "acknowledged_by": (names or {}).get(row.acknowledged_by) if row.acknowledged_by else None,
        "note": row.note,
    }


async def evaluate(app: Services, branch_id: str, *, escalate_after: timedelta | None = None) -> Plan:
    """Raise, clear and escalate the branch's breaches as they stand now; what was done.

    A breach escalates ``escalate_after`` after it was raised unacknowledged: by default the
    branch's own delay (``standards.escalate_after_min``), else :data:`ESCALATE_AFTER`.
    """
    async with app.unit_of_work(branch_id) as tx:
        if escalate_after is None:
            minutes = (tx.branch.standards or {}).get("escalate_after_min")
            escalate_after = timedelta(minutes=minutes) if minutes else ESCALATE_AFTER
        # Two evaluators of one branch meet here: the second reads what the first wrote.
        await repo.lock_branch(tx.conn, branch_id)
        state = await store.branch_state(tx.conn, branch_id, tx.config)
        holding = breaches(state.queues, state.counters, state.serving, standards_of(tx.config),
                           now=tx.now, tellers=state.tellers)
        rows = await store.open_breaches(tx.conn, branch_id)
        recorded = [Recorded(r.id, r.key, repo.aware(r.raised_at), r.level, r.acknowledged_at is not None)
                    for r in rows]
        plan = reconcile(holding, recorded, now=tx.now, escalate_after=escalate_after)
        if plan.empty:
            return plan
        by_id = {r.id: r for r in rows}
        for b in plan.raise_:
            await _raise(tx, branch_id, b)
        for rid in plan.clear:
            await store.update_breach(tx.conn, rid, cleared_at=tx.now, open_key=None)
            tx.emit(ALERT_CLEARED, {**_base(by_id[rid]), "cleared_at": tx.now.isoformat()})
        if plan.escalate:
            to = await store.overseers(tx.conn, branch_id)
            for rid in plan.escalate:
                await store.update_breach(tx.conn, rid, level=REGIONAL_LEVEL, escalated_at=tx.now)
                row = by_id[rid]
                tx.emit(ALERT_ESCALATED, {**_base(row, level=REGIONAL_LEVEL), "to": to,
                                          "escalated_at": tx.now.isoformat()})
                await notify(tx, branch_id, "escalated", _message(row.key, _base(row, level=REGIONAL_LEVEL)), to)
    return plan


async def _raise(tx: Any, branch_id: str, b: Breach) -> None:
    suggestion = b.suggestion.as_json() if b.suggestion is not None else None
    values = {"branch_id": branch_id, "rule": b.rule.value, "key": b.key, "service": b.service,
              "counter": b.counter, "severity": b.severity.value, "level": 1, "facts": dict(b.facts),
              "suggestion": suggestion, "raised_at": tx.now}
    rid = await store.insert_breach(tx.conn, values)
    tx.emit(ALERT_RAISED, {"id": rid, "rule": b.rule.value, "service": b.service, "counter": b.counter,
                           "severity": b.severity.value, "level": 1, "facts": dict(b.facts),
                           "suggestion": suggestion, "raised_at": tx.now.isoformat()})
    message = _message(b.key, {"id": rid, "rule": b.rule.value, "service": b.service, "counter": b.counter,
                                "severity": b.severity.value, "level": 1, "facts": dict(b.facts),
                                "suggestion": suggestion})
    await notify(tx, branch_id, "raised", message, await store.branch_managers(tx.conn, branch_id))


def _message(key: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    return {"key": key, **fields}


async def evaluate_all(app: Services) -> dict[str, Plan]:
    """:func:`evaluate` on every branch; a branch that fails is logged and the others go on."""
    async with app.db.read() as conn:
        ids = await store.branch_ids(conn)
    done: dict[str, Plan] = {}
    for branch_id in ids:
        try:
            done[branch_id] = await evaluate(app, branch_id)
        except Exception:
            log.exception("breach evaluation of %s failed", branch_id)
    return done


async def acknowledge(app: Services, actor: Actor, branch_id: str, breach_id: int, note: str) -> dict[str, Any]:
    """A manager acknowledges an open breach with a note (once: a second time is ``acknowledged``)."""
    require(actor, Action.MANAGE_BRANCH, branch_id)
    note = note.strip()
    if not note or len(note) > NOTE_MAX:
        raise InvalidInput(f"a note of 1 to {NOTE_MAX} characters says what was done")
    async with app.unit_of_work(branch_id) as tx:
        row = await store.breach(tx.conn, branch_id, breach_id)
        if row is None:
            raise NotFound(f"no breach {breach_id} in branch {branch_id!r}")
        if row.acknowledged_at is not None:
            raise Conflict(f"breach {breach_id} was acknowledged already", code="acknowledged")
        await store.update_breach(tx.conn, breach_id, acknowledged_by=actor.id, acknowledged_at=tx.now, note=note)
        await tx.audit(actor, "breach.acknowledge", f"breach {breach_id}", None, {"note": note})
        tx.emit(ALERT_ACKNOWLEDGED, {**_base(row), "by": actor.name or str(actor.id), "note": note,
                                     "acknowledged_at": tx.now.isoformat()}, staff_id=actor.id)
        after = await store.breach(tx.conn, branch_id, breach_id)
        return breach_json(after, {actor.id: actor.name} if actor.id is not None else {})


async def open_breaches(app: Services, actor: Actor, branch_id: str) -> list[dict[str, Any]]:
    """The branch's open breaches, for the dashboard."""
    require(actor, Action.MANAGE_BRANCH, branch_id)
    async with app.reading(branch_id) as (conn, _branch, _config):
        rows = await store.open_breaches(conn, branch_id)
        names = await repo.staff_names(conn, [r.acknowledged_by for r in rows if r.acknowledged_by])
        return [breach_json(r, names) for r in rows]


async def breach_report(app: Services, actor: Actor, branch_id: str, *, first: str, last: str) -> dict[str, Any]:
    """Breaches per business day and service over ``first``–``last`` (ISO dates, the branch's zone):
    how many, minutes in breach (open ones up to now), minutes to acknowledge (mean of those acknowledged)."""
    require(actor, Action.MANAGE_BRANCH, branch_id)
    from datetime import date, time

    try:
        d0, d1 = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        raise InvalidInput("from and to are days, YYYY-MM-DD") from None
    if d1 < d0 or (d1 - d0).days > 366:
        raise InvalidInput("to is on or after from, at most 366 days on")
    async with app.reading(branch_id) as (conn, branch, _config):
        zone = ZoneInfo(branch.timezone)
        start = datetime.combine(d0, time.min, zone)
        end = datetime.combine(d1 + timedelta(days=1), time.min, zone)
        rows = await store.breaches_between(conn, branch_id, start, end)
    now = app.clock()
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        raised = repo.aware(r.raised_at)
        day = raised.astimezone(zone).date().isoformat()
        g = groups.setdefault((day, r.service or ""), {"day": day, "service": r.service, "breaches": 0,
                                                      "severe": 0, "escalated": 0, "minutes_in_breach": 0.0,
                                                      "acknowledged": 0, "_ack_s": 0.0})
        g["breaches"] += 1
        g["severe"] += r.severity == "severe"
        g["escalated"] += r.escalated_at is not None
        g["minutes_in_breach"] += ((repo.aware(r.cleared_at) if r.cleared_at else now) - raised).total_seconds() / 60
        if r.acknowledged_at is not None:
            g["acknowledged"] += 1
            g["_ack_s"] += (repo.aware(r.acknowledged_at) - raised).total_seconds()
    out = []
    for _key, g in sorted(groups.items()):
        ack_s = g.pop("_ack_s")
        g["minutes_in_breach"] = round(g["minutes_in_breach"], 1)
        g["minutes_to_acknowledge"] = round(ack_s / 60 / g["acknowledged"], 1) if g["acknowledged"] else None
        out.append(g)
    return {"branch": branch_id, "from": d0.isoformat(), "to": d1.isoformat(), "rows": out}
