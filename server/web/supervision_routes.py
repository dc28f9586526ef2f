"""Supervision endpoints: service-standard breaches, inspections, rectification, the bulletin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from aiohttp import BodyPartReader, web
from pydantic import Field, StringConstraints

from server.domain.access import Action, Role
from server.domain.errors import InvalidInput
from server.protocol import AcknowledgeCommand, AcknowledgeIn, InspectionIn, RecheckIn, RectificationReportIn
from server.reports import sheets
from server.reports.words import LANGUAGES, Language, word
from server.services import inspections, standards
from server.services.context import Actor

from .api import BRANCH, SERVICES, Params, RouteTable, params
from .routes import ReportDay

routes = RouteTable()

PHOTO_DIR = web.AppKey("photo_dir", Path)
PHOTO_MAX_BYTES = web.AppKey("photo_max_bytes", int)

B = "/branches/" + BRANCH
ID = "[0-9]{1,9}"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class DaysQuery(Params):
    first: Annotated[ReportDay | None, Field(alias="from")] = None
    """The first business day (default: today)."""
    last: Annotated[ReportDay | None, Field(alias="to")] = None
    """The last business day (default: ``from``)."""


class BreachReportQuery(DaysQuery):
    lang: Literal["zh-CN", "en", "zh-TW"] | None = None
    """The language of an export's headings (default: the branch's)."""


class MonthQuery(Params):
    month: Annotated[str, StringConstraints(pattern=r"^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])$")] | None = None
    """YYYY-MM (default: this month)."""


def _file(name: str, body: bytes | str, content_type: str) -> web.Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if isinstance(body, str):
        return web.Response(text=body, content_type=content_type, charset="utf-8", headers=headers)
    return web.Response(body=body, content_type=content_type, headers=headers)


# --- breaches ------------------------------------------------------------------------------


@routes.http("GET", B + "/breaches", summary="Manager: the open service-standard breaches", answer=list[dict],
             action=Action.MANAGE_BRANCH)
async def list_breaches(request: web.Request, actor: Actor, _body: None) -> list[dict]:
    return await standards.open_breaches(request.app[SERVICES], actor, request.match_info["branch"])


@routes.http("POST", B + f"/breaches/{{breach:{ID}}}/acknowledge", summary="Manager: acknowledge a breach with a note",
             body=AcknowledgeIn, answer=dict, action=Action.MANAGE_BRANCH)
async def acknowledge_breach(request: web.Request, actor: Actor, body: AcknowledgeIn) -> dict:
    return await standards.acknowledge(request.app[SERVICES], actor, request.match_info["branch"],
                                       int(request.match_info["breach"]), body.note)


@routes.command("breach/acknowledge", AcknowledgeCommand, action=Action.MANAGE_BRANCH, staff_view=True)
async def acknowledge_breach_command(services, conn, args: AcknowledgeCommand) -> dict:
    return await standards.acknowledge(services, conn.actor, conn.branch_id, args.breach, args.note)


async def _breach_report(request: web.Request, actor: Actor, query: type[DaysQuery] = DaysQuery) -> dict:
    services = request.app[SERVICES]
    q = params(request, query)
    branch = request.match_info["branch"]
    if q.first is None:
        async with services.reading(branch) as (_conn, row, _config):
            today = row.business_date
        first = q.last or today
    else:
        first = q.first
    last = q.last or first
    return await standards.breach_report(services, actor, branch, first=first.isoformat(), last=last.isoformat())


BREACH_COLUMNS = ("day", "service", "breaches", "severe", "escalated", "minutes_in_breach", "acknowledged",
                  "minutes_to_acknowledge")


@routes.http("GET", B + "/reports/breaches", summary="Manager: breaches per day and service, minutes in breach, "
             "time to acknowledge", answer=dict, query=DaysQuery, action=Action.MANAGE_BRANCH)
async def report_breaches(request: web.Request, actor: Actor, _body: None) -> dict:
    return await _breach_report(request, actor)


async def _headings_language(request: web.Request) -> Language:
    """``?lang=``, else the branch's own language."""
    asked = params(request, BreachReportQuery).lang
    if asked is not None:
        return asked
    async with request.app[SERVICES].reading(request.match_info["branch"]) as (_conn, row, _config):
        return next((lang for lang in LANGUAGES if lang == row.language), "zh-CN")


