"""What a screen needs to draw the branch from scratch, shaped by what its role may see."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.domain.access import Action, may
from server.domain.alerts import CounterView, QueueView, alerts
from server.domain.events import DEVICE_TICKET_FIELDS, STAFF_VIEWS
from server.domain.model import CounterMode, Priority
from server.store import repository as repo
from server.store.repository import BranchConfig, BranchRow

from . import emergency
from .context import Actor, Services
from .queries import read_queue
from .views import ticket_answer, ticket_event_data

RECENT_CALLS = 10

#: What each role's snapshot holds. Displays, kiosks and evaluators never see customer data.
PARTS: dict[str, tuple[str, ...]] = {
    "kiosk": ("services", "notices"),
    "display": ("services", "counters", "calls", "notices"),
    "evaluator": ("counters",),
    "counter": ("services", "counters", "calls", "queue", "notices"),
    "dashboard": ("services", "counters", "calls", "queue", "notices", "alerts"),
}


async def branch_snapshot(
    app: Services, actor: Actor, branch_id: str, role: str
) -> tuple[int, dict[str, Any]]:
    """The branch state as of event ``seq``, read in one consistent transaction."""
    parts = PARTS[role]
    staff_view = role in STAFF_VIEWS
    async with app.db.snapshot_read() as conn:
        # The socket checked that the branch exists before asking; were it gone, this fails on None, as ever.
        branch: BranchRow = await repo.load_branch(conn, branch_id)  # type: ignore[assignment]
        config = await app.config(conn, branch)
        state: dict[str, Any] = {
            "branch": {
                "id": branch.id,
                "names": branch.names,
                "language": branch.language,
                "timezone": branch.timezone,
                "business_date": branch.business_date.isoformat(),
                "languages": list(branch.languages) or ["zh-CN", "en", "zh-TW"],
                "announcements": branch.announcements or {},
                # Public, like a notice on the door: the kiosk shows them while closed.
                "hours": branch.hours or {},
                "holidays": list(branch.holidays or ()),
            }
        }
        if "services" in parts:
            counts = await repo.waiting_counts(conn, branch_id)
            state["services"] = [
                {
                    "code": code,
                    "names": s.names,
                    "active": s.active,
                    "waiting": counts.get((s.id, Priority.NORMAL), 0)
                    + counts.get((s.id, Priority.GREEN), 0),
                    "green_waiting": counts.get((s.id, Priority.GREEN), 0),
                    **(
                        {
                            "target_wait_s": s.target_wait_s,
                            "max_wait_s": s.max_wait_s,
                            "target_service_s": s.target_service_s,
                        }
                        if staff_view
                        else {}
                    ),
                }
                for code, s in config.services.items()
            ]
        if "counters" in parts:
            rows = await repo.counter_rows(conn, branch_id)
            current = await repo.tickets_by_ids(conn, [r.current_ticket_id for r in rows])
            staff = await repo.staff_names(conn, [r.staff_id for r in rows]) if staff_view else {}
            state["counters"] = [
                _counter(row, config, current.get(row.current_ticket_id), staff, staff_view)
                for row in rows
            ]
            if role == "dashboard":
                for out, row in zip(state["counters"], rows, strict=True):
                    out["state_since"] = repo.aware(row.state_since).isoformat() if row.state_since else None
            if role == "evaluator":
                # The rating pad names the teller it rates: name and staff number, nothing more.
                cards = await repo.staff_cards(conn, [r.staff_id for r in rows if r.state != "closed"])
                for out, row in zip(state["counters"], rows, strict=True):
                    out["teller"] = cards.get(row.staff_id)
        if "calls" in parts:
            state["calls"] = [
                {
                    "seq": r.seq,
                    "kind": r.kind,
                    "at": repo.aware(r.at).isoformat(),
                    "number": r.data.get("number"),
                    "service": r.data.get("service"),
                    "counter": r.data.get("counter"),
                }
                for r in await repo.recent_calls(
                    conn, branch_id, limit=RECENT_CALLS, since=_day_start(app.clock(), branch.timezone)
                )
            ]
        if "notices" in parts:
            state["notices"] = [
                {"id": n.id, "texts": n.texts, "level": n.level,
                 # The dashboard lists them with when they go down.
                 **({"posted_at": repo.aware(n.posted_at).isoformat(),
                     "expires_at": repo.aware(n.expires_at).isoformat() if n.expires_at else None}
                    if role == "dashboard" else {})}
                for n in await repo.active_notices(conn, branch_id, app.clock())
            ]
        # Every screen: the incident in force (a reconnecting kiosk or board shows it at once).
        state["emergency"] = await emergency.snapshot_part(conn, branch_id, app.clock(), staff=staff_view)
        if staff_view:
            state["devices"] = [
                {"id": d.id, "name": d.name, "kind": d.kind, "status": d.status or {},
                 "last_seen_at": d.last_seen_at.isoformat() if d.last_seen_at else None}
                for d in await repo.devices_of_branch(conn, branch_id)
            ]
        elif role == "kiosk" and actor.kind == "device":
            own = await repo.device_by_id(conn, actor.id)  # type: ignore[arg-type]  # a device has its id
            state["device"] = {"id": own.id, "name": own.name, "status": own.status or {}}
        if "queue" in parts:
            waiting = await read_queue(conn, config, branch_id, now=app.clock())
            state["queue"] = waiting.model_dump(mode="json")["tickets"]
            if "alerts" in parts:
                state["alerts"] = _alerts(state, config, rows, waiting.tickets, now=app.clock())
        if role in ("dashboard", "counter"):  # staff screens: the counters show a banner of them
            state["breaches"] = await _breaches(conn, branch_id)
            if may(actor, Action.HANDLE_COMPLAINTS, branch_id):
                from .complaints import dashboard_part

                state["complaints"] = await dashboard_part(conn, branch, app.clock())
        return branch.event_seq, state


def _alerts(state: dict[str, Any], config: BranchConfig, rows: Any, waiting: Any, *, now: datetime) -> list[Any]:
    """The dashboard's alerts (server/domain/alerts.py) from the state the snapshot just read."""
    oldest: dict[str, datetime] = {}
    for t in waiting:
        oldest[t.service] = min(oldest.get(t.service, t.issued_at), t.issued_at)
    queues = [
        QueueView(s["code"], s["waiting"], oldest.get(s["code"]),
                  _seconds(s["target_wait_s"]), _seconds(s["max_wait_s"]))
        for s in state["services"]
    ]
    counters = [
        CounterView(row.number, row.state, tuple(config.counters[row.number].services),
                    repo.aware(row.state_since) if row.state_since else None, row.staff_id is not None, row.pause_code)
        for row in rows
    ]
    return [a.as_json() for a in alerts(queues, counters, now=now)]


