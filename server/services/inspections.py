"""Inspections and rectification (整改): record a visit, photos, the owner's report, the re-check,
overdue escalation, and the monthly bulletin. The rules are in :mod:`server.domain.inspection`."""

from __future__ import annotations

import logging
import os
import secrets
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from server.domain.access import Action, require
from server.domain.errors import Conflict, InvalidInput, NotFound
from server.domain.events import (
    INSPECTION_RECORDED,
    RECTIFICATION_OVERDUE,
    RECTIFICATION_RECHECKED,
    RECTIFICATION_REPORTED,
)
from server.domain.inspection import (
    Checklist,
    Finding,
    RectAction,
    RectState,
    RectView,
    bulletin,
    checklist_from,
    is_overdue,
    next_state,
)
from server.protocol import InspectionIn, RecheckIn, RectificationReportIn
from server.store import assessment as findings
from server.store import repository as repo
from server.store import supervision as store

from .context import Actor, Services

log = logging.getLogger(__name__)

DEFAULT_CHECKLIST = Path(__file__).with_name("checklists") / "bank_branch.yaml"
#: Photo types accepted, by the first bytes of the file (never by what the client says alone).
PHOTO_TYPES = {"image/jpeg": (b"\xff\xd8\xff", ".jpg"), "image/png": (b"\x89PNG\r\n\x1a\n", ".png"),
               "image/webp": (b"RIFF", ".webp")}


@lru_cache(maxsize=4)
def _load(path: str) -> Checklist:
    with open(path, encoding="utf-8") as f:
        return checklist_from(yaml.safe_load(f))


def the_checklist() -> Checklist:
    """The checklist in force: ``BRANCHQ_CHECKLIST`` when set, else the bank-branch default."""
    return _load(os.environ.get("BRANCHQ_CHECKLIST") or str(DEFAULT_CHECKLIST))


def _iso(at: datetime | None) -> str | None:
    return repo.aware(at).isoformat() if at is not None else None


def _end_of_day(day: date, zone: str) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, ZoneInfo(zone)) - timedelta(microseconds=1)


def rect_json(r: Any, names: dict[int, str]) -> dict[str, Any]:
    return {"id": r.id, "inspection": r.inspection_id, "item": r.item, "owner": names.get(r.owner_id),
            "requirement": r.requirement, "deadline": _iso(r.deadline), "state": r.state, "report": r.report,
            "reported_at": _iso(r.reported_at), "recheck_note": r.recheck_note,
            "rechecked_at": _iso(r.rechecked_at), "rounds": r.rounds, "overdue_at": _iso(r.overdue_at)}


async def checklist(app: Services, actor: Actor, branch_id: str) -> dict[str, Any]:
    require(actor, Action.READ_INSPECTIONS, branch_id)
    return the_checklist().as_json()


