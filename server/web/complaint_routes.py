"""HTTP endpoints of complaint cases (the contract in DESIGN.md): intake, list, case page, steps, public view."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field

from server.complaint_protocol import (
    STEP_BODIES,
    CaseDetail,
    CaseSummary,
    ComplaintCreated,
    ComplaintIn,
    PublicCase,
    PublicReply,
    PublicWithdraw,
    StaffComplaintIn,
)
from server.domain.access import Action
from server.domain.complaints import CaseAction, CaseState, Category, Channel
from server.domain.errors import NotFound, RateLimited
from server.services import complaints
from server.services.context import Actor

from .api import BRANCH, DIGITS, SERVICES, Params, RouteTable, params
from .limits import LIMITER

routes = RouteTable()

B = "/branches/" + BRANCH + "/complaints"
CASE = "/{case:[0-9]{1,18}}"
TOKEN = "/complaints/{token:[A-Za-z0-9_-]{8,64}}"


@routes.http("POST", B, summary="File a complaint: public (phone page, online form) or staff (any channel)",
             body=ComplaintIn, answer=ComplaintCreated, status=201, limit="public", action=Action.BRANCH_PUBLIC)
async def file_complaint(request: web.Request, actor: Actor, body: ComplaintIn) -> ComplaintCreated:
    branch = request.match_info["branch"]
    if not actor.is_staff:
        request.app[LIMITER].check("complaint", request, actor)
    return await complaints.file_complaint(request.app[SERVICES], actor, branch, body)


@routes.http("POST", B + "/entries", summary="Staff: enter a complaint from any channel (hotline, box, letter, "
             "regulator 12378, walk-in)", body=StaffComplaintIn, answer=ComplaintCreated, status=201,
             action=Action.HANDLE_COMPLAINTS)
async def enter_complaint(request: web.Request, actor: Actor, body: StaffComplaintIn) -> ComplaintCreated:
    return await complaints.enter_complaint(request.app[SERVICES], actor, request.match_info["branch"], body)


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
        request, lambda: complaints.public_reply(request.app[SERVICES], request.match_info["token"], body))


@routes.http("GET", B + "/alerts", summary="Manager: complaint cases due soon or overdue, as dashboard alerts",
             answer=list[dict], action=Action.HANDLE_COMPLAINTS)
async def complaint_alerts(request: web.Request, actor: Actor, _body: None) -> list[dict]:
    return await complaints.deadline_alerts(request.app[SERVICES], actor, request.match_info["branch"])


@routes.http("GET", B + "/digest", summary="Manager: the daily complaint digest (overdue, due soon, yesterday)",
             answer=dict, action=Action.HANDLE_COMPLAINTS)
async def complaint_digest(request: web.Request, actor: Actor, _body: None) -> dict:
    return await complaints.digest(request.app[SERVICES], actor, request.match_info["branch"])