async def _breaches(conn: Any, branch_id: str) -> list[dict[str, Any]]:
    """The branch's open service-standard breaches (server/services/standards.py), for the dashboard."""
    from server.store import supervision

    from .standards import breach_json

    rows = await supervision.open_breaches(conn, branch_id)
    names = await repo.staff_names(conn, [r.acknowledged_by for r in rows if r.acknowledged_by])
    return [breach_json(r, names) for r in rows]


def _seconds(s: int | None) -> timedelta | None:
    return None if s is None else timedelta(seconds=s)


def _day_start(now: datetime, timezone: str) -> datetime:
    local = now.astimezone(ZoneInfo(timezone))
    return datetime.combine(local.date(), time.min, ZoneInfo(timezone))


def _counter(row: Any, config: BranchConfig, current: Any, staff: dict[int, str], staff_view: bool) -> dict[str, Any]:
    conf = config.counters[row.number]
    out: dict[str, Any] = {
        "number": row.number,
        "names": conf.names,
        "state": row.state,
        "services": list(conf.services),
        "pause_code": row.pause_code,
        "current": None,
    }
    if staff_view:  # the teller's own words stay on staff screens
        out["pause_reason"] = row.pause_reason
    if current is not None:
        if staff_view:
            out["current"] = ticket_answer(current, config).model_dump(mode="json")
        else:
            shown = ticket_event_data(current, config)
            out["current"] = {k: shown[k] for k in DEVICE_TICKET_FIELDS}
    if staff_view:
        out["staff"] = staff.get(row.staff_id)
        # What the teller's page needs to order its own queue as call-next will.
        out["mode"] = CounterMode(conf.mode).value
        out["green_only"] = conf.green_only
        out["green_ratio"] = str(conf.green_ratio) if conf.green_ratio else None
        out["recent_calls"] = row.recent_calls
    return out
