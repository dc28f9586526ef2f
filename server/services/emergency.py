"""Emergency mode: start and end an incident (or a drill), keep its timeline, report it.

The rules are in :mod:`server.domain.emergency`; here each use case opens one unit of
work, asks the store, and records the ``emergency.*`` events and the audit entry. While an
incident is active, :func:`stopped_in` tells the issuing and calling use cases which
services are stopped (kiosks and staff alike are refused a ticket of those; counters finish
what they already called, and call nothing new of those services).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from server.domain.access import Action, require
from server.domain.emergency import (
    EntryKind,
    IncidentState,
    check_scope,
    check_texts,
    figures,
    require_active,
    scope_json,
    stopped_seconds,
    stopped_services,
)
from server.domain.errors import NotFound
from server.domain.events import EMERGENCY_ENDED, EMERGENCY_STARTED, EMERGENCY_UPDATED
from server.protocol import EmergencyIn, EmergencyState, IncidentAnswer, IncidentEntryAnswer, IncidentEntryIn
from server.store import incidents as store
from server.store import repository as repo
from server.store.repository import BranchConfig

from .context import Actor, BranchTx, Services

#: The message issuing is refused with (the screens show the incident's own words).
REFUSAL = "an emergency is in force: no tickets of service {code} are issued now; please follow staff's directions"
DRILL_REFUSAL = "an emergency drill is in progress: no tickets of service {code} are issued now"


def _staff_id(actor: Actor) -> int | None:
    """The staff row to name (the command line's actor is no one's row)."""
    return actor.id if actor.is_staff and actor.id else None


async def stopped_in(tx: BranchTx) -> tuple[Any | None, list[str]]:
    """The branch's active incident (or None) and the service codes whose issuing it stops now."""
    row = await store.active_incident(tx.conn, tx.branch.id)
    if row is None:
        return None, []
    return row, stopped_services(store.to_incident(row), tx.config.services, tx.now)


async def _answer(conn: Any, row: Any, now: datetime, *, timeline: bool = True) -> IncidentAnswer:
    incident = store.to_incident(row)
    names = await repo.staff_names(conn, [row.started_by] if row.started_by else [])
    entries = await store.timeline(conn, row.id) if timeline else []
    return IncidentAnswer(
        id=row.id,
        kind=row.kind,
        scope=row.scope,
        texts=row.texts,
        drill=row.drill,
        state=incident.state.value,
        started_at=incident.started_at,
        started_by=names.get(row.started_by) if row.started_by else None,
        ended_at=incident.ended_at,
        reported_upward_at=repo.aware(row.reported_upward_at) if row.reported_upward_at else None,
        waiting_at_start=row.waiting_at_start,
        stopped_s=stopped_seconds(incident, now),
        timeline=[
            IncidentEntryAnswer(id=e.id, at=repo.aware(e.at), kind=e.kind, actor=e.actor, text=e.text)
            for e in entries
        ],
    )


def public_view(row: Any) -> dict[str, Any] | None:
    """What every screen (kiosk, board, phone) is told of the incident in force: no names, no notes."""
    if row is None:
        return None
    return {
        "id": row.id, "kind": row.kind, "scope": row.scope, "texts": row.texts, "drill": row.drill,
        "started_at": repo.aware(row.started_at).isoformat(),
    }


async def snapshot_part(conn: Any, branch_id: str, now: datetime, *, staff: bool) -> dict[str, Any] | None:
    """The snapshot's ``emergency``: the incident in force as the view may see it, or None."""
    row = await store.active_incident(conn, branch_id)
    if row is None:
        return None
    view = public_view(row)
    assert view is not None
    if staff:
        view.update((await _answer(conn, row, now)).model_dump(mode="json"))
    return view


def _service_ids(config: BranchConfig, scope: frozenset[str] | None) -> list[int] | None:
    return None if scope is None else [config.services[c].id for c in sorted(scope)]


