"""HTTP endpoints of complaint cases (the contract in DESIGN.md): intake, list, case page, steps, public view."""

from __future__ import annotations

import io
from typing import Annotated, Literal

import segno
from aiohttp import web
from pydantic import Field, StringConstraints

from server.complaint_protocol import (
    STEP_BODIES,
    CaseDetail,
    CaseSummary,
    ComplaintCreated,
    ComplaintIn,
    ComplaintLink,
    ComplaintLinkIn,
    PublicCase,
    PublicReply,
    PublicWithdraw,
    StaffComplaintIn,
)
from server.domain.access import Action
from server.domain.complaints import CaseAction, CaseState, Category, Channel
from server.domain.errors import NotFound, RateLimited
from server.protocol import IdempotencyKey
from server.reports import charts, sheets
from server.reports import complaints as stats_files
from server.services import complaint_stats, complaints, tickets
from server.services.context import Actor

from .api import BRANCH, DIGITS, SERVICES, Params, RouteTable, params
from .limits import LIMITER
from .routes import SVG, XLSX, N, ReportDay, public_base

routes = RouteTable()

B = "/branches/" + BRANCH + "/complaints"
CASE = "/{case:[0-9]{1,18}}"
TOKEN = "/complaints/{token:[A-Za-z0-9_-]{8,64}}"


class IntakeHeaders(Params):
    idempotency_key: Annotated[IdempotencyKey | None, Field(alias="Idempotency-Key")] = None
    """A retried request with the same key and body answers with the same case (201, nothing new filed)."""


@routes.http("POST", B, summary="File a complaint: public (phone page, online form) or staff (any channel); "
             "honours Idempotency-Key", body=ComplaintIn, answer=ComplaintCreated, status=201, limit="public",
             action=Action.BRANCH_PUBLIC, headers=IntakeHeaders)
async def file_complaint(request: web.Request, actor: Actor, body: ComplaintIn) -> ComplaintCreated:
    branch = request.match_info["branch"]
    key = params(request, IntakeHeaders).idempotency_key
    if not actor.is_staff:
        request.app[LIMITER].check("complaint", request, actor)
    return await complaints.file_complaint(request.app[SERVICES], actor, branch, body, idempotency_key=key)


@routes.http("POST", B + "/entries", summary="Staff: enter a complaint from any channel (hotline, box, letter, "
             "regulator 12378, walk-in); honours Idempotency-Key", body=StaffComplaintIn, answer=ComplaintCreated,
             status=201, action=Action.HANDLE_COMPLAINTS, headers=IntakeHeaders)
async def enter_complaint(request: web.Request, actor: Actor, body: StaffComplaintIn) -> ComplaintCreated:
    key = params(request, IntakeHeaders).idempotency_key
    return await complaints.enter_complaint(request.app[SERVICES], actor, request.match_info["branch"], body,
                                            idempotency_key=key)


class ListQuery(Params):
    state: CaseState | None = None
    due: Annotated[str, Field(pattern="^(soon|overdue)$")] | None = None
    channel: Channel | None = None
    category: Category | None = None
    teller: Annotated[int, Field(ge=1, le=2**31 - 1), DIGITS] | None = None


@routes.http("GET", B, summary="Manager: the branch's cases, contacts masked", answer=list[CaseSummary],
             query=ListQuery, action=Action.HANDLE_COMPLAINTS)
async def list_complaints(request: web.Request, actor: Actor, _body: None) -> list[CaseSummary]:
    q = params(request, ListQuery)
    return await complaints.list_complaints(
        request.app[SERVICES], actor, request.match_info["branch"], state=q.state, due=q.due,
        channel=q.channel, category=q.category, teller=q.teller,
    )


async def _list_rows(request: web.Request, actor: Actor) -> list[dict]:
    q = params(request, ListQuery)
    return await complaints.export_list(
        request.app[SERVICES], actor, request.match_info["branch"], state=q.state, due=q.due,
        channel=q.channel, category=q.category, teller=q.teller,
    )


@routes.http("GET", B + ".csv", summary="Manager: the branch's cases as CSV, contacts masked (audited)",
             query=ListQuery, content_type="text/csv", action=Action.HANDLE_COMPLAINTS)
async def list_complaints_csv(request: web.Request, actor: Actor, _body: None) -> web.Response:
    rows = await _list_rows(request, actor)
    return _file("complaints.csv", sheets.to_csv(complaints.LIST_COLUMNS, rows), "text/csv")