@routes.http("GET", B + "/reports/breaches.csv", summary="The breach report as CSV, headed in ?lang=",
             query=BreachReportQuery, content_type="text/csv", action=Action.MANAGE_BRANCH)
async def report_breaches_csv(request: web.Request, actor: Actor, _body: None) -> web.Response:
    r = await _breach_report(request, actor, BreachReportQuery)
    lang = await _headings_language(request)
    text = sheets.to_csv(BREACH_COLUMNS, r["rows"], [word(c, lang) for c in BREACH_COLUMNS])
    return _file(f"breaches-{r['from']}-{r['to']}.csv", text, "text/csv")


@routes.http("GET", B + "/reports/breaches.xlsx", summary="The breach report as an Excel workbook, headed in ?lang=",
             query=BreachReportQuery, content_type=XLSX, action=Action.MANAGE_BRANCH)
async def report_breaches_xlsx(request: web.Request, actor: Actor, _body: None) -> web.Response:
    r = await _breach_report(request, actor, BreachReportQuery)
    lang = await _headings_language(request)
    body = sheets.to_xlsx([("breaches", BREACH_COLUMNS, r["rows"])], {c: word(c, lang) for c in BREACH_COLUMNS})
    return _file(f"breaches-{r['from']}-{r['to']}.xlsx", body, XLSX)


# --- inspections ---------------------------------------------------------------------------

INSPECTION = B + f"/inspections/{{inspection:{ID}}}"
RECT = B + f"/rectifications/{{rect:{ID}}}"


@routes.http("GET", B + "/inspections/checklist", summary="The inspection checklist (items in three languages)",
             answer=dict, action=Action.READ_INSPECTIONS)
async def inspection_checklist(request: web.Request, actor: Actor, _body: None) -> dict:
    return await inspections.checklist(request.app[SERVICES], actor, request.match_info["branch"])


@routes.http("GET", B + "/inspections", summary="The branch's inspections and rectifications", answer=dict,
             action=Action.READ_INSPECTIONS)
async def list_inspections(request: web.Request, actor: Actor, _body: None) -> dict:
    return await inspections.list_inspections(request.app[SERVICES], actor, request.match_info["branch"])


@routes.http("POST", B + "/inspections", summary="Inspector: record a visit; a rectification per failed item",
             body=InspectionIn, answer=dict, status=201, action=Action.INSPECT)
async def record_inspection(request: web.Request, actor: Actor, body: InspectionIn) -> dict:
    return await inspections.record_inspection(request.app[SERVICES], actor, request.match_info["branch"], body)


@routes.http("GET", INSPECTION, summary="One inspection: items, photos, rectifications", answer=dict,
             action=Action.READ_INSPECTIONS)
async def inspection_detail(request: web.Request, actor: Actor, _body: None) -> dict:
    return await inspections.inspection_detail(request.app[SERVICES], actor, request.match_info["branch"],
                                               int(request.match_info["inspection"]))


@routes.http("POST", INSPECTION + "/photos", summary="Inspector: add a photo (multipart: field photo, "
             "optional field item; JPEG, PNG or WebP, size-limited)", answer=dict, status=201,
             action=Action.INSPECT)
