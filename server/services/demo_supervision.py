"""The demo's supervision history: a past emergency drill, and an inspection with one open
rectification (a failed item about a teller, so the staff assessment has a finding to show).

Written straight to the store with past times for the drill (it happened a week ago, so no
event is published); the inspection goes through its use case, as an inspector would record it.
Its free text is English: the zh-TW pages show it as it was written.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.domain.access import Actor, Role
from server.domain.emergency import EntryKind
from server.protocol import FindingIn, InspectionIn
from server.store import incidents, supervision
from server.store import repository as repo

from .context import Services
from .inspections import record_inspection, the_checklist

DRILL_TEXTS = {"zh-CN": "演练：系统故障，暂停取号", "en": "Drill: system failure, issuing paused",
               "zh-TW": "演練：系統故障，暫停取號"}


async def seed_demo_supervision(app: Services, branch_id: str = "demo") -> bool:
    """The drill and the inspection, unless the branch has incidents or inspections already."""
    async with app.db.read() as conn:
        if await incidents.incidents_of_branch(conn, branch_id) or await supervision.inspections(conn, branch_id):
            return False
        manager = await repo.staff_by_username(conn, "manager")
        inspector = await repo.staff_by_username(conn, "inspector")
    if manager is None or inspector is None:
        return False
    await _past_drill(app, branch_id, manager.id)
    actor = Actor("staff", inspector.id, Role.INSPECTOR, None, name="inspector", branches=(branch_id,))
    await record_inspection(app, actor, branch_id, _one_failed_item(app))
    return True


async def _past_drill(app: Services, branch_id: str, manager_id: int) -> None:
    async with app.unit_of_work(branch_id) as tx:
        day = tx.today - timedelta(days=7)
        start = datetime.combine(day, time(10, 0), ZoneInfo(tx.branch.timezone))
        iid = await incidents.insert_incident(tx.conn, {
            "branch_id": branch_id, "kind": "system_failure", "scope": "all", "texts": DRILL_TEXTS, "drill": True,
            "started_at": start, "started_by": manager_id, "business_date": day, "waiting_at_start": 0,
            "affected": [],
        })
        steps = [(0, EntryKind.STARTED, "drill system_failure, scope all"),
                 (3, EntryKind.NOTE, "customers guided to the lobby"),
                 (8, EntryKind.REPORTED_UPWARD, "drill reported to the branch office"),
                 (15, EntryKind.ENDED, "")]
        for minutes, kind, text in steps:
            await incidents.add_entry(tx.conn, iid, at=start + timedelta(minutes=minutes), kind=kind,
                                      staff_id=manager_id, actor="manager", text=text)
        await incidents.mark_reported_upward(tx.conn, iid, start + timedelta(minutes=8))
        await incidents.end_incident(tx.conn, iid, at=start + timedelta(minutes=15), by=manager_id)


def _one_failed_item(app: Services) -> InspectionIn:
    deadline = (app.clock() + timedelta(days=7)).date()
    return InspectionIn(note="demo inspection", items=[
        FindingIn(item=i.code, passed=i.code != "con_appearance",
                  **({"note": "no name badge", "owner": "manager", "staff": "teller3",
                      "requirement": "wear the name badge at the counter", "deadline": deadline}
                     if i.code == "con_appearance" else {}))
        for i in the_checklist().items
    ])