@routes.http("GET", B + ".xlsx", summary="Manager: the branch's cases as XLSX, contacts masked (audited)",
             query=ListQuery, content_type=XLSX, action=Action.HANDLE_COMPLAINTS)
async def list_complaints_xlsx(request: web.Request, actor: Actor, _body: None) -> web.Response:
    rows = await _list_rows(request, actor)
    return _file("complaints.xlsx", sheets.to_xlsx([("cases", complaints.LIST_COLUMNS, rows)]), XLSX)


@routes.http("GET", B + CASE, summary="Manager: the case with its timeline (full contact to the branch's "
             "managers, audited)", answer=CaseDetail, action=Action.HANDLE_COMPLAINTS)
async def complaint_case(request: web.Request, actor: Actor, _body: None) -> CaseDetail:
    return await complaints.complaint_case(request.app[SERVICES], actor, request.match_info["branch"],
                                           int(request.match_info["case"]))


def _action_route(action: CaseAction) -> None:
    async def step(request: web.Request, actor: Actor, body) -> CaseDetail:
        return await complaints.act(request.app[SERVICES], actor, request.match_info["branch"],
                                    int(request.match_info["case"]), action, body)

    step.__name__ = f"complaint_{action.value}"
    routes.http("POST", f"{B}{CASE}/{action.value}", summary=f"Manager: {action.value} the case",
                body=STEP_BODIES[action], body_optional=action is CaseAction.ACCEPT, answer=CaseDetail,
                action=Action.HANDLE_COMPLAINTS)(step)


for _action in CaseAction:
    _action_route(_action)


def _guarded(request: web.Request) -> None:
    if request.app[LIMITER].over("complaint_guess", request):
        raise RateLimited("too many unknown case tokens; try again later", retry_after=60)


async def _counting_misses(request: web.Request, call):
    _guarded(request)
    try:
        return await call()
    except NotFound:
        request.app[LIMITER].count("complaint_guess", request)
        raise


@routes.http("GET", TOKEN, summary="Public: the complainant's view of the case, by its token", answer=PublicCase,
             limit="public", action=Action.PUBLIC)
async def public_case(request: web.Request, _actor: Actor, _body: None) -> PublicCase:
    return await _counting_misses(
        request, lambda: complaints.public_case(request.app[SERVICES], request.match_info["token"]))


@routes.http("POST", TOKEN + "/reply", summary="Public: satisfied with the decision, or not (second round, "
             "then a superior)", body=PublicReply, answer=PublicCase, limit="public", action=Action.PUBLIC)
async def public_reply(request: web.Request, _actor: Actor, body: PublicReply) -> PublicCase:
    return await _counting_misses(
        request, lambda: complaints.public_reply(request.app[SERVICES], request.match_info["token"], body))


@routes.http("POST", TOKEN + "/withdraw", summary="Public: withdraw the complaint", body=PublicWithdraw,
             answer=PublicCase, limit="public", action=Action.PUBLIC)
async def public_withdraw(request: web.Request, _actor: Actor, body: PublicWithdraw) -> PublicCase:
    return await _counting_misses(
        request, lambda: complaints.public_withdraw(request.app[SERVICES], request.match_info["token"], body))


@routes.http("POST", "/branches/" + BRANCH + N + "/complaint-link",
             summary="Evaluator device: after a low rating, where the customer's phone continues a complaint about "
             "the ticket just finished at its counter (a link and its QR code)", body=ComplaintLinkIn,
             answer=ComplaintLink, action=Action.RATE_AT_COUNTER)
async def complaint_link(request: web.Request, actor: Actor, body: ComplaintLinkIn) -> ComplaintLink:
    branch = request.match_info["branch"]
    token = await tickets.just_finished_at(request.app[SERVICES], actor, branch, int(request.match_info["number"]))
    url = f"{public_base(request)}/complain/{branch}?ticket={token}&lang={body.lang}"
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False)
    return ComplaintLink(url=url, qr_svg=buffer.getvalue().decode())


@routes.http("GET", B + "/superiors", summary="Manager: who may approve a further extension or take an escalated "
             "case (the branch's managers, regional managers over it, admins)", answer=list[dict],
             action=Action.HANDLE_COMPLAINTS)
async def complaint_superiors(request: web.Request, actor: Actor, _body: None) -> list[dict]:
    return await complaints.superiors(request.app[SERVICES], actor, request.match_info["branch"])