async def start_emergency(app: Services, actor: Actor, branch_id: str, body: EmergencyIn) -> IncidentAnswer:
    """Start emergency mode (or a drill): issuing of the scope stops at once on every screen.

    Raises:
        Forbidden: not a manager of the branch (a teller, a device).
        InvalidInput: an unknown service in the scope, no zh-CN message.
        Conflict: ``emergency_active`` — one is in force already (end it first); nothing changed.
    """
    require(actor, Action.DECLARE_EMERGENCY, branch_id)
    async with app.unit_of_work(branch_id) as tx:
        scope = check_scope(body.scope, tx.config.services)
        texts = check_texts(dict(body.texts.items()))
        await repo.lock_branch(tx.conn, branch_id)  # PostgreSQL: concurrent starts queue here
        affected = await store.tickets_in_scope(tx.conn, branch_id, tx.today, _service_ids(tx.config, scope))
        affected_json = [
            {"id": r.id, "number": r.number, "service": tx.config.service_by_id(r.service_id).code, "state": r.state}
            for r in affected
        ]
        incident_id = await store.insert_incident(tx.conn, {
            "branch_id": branch_id, "kind": body.kind, "scope": scope_json(scope), "texts": texts,
            "drill": body.drill, "started_at": tx.now, "started_by": _staff_id(actor), "business_date": tx.today,
            "waiting_at_start": sum(1 for r in affected if r.state == "waiting"), "affected": affected_json,
        })
        await store.add_entry(tx.conn, incident_id, at=tx.now, kind=EntryKind.STARTED, staff_id=_staff_id(actor),
                              actor=actor.label(), text=_started_text(body, scope))
        tx.emit(EMERGENCY_STARTED, {
            "id": incident_id, "kind": body.kind, "scope": scope_json(scope), "texts": texts, "drill": body.drill,
            "started_at": tx.now.isoformat(),
        }, staff_id=_staff_id(actor))
        await tx.audit(actor, "emergency.start", f"incident {incident_id}", None,
                       {"kind": body.kind, "scope": scope_json(scope), "drill": body.drill})
        row = await store.incident_by_id(tx.conn, branch_id, incident_id)
        return await _answer(tx.conn, row, tx.now)


def _started_text(body: EmergencyIn, scope: frozenset[str] | None) -> str:
    what = "drill" if body.drill else "emergency"
    return f"{what} {body.kind}, scope {', '.join(sorted(scope)) if scope else 'all'}"


async def end_emergency(app: Services, actor: Actor, branch_id: str) -> IncidentAnswer:
    """End the incident in force: issuing resumes, every screen restores.

    Raises:
        InvalidTransition: ``no_emergency`` — none is in force; nothing changed.
    """
    require(actor, Action.DECLARE_EMERGENCY, branch_id)
    async with app.unit_of_work(branch_id) as tx:
        row = await store.active_incident(tx.conn, branch_id, lock=True)
        require_active(store.to_incident(row) if row is not None else None)
        assert row is not None
        if not await store.end_incident(tx.conn, row.id, at=tx.now, by=_staff_id(actor)):
            require_active(None)  # another process ended it a moment ago
        await store.add_entry(tx.conn, row.id, at=tx.now, kind=EntryKind.ENDED, staff_id=_staff_id(actor),
                              actor=actor.label())
        tx.emit(EMERGENCY_ENDED, {"id": row.id, "drill": row.drill, "ended_at": tx.now.isoformat()},
                staff_id=_staff_id(actor))
        await tx.audit(actor, "emergency.end", f"incident {row.id}", {"state": "active"}, {"state": "ended"})
        ended = await store.incident_by_id(tx.conn, branch_id, row.id)
        return await _answer(tx.conn, ended, tx.now)


async def _incident_or_404(conn: Any, branch_id: str, incident_id: int) -> Any:
    row = await store.incident_by_id(conn, branch_id, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id} in branch {branch_id!r}")
    return row


async def add_entry(
    app: Services, actor: Actor, branch_id: str, incident_id: int, body: IncidentEntryIn
) -> IncidentAnswer:
    """Add a note or an action to an incident's timeline (during it or after, for the record)."""
    require(actor, Action.DECLARE_EMERGENCY, branch_id)
    async with app.unit_of_work(branch_id) as tx:
        row = await _incident_or_404(tx.conn, branch_id, incident_id)
        await store.add_entry(tx.conn, row.id, at=tx.now, kind=body.kind, staff_id=_staff_id(actor),
                              actor=actor.label(), text=body.text)
        tx.emit(EMERGENCY_UPDATED, {"id": row.id, "entry": body.kind}, staff_id=_staff_id(actor))
        await tx.audit(actor, f"emergency.{body.kind}", f"incident {row.id}", None, {"text": body.text})
        return await _answer(tx.conn, row, tx.now)