async def record_inspection(app: Services, actor: Actor, branch_id: str, body: InspectionIn) -> dict[str, Any]:
    """An inspector records a visit: every checklist item answered once; a rectification per failure."""
    require(actor, Action.INSPECT, branch_id)
    cl = the_checklist()
    given = [f.item for f in body.items]
    unknown = sorted(set(given) - {i.code for i in cl.items})
    if unknown:
        raise InvalidInput(f"not on the checklist: {', '.join(unknown)}")
    if len(set(given)) != len(given) or len(given) != len(cl.items):
        raise InvalidInput(f"answer each of the checklist's {len(cl.items)} items once")
    async with app.unit_of_work(branch_id) as tx:
        owners, about = {}, {}
        for f in body.items:
            if f.passed:
                continue
            assert f.owner is not None and f.deadline is not None
            row = await store.staff_of_branch(tx.conn, branch_id, f.owner)
            if row is None:
                raise InvalidInput(f"item {f.item}: {f.owner!r} is no staff member of branch {branch_id!r}")
            if f.deadline < tx.today:
                raise InvalidInput(f"item {f.item}: the deadline is today or later")
            owners[f.item] = row.id
            if f.staff is not None:
                named = await store.staff_of_branch(tx.conn, branch_id, f.staff)
                if named is None:
                    raise InvalidInput(f"item {f.item}: {f.staff!r} is no staff member of branch {branch_id!r}")
                about[f.item] = named.id
        iid = await store.insert_inspection(
            tx.conn,
            {"branch_id": branch_id, "inspector_id": actor.id, "checklist": cl.name, "visited_at": tx.now,
             "note": body.note},
            [{"item": f.item, "category": cl.item(f.item).category, "passed": f.passed,  # type: ignore[union-attr]
              "note": f.note} for f in body.items],
        )
        await findings.record_findings(tx.conn, [
            {"branch_id": branch_id, "inspection_id": iid, "item": item, "staff_id": sid, "visited_at": tx.now}
            for item, sid in about.items()])
        rect_ids = []
        for f in body.items:
            if f.passed:
                continue
            assert f.deadline is not None
            rect_ids.append(await store.insert_rectification(tx.conn, {
                "branch_id": branch_id, "inspection_id": iid, "item": f.item, "owner_id": owners[f.item],
                "requirement": f.requirement, "deadline": _end_of_day(f.deadline, tx.branch.timezone),
                "state": RectState.OPEN.value, "rounds": 0,
            }))
        passed = sum(f.passed for f in body.items)
        await tx.audit(actor, "inspection.record", f"inspection {iid}", None,
                       {"passed": passed, "failed": len(body.items) - passed})
        tx.emit(INSPECTION_RECORDED, {"id": iid, "passed": passed, "failed": len(body.items) - passed,
                                      "rectifications": rect_ids}, staff_id=actor.id)
    return await inspection_detail(app, actor, branch_id, iid)


async def list_inspections(app: Services, actor: Actor, branch_id: str) -> dict[str, Any]:
    """The branch's inspections (newest first, with their pass counts) and its rectifications."""
    require(actor, Action.READ_INSPECTIONS, branch_id)
    async with app.reading(branch_id) as (conn, _branch, _config):
        rows = await store.inspections(conn, branch_id)
        items = await store.items_of(conn, [r.id for r in rows])
        rects = await store.rectifications(conn, branch_id)
        names = await repo.staff_names(conn, [r.inspector_id for r in rows] + [r.owner_id for r in rects])
    tally: dict[int, list[int]] = {}
    for i in items:
        tally.setdefault(i.inspection_id, [0, 0])[0 if i.passed else 1] += 1
    return {
        "inspections": [{"id": r.id, "visited_at": _iso(r.visited_at), "inspector": names.get(r.inspector_id),
                         "checklist": r.checklist, "note": r.note, "passed": tally.get(r.id, [0, 0])[0],
                         "failed": tally.get(r.id, [0, 0])[1]} for r in rows],
        "rectifications": [rect_json(r, names) for r in rects],
    }


async def inspection_detail(app: Services, actor: Actor, branch_id: str, inspection_id: int) -> dict[str, Any]:
    require(actor, Action.READ_INSPECTIONS, branch_id)
    async with app.reading(branch_id) as (conn, _branch, _config):
        row = await store.inspection(conn, branch_id, inspection_id)
        if row is None:
            raise NotFound(f"no inspection {inspection_id} in branch {branch_id!r}")
        items = await store.items_of(conn, [inspection_id])
        photos = await store.photos_of(conn, inspection_id)
        rects = await store.rectifications(conn, branch_id, inspection_id=inspection_id)
        named = await findings.findings_of_inspection(conn, inspection_id)
        names = await repo.staff_names(conn, [row.inspector_id, *(r.owner_id for r in rects), *named.values()])
    return {
        "id": row.id, "visited_at": _iso(row.visited_at), "inspector": names.get(row.inspector_id),
        "checklist": row.checklist, "note": row.note,
        "items": [{"item": i.item, "category": i.category, "passed": i.passed, "note": i.note,
                   "staff": names.get(named[i.item]) if i.item in named else None} for i in items],
        "photos": [{"id": p.id, "item": p.item, "content_type": p.content_type, "size": p.size,
                    "url": f"/api/v1/branches/{branch_id}/inspections/{inspection_id}/photos/{p.id}"}
                   for p in photos],
        "rectifications": [rect_json(r, names) for r in rects],
    }