async def add_photo(request: web.Request, actor: Actor, _body: None) -> dict:
    limit = request.app[PHOTO_MAX_BYTES]
    if not request.content_type.startswith("multipart/form-data"):
        raise web.HTTPUnsupportedMediaType(reason="the body must be multipart/form-data")
    reader = await request.multipart()
    item: str | None = None
    data: bytes | None = None
    content_type = ""
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            raise InvalidInput("one level of multipart fields: item and photo")
        if part.name == "item":
            item = (await part.text())[:40] or None
        elif part.name == "photo":
            content_type = part.headers.get("Content-Type", "")
            chunks, size = [], 0
            while chunk := await part.read_chunk(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise InvalidInput(f"a photo is at most {limit} bytes", code="too_large")
                chunks.append(chunk)
            data = b"".join(chunks)
    if data is None:
        raise InvalidInput("send the photo in the multipart field photo")
    return await inspections.add_photo(
        request.app[SERVICES], actor, request.match_info["branch"], int(request.match_info["inspection"]),
        item=item, content_type=content_type, data=data, photo_dir=request.app[PHOTO_DIR], max_bytes=limit,
    )


@routes.http("GET", INSPECTION + f"/photos/{{photo:{ID}}}", summary="A photo of an inspection (staff of the branch)",
             content_type="image/*", action=Action.READ_INSPECTIONS)
async def inspection_photo(request: web.Request, actor: Actor, _body: None) -> web.StreamResponse:
    path, content_type = await inspections.photo_file(
        request.app[SERVICES], actor, request.match_info["branch"], int(request.match_info["inspection"]),
        int(request.match_info["photo"]), photo_dir=request.app[PHOTO_DIR],
    )
    return web.Response(body=path.read_bytes(), content_type=content_type,
                        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


@routes.http("POST", RECT + "/report", summary="Owner: report the rectification done", body=RectificationReportIn,
             answer=dict, action=Action.RECTIFY)
async def report_fix(request: web.Request, actor: Actor, body: RectificationReportIn) -> dict:
    return await inspections.report_fix(request.app[SERVICES], actor, request.match_info["branch"],
                                        int(request.match_info["rect"]), body)


@routes.http("POST", RECT + "/recheck", summary="Inspector: re-check a reported fix (close or reopen)",
             body=RecheckIn, answer=dict, action=Action.INSPECT)
async def recheck(request: web.Request, actor: Actor, body: RecheckIn) -> dict:
    return await inspections.recheck(request.app[SERVICES], actor, request.match_info["branch"],
                                     int(request.match_info["rect"]), body)


# --- the bulletin --------------------------------------------------------------------------


def _visible(actor: Actor, all_ids: list[str]) -> list[str]:
    if actor.role == Role.ADMIN:
        return all_ids
    mine = {b for b in (actor.branch_id, *actor.branches) if b is not None}
    return [b for b in all_ids if b in mine]


async def _bulletin(request: web.Request, actor: Actor, branch: str | None) -> dict:
    services = request.app[SERVICES]
    month = params(request, MonthQuery).month or services.clock().strftime("%Y-%m")
    if branch is not None:
        ids = [branch]
    else:
        from server.store import supervision

        async with services.db.read() as conn:
            ids = _visible(actor, await supervision.branch_ids(conn))
    return await inspections.monthly_bulletin(services, actor, ids, month)


BRANCH_COLUMNS = ("branch", "pass_rate", "passed", "checked", "open", "overdue")
ITEM_COLUMNS = ("item", "category", "texts", "pass_rate", "passed", "checked")


def _bulletin_routes(prefix: str, scope: str, per_branch: bool) -> None:
    async def as_json(request: web.Request, actor: Actor, _body: None) -> dict:
        return await _bulletin(request, actor, request.match_info["branch"] if per_branch else None)

    async def as_csv(request: web.Request, actor: Actor, _body: None) -> web.Response:
        r = await as_json(request, actor, None)
        text = sheets.to_csv(BRANCH_COLUMNS, r["branches"]) + "\n" + sheets.to_csv(ITEM_COLUMNS, r["items"])
        return _file(f"bulletin-{r['month']}.csv", text, "text/csv")

    async def as_xlsx(request: web.Request, actor: Actor, _body: None) -> web.Response:
        r = await as_json(request, actor, None)
        body = sheets.to_xlsx([("branches", BRANCH_COLUMNS, r["branches"]), ("items", ITEM_COLUMNS, r["items"])])
        return _file(f"bulletin-{r['month']}.xlsx", body, XLSX)

    for fn, suffix, kind in ((as_json, "", "JSON"), (as_csv, ".csv", "CSV"), (as_xlsx, ".xlsx", "XLSX")):
        fn.__name__ = f"bulletin_{scope}_{(suffix or '.json')[1:]}"
        options = {"answer": dict} if not suffix else {"content_type": "text/csv" if suffix == ".csv" else XLSX}
        routes.http("GET", prefix + "/inspections/bulletin" + suffix,
                    summary=f"The monthly inspection bulletin ({scope}) as {kind}: pass rates by item and branch, "
                    "open and overdue rectifications, best and worst branches",
                    query=MonthQuery, action=Action.READ_INSPECTIONS, **options)(fn)


_bulletin_routes(B, "branch", True)
_bulletin_routes("", "all", False)