async def report_upward(app: Services, actor: Actor, branch_id: str, incident_id: int) -> IncidentAnswer:
    """Record that the incident was reported upward (now); a second time keeps the first time."""
    require(actor, Action.DECLARE_EMERGENCY, branch_id)
    async with app.unit_of_work(branch_id) as tx:
        row = await _incident_or_404(tx.conn, branch_id, incident_id)
        if row.reported_upward_at is None:
            await store.mark_reported_upward(tx.conn, row.id, tx.now)
            await store.add_entry(tx.conn, row.id, at=tx.now, kind=EntryKind.REPORTED_UPWARD,
                                  staff_id=_staff_id(actor), actor=actor.label())
            tx.emit(EMERGENCY_UPDATED, {"id": row.id, "entry": EntryKind.REPORTED_UPWARD.value},
                    staff_id=_staff_id(actor))
            await tx.audit(actor, "emergency.reported_upward", f"incident {row.id}", None,
                           {"at": tx.now.isoformat()})
            row = await store.incident_by_id(tx.conn, branch_id, incident_id)
        return await _answer(tx.conn, row, tx.now)


async def emergency_state(app: Services, actor: Actor, branch_id: str) -> EmergencyState:
    """The incident in force (with its timeline) and the services it stops, or none."""
    require(actor, Action.READ_QUEUE, branch_id)
    now = app.clock()
    async with app.reading(branch_id) as (conn, _branch, config):
        row = await store.active_incident(conn, branch_id)
        if row is None:
            return EmergencyState(active=None, stopped_services=[])
        return EmergencyState(
            active=await _answer(conn, row, now),
            stopped_services=stopped_services(store.to_incident(row), config.services, now),
        )


async def list_incidents(
    app: Services, actor: Actor, branch_id: str, *, first: date | None = None, last: date | None = None
) -> list[IncidentAnswer]:
    """The branch's incidents and drills, newest first (without their timelines)."""
    require(actor, Action.DECLARE_EMERGENCY, branch_id)
    now = app.clock()
    async with app.reading(branch_id) as (conn, _branch, _config):
        rows = await store.incidents_of_branch(conn, branch_id, first=first, last=last)
        return [await _answer(conn, r, now, timeline=False) for r in rows]


async def incident_report(app: Services, actor: Actor, branch_id: str, incident_id: int) -> dict[str, Any]:
    """The report of one incident to send upward: what stopped, for how long, whom it affected, its timeline."""
    require(actor, Action.DECLARE_EMERGENCY, branch_id)
    now = app.clock()
    async with app.reading(branch_id) as (conn, branch, _config):
        row = await _incident_or_404(conn, branch_id, incident_id)
        answer = await _answer(conn, row, now)
        affected = list(row.affected or [])
        states = await store.ticket_states(conn, [a["id"] for a in affected])
    return {
        "branch": branch_id,
        "branch_names": branch.names,
        "timezone": branch.timezone,
        "incident": answer.model_dump(mode="json", exclude={"timeline"}),
        "waiting_at_start": row.waiting_at_start,
        "tickets_affected": len(affected),
        "stopped_minutes": round(answer.stopped_s / 60, 1),
        "tickets": [
            {"number": a["number"], "service": a["service"], "state_at_start": a["state"],
             "state_now": states.get(a["id"], a["state"])}
            for a in affected
        ],
        "timeline": [e.model_dump(mode="json") for e in answer.timeline],
    }


async def incident_figures(conn: Any, branch_id: str, first: date, last: date, now: datetime) -> dict[str, Any]:
    """The summary report's ``incidents``: real incidents' count and stopped minutes; drills apart, not in KPIs."""
    rows = await store.incidents_of_branch(conn, branch_id, first=first, last=last, limit=10_000)
    f = figures([store.to_incident(r) for r in rows], now)
    return {
        "count": f.count,
        "stopped_minutes": round(f.stopped_s / 60, 1),
        "drills": f.drills,
        "drill_minutes": round(f.drill_stopped_s / 60, 1),
        "active": any(r.ended_at is None and not r.drill for r in rows),
    }


__all__ = ["DRILL_REFUSAL", "REFUSAL", "IncidentState"]