@routes.http("GET", B + "/alerts", summary="Manager: complaint cases due soon or overdue, as dashboard alerts",
             answer=list[dict], action=Action.HANDLE_COMPLAINTS)
async def complaint_alerts(request: web.Request, actor: Actor, _body: None) -> list[dict]:
    return await complaints.deadline_alerts(request.app[SERVICES], actor, request.match_info["branch"])


@routes.http("GET", B + "/digest", summary="Manager: the daily complaint digest (overdue, due soon, yesterday)",
             answer=dict, action=Action.HANDLE_COMPLAINTS)
async def complaint_digest(request: web.Request, actor: Actor, _body: None) -> dict:
    return await complaints.digest(request.app[SERVICES], actor, request.match_info["branch"])


# --- statistics -------------------------------------------------------------------------------

BranchList = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}(?:,[a-z0-9][a-z0-9-]{0,39}){0,199}$")]


class StatsQuery(Params):
    first: Annotated[ReportDay | None, Field(alias="from")] = None
    """The first day of receipt counted (default: 29 days before ``to``)."""
    last: Annotated[ReportDay | None, Field(alias="to")] = None
    """The last day of receipt counted (default: today, or ``from``'s day); at most 366 days."""
    group: Literal["period", "channel", "category", "service", "teller", "branch"] = "period"
    period: Literal["day", "week", "month", "quarter"] = "month"
    """With ``group=period``: a row per day, week, month or quarter."""


class RegionStatsQuery(StatsQuery):
    branches: BranchList | None = None
    """Comma-separated branch ids (default: every branch the signed-in manager oversees)."""


def _day(value) -> str | None:
    return value.isoformat() if value is not None else None


async def _stats(request: web.Request, actor: Actor) -> dict:
    if "branch" in request.match_info:
        q: StatsQuery = params(request, StatsQuery)
        ids: list[str] | None = [request.match_info["branch"]]
    else:
        rq = params(request, RegionStatsQuery)
        q, ids = rq, (rq.branches.split(",") if rq.branches else None)
    return await complaint_stats.stats(request.app[SERVICES], actor, ids, first=_day(q.first), last=_day(q.last),
                                       group=q.group, period=q.period)


def _file(name: str, body: bytes | str, content_type: str) -> web.Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if isinstance(body, str):
        return web.Response(text=body, content_type=content_type, charset="utf-8", headers=headers)
    return web.Response(body=body, content_type=content_type, headers=headers)


def _stats_routes(prefix: str, scope: str, query: type[Params]) -> None:
    path = prefix + "/complaints/stats"

    async def as_json(request: web.Request, actor: Actor, _body: None) -> dict:
        return await _stats(request, actor)

    async def as_csv(request: web.Request, actor: Actor, _body: None) -> web.Response:
        r = await _stats(request, actor)
        return _file(f"complaints-{r['from']}-{r['to']}.csv", stats_files.to_csv(r), "text/csv")

    async def as_xlsx(request: web.Request, actor: Actor, _body: None) -> web.Response:
        r = await _stats(request, actor)
        return _file(f"complaints-{r['from']}-{r['to']}.xlsx", stats_files.to_xlsx(r), XLSX)

    async def as_svg(request: web.Request, actor: Actor, _body: None) -> web.Response:
        r = await _stats(request, actor)
        rows = r["rows"] if r["group"] == "period" else [{**r["total"], "key": "total"}]
        return web.Response(text=charts.complaints_by_period(rows), content_type=SVG,
                            headers={"Cache-Control": "no-cache"})

    what = ("received, closed, on-time rate, days to a decision (average, P90), overdue now, upheld, "
            "second-round, escalation and satisfaction rates, repeat complainants; the weak points")
    for fn, suffix, kind in ((as_json, "", "JSON"), (as_csv, ".csv", "CSV"), (as_xlsx, ".xlsx", "XLSX"),
                             (as_svg, "/chart.svg", "an SVG chart")):
        fn.__name__ = f"complaint_stats_{scope}_{suffix.rsplit('.', 1)[-1] if suffix else 'json'}"
        options: dict = {"answer": dict} if not suffix else {
            "content_type": {".csv": "text/csv", ".xlsx": XLSX}.get(suffix, SVG)}
        routes.http("GET", path + suffix, summary=f"Complaint statistics ({scope}) as {kind}: {what}",
                    query=query, action=Action.HANDLE_COMPLAINTS, **options)(fn)


_stats_routes("/branches/" + BRANCH, "branch", StatsQuery)
_stats_routes("", "all", RegionStatsQuery)