async def add_photo(
    app: Services, actor: Actor, branch_id: str, inspection_id: int, *, item: str | None, content_type: str,
    data: bytes, photo_dir: Path, max_bytes: int,
) -> dict[str, Any]:
    """Keep a photo of an inspection under ``photo_dir`` (type checked by its first bytes, size limited)."""
    require(actor, Action.INSPECT, branch_id)
    kind = PHOTO_TYPES.get(content_type)
    if kind is None or not data.startswith(kind[0]) or (content_type == "image/webp" and data[8:12] != b"WEBP"):
        raise InvalidInput("a photo is a JPEG, PNG or WebP image", code="unsupported_type")
    if len(data) > max_bytes:
        raise InvalidInput(f"a photo is at most {max_bytes} bytes", code="too_large")
    if item is not None and the_checklist().item(item) is None:
        raise InvalidInput(f"not on the checklist: {item}")
    async with app.unit_of_work(branch_id) as tx:
        if await store.inspection(tx.conn, branch_id, inspection_id) is None:
            raise NotFound(f"no inspection {inspection_id} in branch {branch_id!r}")
        relative = Path(branch_id) / str(inspection_id) / (secrets.token_hex(12) + kind[1])
        target = photo_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        pid = await store.insert_photo(tx.conn, {"inspection_id": inspection_id, "item": item,
                                                 "file": str(relative), "content_type": content_type,
                                                 "size": len(data), "uploaded_at": tx.now})
        await tx.audit(actor, "inspection.photo", f"inspection {inspection_id}", None, {"photo": pid})
    return {"id": pid, "item": item, "content_type": content_type, "size": len(data),
            "url": f"/api/v1/branches/{branch_id}/inspections/{inspection_id}/photos/{pid}"}


async def photo_file(
    app: Services, actor: Actor, branch_id: str, inspection_id: int, photo_id: int, *, photo_dir: Path,
) -> tuple[Path, str]:
    """The stored file of a photo and its type, for staff who may read the branch's inspections."""
    require(actor, Action.READ_INSPECTIONS, branch_id)
    async with app.reading(branch_id) as (conn, _branch, _config):
        if await store.inspection(conn, branch_id, inspection_id) is None:
            raise NotFound(f"no inspection {inspection_id} in branch {branch_id!r}")
        row = await store.photo(conn, inspection_id, photo_id)
    if row is None:
        raise NotFound(f"no photo {photo_id} of inspection {inspection_id}")
    path = photo_dir / row.file
    if not path.is_file():
        raise NotFound(f"photo {photo_id} is missing from the store")
    return path, row.content_type


async def _rect_step(app: Services, actor: Actor, branch_id: str, rect_id: int, action: RectAction,
                     values: dict[str, Any], kind: Any) -> dict[str, Any]:
    async with app.unit_of_work(branch_id) as tx:
        row = await store.rectification(tx.conn, branch_id, rect_id)
        if row is None:
            raise NotFound(f"no rectification {rect_id} in branch {branch_id!r}")
        state = next_state(row.state, action)
        if action is RectAction.REPORT and actor.role != "admin" and actor.id != row.owner_id \
                and actor.branch_id != branch_id:
            raise Conflict("only the owner or a manager of the branch reports the fix", code="not_owner")
        values = {k: (tx.now if v is _NOW else v) for k, v in values.items()}
        if action is RectAction.REOPEN:
            values["rounds"] = row.rounds + 1
            values["overdue_at"] = None  # a new round: the deadline may pass (and escalate) again
        await store.update_rectification(tx.conn, rect_id, state=state.value, **values)
        await tx.audit(actor, f"rectification.{action.value}", f"rectification {rect_id}", {"state": row.state},
                       {"state": state.value})
        tx.emit(kind, {"id": rect_id, "item": row.item, "state": state.value}, staff_id=actor.id)
        after = await store.rectification(tx.conn, branch_id, rect_id)
        assert after is not None
        names = await repo.staff_names(tx.conn, [after.owner_id])
        return rect_json(after, names)


_NOW = object()


async def report_fix(app: Services, actor: Actor, branch_id: str, rect_id: int,
                     body: RectificationReportIn) -> dict[str, Any]:
    """The owner (or a manager of the branch) reports the rectification done."""
    require(actor, Action.RECTIFY, branch_id)
    return await _rect_step(app, actor, branch_id, rect_id, RectAction.REPORT,
                            {"report": body.report, "reported_at": _NOW}, RECTIFICATION_REPORTED)


async def recheck(app: Services, actor: Actor, branch_id: str, rect_id: int, body: RecheckIn) -> dict[str, Any]:
    """The inspector re-checks a reported fix: closes it, or reopens it (optionally with a new deadline)."""
    require(actor, Action.INSPECT, branch_id)
    values: dict[str, Any] = {"recheck_note": body.note, "rechecked_at": _NOW}
    if body.outcome == "reopen" and body.deadline is not None:
        async with app.reading(branch_id) as (_conn, branch, _config):
            zone = branch.timezone
        if body.deadline < app.clock().astimezone(ZoneInfo(zone)).date():
            raise InvalidInput("the new deadline is today or later")
        values["deadline"] = _end_of_day(body.deadline, zone)
    action = RectAction.CLOSE if body.outcome == "close" else RectAction.REOPEN
    return await _rect_step(app, actor, branch_id, rect_id, action, values, RECTIFICATION_RECHECKED)


async def escalate_overdue(app: Services) -> list[int]:
    """Escalate every rectification past its deadline with the owner still to act, once each; their ids."""
    async with app.db.read() as conn:
        due = await store.overdue_candidates(conn, app.clock())
    done: list[int] = []
    for branch_id in sorted({r.branch_id for r in due}):
        async with app.unit_of_work(branch_id) as tx:
            await repo.lock_branch(tx.conn, branch_id)
            to = sorted(set(await store.branch_managers(tx.conn, branch_id)) | set(await store.overseers(tx.conn,
                                                                                                        branch_id)))
            for r in await store.rectifications(tx.conn, branch_id):
                if not is_overdue(r.state, repo.aware(r.deadline), r.overdue_at, tx.now):
                    continue
                await store.update_rectification(tx.conn, r.id, overdue_at=tx.now)
                tx.emit(RECTIFICATION_OVERDUE, {"id": r.id, "item": r.item, "state": r.state,
                                                "deadline": repo.aware(r.deadline).isoformat(), "to": to})
                log.info("rectification %s of %s is overdue: told %s", r.id, branch_id, ", ".join(to))
                done.append(r.id)
    return done


def _month(month: str) -> tuple[date, date]:
    try:
        first = date.fromisoformat(month + "-01")
    except ValueError:
        raise InvalidInput("month is YYYY-MM") from None
    if not 2000 <= first.year <= 2100:
        raise InvalidInput("month is between 2000 and 2100")
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, nxt


async def monthly_bulletin(app: Services, actor: Actor, branch_ids: list[str], month: str) -> dict[str, Any]:
    """The bulletin of ``month`` (YYYY-MM) over ``branch_ids`` (each one the actor may read)."""
    for b in branch_ids:
        require(actor, Action.READ_INSPECTIONS, b)
    first, nxt = _month(month)
    async with app.db.read() as conn:
        zones = {}
        for b in branch_ids:
            row = await repo.load_branch(conn, b)
            if row is None:
                raise NotFound(f"no branch {b!r}")
            zones[b] = row.timezone
        # One zone for the month's bounds: the first branch's (a bank's branches share one in practice).
        zone = ZoneInfo(zones[branch_ids[0]]) if branch_ids else ZoneInfo("UTC")
        start, end = datetime.combine(first, time.min, zone), datetime.combine(nxt, time.min, zone)
        findings = await store.findings_between(conn, branch_ids, start, end)
        rects = await store.rectifications_of(conn, branch_ids, end)
    result = bulletin([Finding(f.branch_id, f.item, f.passed) for f in findings],
                      [RectView(r.branch_id, r.state, repo.aware(r.deadline)) for r in rects],
                      now=min(app.clock(), end))
    cl = the_checklist()
    for row in result["items"]:  # type: ignore[attr-defined]
        item = cl.item(row["item"])
        row["texts"] = dict(item.texts) if item else {}
        row["category"] = item.category if item else None
    return {"month": month, "branches_covered": branch_ids, **result}
