"""HTTP endpoints: each one reads the request, calls one service function, answers."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Literal

import segno
from aiohttp import web
from pydantic import AfterValidator, BeforeValidator, Field

from server import __version__
from server.domain.access import Action
from server.protocol import (
    UNSAID,
    CallTicket,
    ChangeService,
    ChangeServiceCommand,
    CounterCallCommand,
    CounterCommand,
    CounterListEntry,
    CounterPauseCommand,
    CounterResult,
    CounterStep,
    CounterTransferCommand,
    DeviceAnswer,
    DeviceStatusIn,
    FeedbackAnswer,
    FeedbackIn,
    FindTicketCommand,
    Health,
    IdempotencyKey,
    IssueCommand,
    IssueTicket,
    Login,
    NoticeAnswer,
    NoticeIn,
    PauseCounter,
    PublicTicket,
    QueueAnswer,
    Reprint,
    ReprintAnswer,
    ReprintCommand,
    Requeue,
    RequeueCommand,
    ServiceAnswer,
    ServiceCommand,
    SessionAnswer,
    StaffAnswer,
    TicketAnswer,
    TicketCommand,
    TicketIssued,
    TicketNumber,
    TicketToPrint,
    Transfer,
)
from server.reports import export
from server.reports.summary import FIRST_DAY, GROUPS, LAST_DAY
from server.reports.words import Language
from server.services import admin, auth, counters, devices, notices, queries, reports, reprints, tickets
from server.services.context import Actor

from .api import BRANCH, DIGITS, SERVICES, Params, RouteTable, params
from .auth import SESSION_MAX_AGE, check_origin, session_secret, sign_in, sign_out
from .limits import client_address

routes = RouteTable()

PUBLIC_URL = web.AppKey("public_url", str)


def public_base(request: web.Request) -> str:
    """Where customers reach the server: ``BRANCHQ_PUBLIC_URL`` when set (behind TLS the request
    itself says http://), else the request's own scheme and host."""
    return request.app.get(PUBLIC_URL) or f"{request.scheme}://{request.host}"

B = "/branches/" + BRANCH
N = "/counters/{number:[0-9]{1,4}}"

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SVG = "image/svg+xml"


# --- parameters: each route's query and headers, as the view checks them and the document states them ---


class IssueHeaders(Params):
    idempotency_key: Annotated[IdempotencyKey | None, Field(alias="Idempotency-Key")] = None
    """A retried request with the same key returns the same ticket."""


class QueueQuery(Params):
    counter: Annotated[int, Field(ge=1, le=9999), DIGITS] | None = None
    """A counter's number: the queue in that counter's call order."""


def _iso_day(value: object) -> object:
    if isinstance(value, str) and not (len(value) == 10 and value[4] == "-" and value[7] == "-"):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


def _in_range(day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"a day between {FIRST_DAY} and {LAST_DAY}")
    return day


#: A report's day: YYYY-MM-DD, from 2000 to 2100 (the bounds of ``server.reports.summary.Period``).
ReportDay = Annotated[
    date,
    BeforeValidator(_iso_day),
    AfterValidator(_in_range),
    Field(json_schema_extra={"pattern": r"^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"}),
]


class PeriodQuery(Params):
    first: Annotated[ReportDay | None, Field(alias="from")] = None
    """The first business day (default: today, or ``to``'s day)."""
    last: Annotated[ReportDay | None, Field(alias="to")] = None
    """The last business day (default: ``from``'s day); at most 366 days after ``from``."""


class SummaryQuery(PeriodQuery):
    group: Literal[GROUPS] = "service"  # type: ignore[valid-type]  # the tuple of server.reports.summary


class ExportQuery(SummaryQuery):
    lang: Literal["zh-CN", "en", "zh-TW"] | None = None
    """The language of the headings (default: the branch's)."""


class StaffingQuery(PeriodQuery):
    """Over ``from``–``to`` when either is given, else over the last ``weeks`` weeks."""

    weeks: Annotated[int, Field(ge=1, le=26), DIGITS] = 4
    sla: Annotated[float, Field(ge=0.5, lt=1, allow_inf_nan=False)] = 0.8


class AfterQuery(Params):
    after_id: Annotated[int, Field(ge=0, le=10**18 - 1), DIGITS] = 0
    """Tickets with an id above this one."""


@routes.http("GET", "/health", summary="Liveness and database reachability", answer=Health, action=Action.PUBLIC)
async def health(request: web.Request, _actor: Actor, _body: None) -> Health:
    dialect = await queries.database_reachable(request.app[SERVICES])
    return Health(status="ok", database=dialect, version=__version__)


@routes.http("POST", "/auth/login", summary="Staff sign-in; sets the session cookie", body=Login, answer=StaffAnswer,
       limit="public", action=Action.PUBLIC)
async def login(request: web.Request, _actor: Actor, body: Login) -> StaffAnswer:
    # A cross-site form must not sign the victim in as someone else (login CSRF).
    check_origin(request)
    signed_in = await auth.login(
        request.app[SERVICES], body.username, body.password, address=client_address(request),
        user_agent=request.headers.get("User-Agent", ""), max_age_s=request.app[SESSION_MAX_AGE],
    )
    await sign_in(request, signed_in)
    return auth.staff_answer(signed_in.actor)


@routes.http("POST", "/auth/logout", summary="Sign out: the session ends on every process", answer=dict,
             action=Action.PUBLIC)
async def logout(request: web.Request, _actor: Actor, _body: None) -> dict:
    await sign_out(request, request.app[SERVICES])
    return {"signed_out": True}


@routes.http("GET", "/auth/sessions", summary="The signed-in staff member's sessions in force",
             answer=list[SessionAnswer], action=Action.STAFF_SELF)
async def my_sessions(request: web.Request, actor: Actor, _body: None) -> list[dict]:
    return await auth.my_sessions(request.app[SERVICES], actor, await session_secret(request))


@routes.http("DELETE", "/auth/sessions/{session:[0-9a-f]{16}}", summary="End one of one's own sessions",
             answer=dict, action=Action.STAFF_SELF)
async def end_my_session(request: web.Request, actor: Actor, _body: None) -> dict:
    return await auth.end_my_sessions(
        request.app[SERVICES], actor, await session_secret(request), request.match_info["session"]
    )


@routes.http("POST", "/auth/sessions/end-others", summary="End every own session but this one",
             answer=dict, action=Action.STAFF_SELF)
async def end_other_sessions(request: web.Request, actor: Actor, _body: None) -> dict:
    return await auth.end_my_sessions(request.app[SERVICES], actor, await session_secret(request), None)


@routes.http("GET", "/auth/me", summary="The signed-in staff member", answer=StaffAnswer, action=Action.STAFF_SELF)
async def me(request: web.Request, actor: Actor, _body: None) -> StaffAnswer:
    from server.domain.errors import Unauthenticated

    if not actor.is_staff:
        raise Unauthenticated("sign in first")
    return auth.staff_answer(actor)


@routes.http("POST", B + "/staff/{staff:[0-9]{1,9}}/unlock",
             summary="Lift a staff member's sign-in lock (too many failed sign-ins)", answer=dict,
             action=Action.MANAGE_BRANCH)
async def unlock_staff(request: web.Request, actor: Actor, _body: None) -> dict:
    return await auth.lift_lock(request.app[SERVICES], actor, int(request.match_info["staff"]),
                                request.match_info["branch"])


@routes.http("GET", B + "/services", summary="Services with waiting count and estimated wait",
       answer=list[ServiceAnswer], action=Action.BRANCH_PUBLIC)
async def list_services(request: web.Request, actor: Actor, _body: None) -> list[ServiceAnswer]:
    return await queries.list_services(request.app[SERVICES], actor, request.match_info["branch"])


@routes.http("POST", B + "/tickets", summary="Issue a ticket (kiosk or staff); honours Idempotency-Key",
       body=IssueTicket, answer=TicketIssued, status=201, limit="issue", action=Action.ISSUE, headers=IssueHeaders)
async def issue_ticket(request: web.Request, actor: Actor, body: IssueTicket) -> TicketIssued:
    key = params(request, IssueHeaders).idempotency_key
    return await tickets.issue_ticket(
        request.app[SERVICES], actor, request.match_info["branch"], body, idempotency_key=key
    )


@routes.command("ticket/issue", IssueCommand, action=Action.ISSUE, limit="issue")
async def issue_ticket_command(services, conn, args: IssueCommand) -> TicketIssued:
    cmd = IssueTicket(service=args.service, priority=args.priority, green_reason=args.green_reason)
    return await tickets.issue_ticket(
        services, conn.actor, conn.branch_id, cmd, idempotency_key=args.idempotency_key
    )


@routes.http("GET", B + "/queue", summary="Waiting tickets in call order (?counter=n: that counter's order)",
       answer=QueueAnswer, query=QueueQuery, action=Action.READ_QUEUE)
async def queue(request: web.Request, actor: Actor, _body: None) -> QueueAnswer:
    return await queries.queue(
        request.app[SERVICES], actor, request.match_info["branch"], counter=params(request, QueueQuery).counter,
    )


@routes.http("GET", B + "/counters", summary="Counters of the branch, and which the teller may open",
       answer=list[CounterListEntry], action=Action.READ_QUEUE)
async def list_counters(request: web.Request, actor: Actor, _body: None) -> list[CounterListEntry]:
    return await counters.list_counters(request.app[SERVICES], actor, request.match_info["branch"])


@routes.http("POST", B + N + "/feedback", summary="Evaluator device: rate the ticket just finished at the counter",
       body=FeedbackIn, answer=FeedbackAnswer, status=201, action=Action.RATE_AT_COUNTER)
async def rate_at_counter(request: web.Request, actor: Actor, body: FeedbackIn) -> FeedbackAnswer:
    return await tickets.rate_at_counter(
        request.app[SERVICES], actor, request.match_info["branch"], int(request.match_info["number"]), body
    )


@routes.http("GET", B + N, summary="A counter: state, teller, current ticket",
       answer=CounterResult, action=Action.READ_QUEUE)
async def counter_view(request: web.Request, actor: Actor, _body: None) -> CounterResult:
    return await counters.counter_view(
        request.app[SERVICES], actor, request.match_info["branch"], int(request.match_info["number"])
    )


def _said(cmd: CounterCommand) -> dict[str, int | None]:
    """The command's ``expect``, if it said one (left out and null differ)."""
    return {"expect": cmd.expect} if "expect" in cmd.model_fields_set else {}


def _counter_route(
    path_action: str, command: str, summary: str, use_case, body: type | None = None,
    args: type[CounterCommand] = CounterCommand, to_body=None,
) -> None:
    """One counter use case as an HTTP route and a websocket command, both calling ``use_case``."""
    takes_body = body is not None

    async def act(request: web.Request, actor: Actor, payload: CounterStep | None) -> CounterResult:
        branch, number = request.match_info["branch"], int(request.match_info["number"])
        if takes_body:
            return await use_case(request.app[SERVICES], actor, branch, number, payload)
        expect = payload.expected if payload is not None else UNSAID
        return await use_case(request.app[SERVICES], actor, branch, number, expect=expect)

    async def run(services, conn, cmd: CounterCommand) -> CounterResult:
        if takes_body:
            return await use_case(services, conn.actor, conn.branch_id, cmd.counter, to_body(cmd))
        return await use_case(services, conn.actor, conn.branch_id, cmd.counter, expect=cmd.expected)

    act.__name__ = "counter_" + path_action.replace("-", "_")
    run.__name__ = act.__name__ + "_command"
    routes.http("POST", f"{B}{N}/{path_action}", summary=summary, body=body or CounterStep,
                body_optional=not takes_body or body is PauseCounter, answer=CounterResult,
                action=Action.OPERATE_COUNTER)(act)
    routes.command(command, args, action=Action.OPERATE_COUNTER, staff_view=True)(run)


for _path, _command, _what, _use_case in [
    ("open", "counter/open", "Open the counter under the signed-in teller (a manager takes it over)",
     counters.open_counter),
    ("close", "counter/close", "Close the counter (nothing may be called or serving)", counters.close_counter),
    ("call-next", "counter/call_next", "Finish the current ticket, then call the next by the counter's policy",
     counters.call_next),
    ("recall", "counter/recall", "Call the current ticket again", counters.recall),
    ("no-show", "counter/no_show", "The called customer did not come", counters.no_show),
    ("start", "counter/start", "Service has started", counters.start),
    ("finish", "counter/finish", "Service is done", counters.finish),
]:
    _counter_route(_path, _command, _what, _use_case)
_counter_route("pause", "counter/pause", "Pause the counter, with an optional reason", counters.pause_counter,
               PauseCounter, CounterPauseCommand, lambda a: PauseCounter(code=a.code, reason=a.reason, **_said(a)))
_counter_route("call", "counter/call", "Call a chosen waiting ticket (id or today's number)", counters.call_ticket,
               CallTicket, CounterCallCommand, lambda a: CallTicket(ticket=a.ticket, **_said(a)))
_counter_route("transfer", "counter/transfer",
               "Send the current ticket to a service or counter, first/last/original", counters.transfer,
               Transfer, CounterTransferCommand,
               lambda a: Transfer(service=a.service, counter=a.to_counter, position=a.position, **_said(a)))


@routes.http("POST", B + "/tickets/{ticket:[0-9]{1,18}}/requeue", summary="A no-show returns within the grace time",
       body=Requeue, body_optional=True, answer=TicketAnswer, action=Action.OPERATE_COUNTER)
async def requeue(request: web.Request, actor: Actor, body: Requeue | None) -> TicketAnswer:
    return await tickets.requeue_ticket(
        request.app[SERVICES], actor, request.match_info["branch"],
        int(request.match_info["ticket"]), body or Requeue(),
    )


@routes.command("ticket/requeue", RequeueCommand, action=Action.OPERATE_COUNTER, staff_view=True)
async def requeue_command(services, conn, args: RequeueCommand) -> TicketAnswer:
    return await tickets.requeue_ticket(services, conn.actor, conn.branch_id, args.ticket,
                                        Requeue(position=args.position))


TICKET = "/tickets/{ticket:[0-9]{1,18}}"


class FindQuery(Params):
    number: TicketNumber
    """Today's ticket number, e.g. A023."""


@routes.http("GET", B + "/tickets", summary="Manager: today's ticket with ?number=", answer=TicketAnswer,
             query=FindQuery, action=Action.MANAGE_BRANCH)
async def find_ticket(request: web.Request, actor: Actor, _body: None) -> TicketAnswer:
    return await tickets.find_ticket(request.app[SERVICES], actor, request.match_info["branch"],
                                     params(request, FindQuery).number)


@routes.command("ticket/find", FindTicketCommand, action=Action.MANAGE_BRANCH, staff_view=True)
async def find_ticket_command(services, conn, args: FindTicketCommand) -> TicketAnswer:
    return await tickets.find_ticket(services, conn.actor, conn.branch_id, args.number)


@routes.http("POST", B + TICKET + "/cancel", summary="Manager: cancel a waiting ticket on its customer's behalf",
             answer=TicketAnswer, action=Action.MANAGE_BRANCH)
async def cancel_for_customer(request: web.Request, actor: Actor, _body: None) -> TicketAnswer:
    return await tickets.cancel_for_customer(request.app[SERVICES], actor, request.match_info["branch"],
                                             int(request.match_info["ticket"]))


@routes.command("ticket/cancel", TicketCommand, action=Action.MANAGE_BRANCH, staff_view=True)
async def cancel_for_customer_command(services, conn, args: TicketCommand) -> TicketAnswer:
    return await tickets.cancel_for_customer(services, conn.actor, conn.branch_id, args.ticket)


@routes.http("POST", B + TICKET + "/service", summary="Manager: move a waiting ticket to another service "
             "(it keeps its number and its place by issue time)", body=ChangeService, answer=TicketAnswer,
             action=Action.MANAGE_BRANCH)
async def change_service(request: web.Request, actor: Actor, body: ChangeService) -> TicketAnswer:
    return await tickets.change_service(request.app[SERVICES], actor, request.match_info["branch"],
                                        int(request.match_info["ticket"]), body)


@routes.command("ticket/change_service", ChangeServiceCommand, action=Action.MANAGE_BRANCH, staff_view=True)
async def change_service_command(services, conn, args: ChangeServiceCommand) -> TicketAnswer:
    return await tickets.change_service(services, conn.actor, conn.branch_id, args.ticket,
                                        ChangeService(service=args.service))


@routes.http("POST", B + TICKET + "/reprint", summary="Lobby staff, or the issuing kiosk: print a copy of a waiting "
             "or called ticket at a kiosk (default: the one that issued it)", body=Reprint, body_optional=True,
             answer=ReprintAnswer, action=Action.REPRINT)
async def reprint(request: web.Request, actor: Actor, body: Reprint | None) -> ReprintAnswer:
    return await reprints.reprint_ticket(request.app[SERVICES], actor, request.match_info["branch"],
                                         int(request.match_info["ticket"]), body or Reprint())


@routes.command("ticket/reprint", ReprintCommand, action=Action.REPRINT, staff_view=True)
async def reprint_command(services, conn, args: ReprintCommand) -> ReprintAnswer:
    return await reprints.reprint_ticket(services, conn.actor, conn.branch_id, args.ticket, Reprint(kiosk=args.kiosk))


SERVICE_PATH = "/services/{code:[A-Z]{1,2}}"


def _service_switch(path: str, command: str, active: bool, summary: str) -> None:
    """Suspend or resume a service, as an HTTP route and a websocket command."""

    async def act(request: web.Request, actor: Actor, _body: None) -> dict:
        return await admin.set_service_active(request.app[SERVICES], actor, request.match_info["branch"],
                                              request.match_info["code"], active)

    async def run(services, conn, args: ServiceCommand) -> dict:
        return await admin.set_service_active(services, conn.actor, conn.branch_id, args.service, active)

    act.__name__ = f"service_{path}"
    run.__name__ = act.__name__ + "_command"
    routes.http("POST", f"{B}{SERVICE_PATH}/{path}", summary=summary, answer=dict, action=Action.MANAGE_BRANCH)(act)
    routes.command(command, ServiceCommand, action=Action.MANAGE_BRANCH, staff_view=True)(run)


_service_switch("suspend", "service/suspend", False,
                "Manager: suspend a service (the kiosk greys it; issuing is refused with suspended)")
_service_switch("resume", "service/resume", True, "Manager: resume a suspended service")


T = "/tickets/{token:[A-Za-z0-9_-]{8,64}}"


@routes.http("GET", T, summary="Public: one ticket by its unguessable token",
       answer=PublicTicket, limit="public", action=Action.PUBLIC)
async def public_ticket(request: web.Request, _actor: Actor, _body: None) -> PublicTicket:
    return await tickets.public_ticket(request.app[SERVICES], request.match_info["token"])


@routes.http("POST", T + "/cancel", summary="Public: give up a waiting ticket",
       answer=PublicTicket, limit="public", action=Action.PUBLIC)
async def cancel_ticket(request: web.Request, _actor: Actor, _body: None) -> PublicTicket:
    return await tickets.cancel_ticket(request.app[SERVICES], request.match_info["token"])


@routes.http("POST", T + "/feedback", summary="Public: rate the service once, after it", body=FeedbackIn,
       answer=FeedbackAnswer, status=201, limit="public", action=Action.PUBLIC)
async def feedback(request: web.Request, _actor: Actor, body: FeedbackIn) -> FeedbackAnswer:
    return await tickets.give_feedback(request.app[SERVICES], request.match_info["token"], body)


def _day(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


async def _summary(request: web.Request, actor: Actor, q: SummaryQuery) -> dict:
    return await reports.summary_report(
        request.app[SERVICES], actor, request.match_info["branch"],
        first=_day(q.first), last=_day(q.last), group=q.group,
    )


@routes.http("GET", B + "/reports/summary", summary="Manager: waits, service times, SLA, ratings over a period",
       answer=dict, query=SummaryQuery, action=Action.MANAGE_BRANCH)
async def report_summary(request: web.Request, actor: Actor, _body: None) -> dict:
    return await _summary(request, actor, params(request, SummaryQuery))


async def _export(request: web.Request, actor: Actor) -> tuple[dict, dict, dict, Language]:
    q = params(request, ExportQuery)
    return await reports.export(
        request.app[SERVICES], actor, request.match_info["branch"],
        first=_day(q.first), last=_day(q.last), group=q.group, lang=q.lang,
    )


@routes.http("GET", B + "/reports/summary.csv", summary="The summary report as CSV, headed in ?lang=",
       query=ExportQuery, content_type="text/csv", action=Action.MANAGE_BRANCH)
async def report_summary_csv(request: web.Request, actor: Actor, _body: None) -> web.Response:
    q = params(request, ExportQuery)
    report = await _summary(request, actor, q)
    lang = reports.report_language(report, q.lang)
    return web.Response(
        text=export.to_csv(report, lang), content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="summary-{report["from"]}-{report["to"]}.csv"'},
    )


@routes.http("GET", B + "/reports/summary.xlsx",
       summary="The reports as an Excel workbook: sheets summary, tellers and staffing, headed in ?lang=",
       query=ExportQuery, content_type=XLSX, action=Action.MANAGE_BRANCH)
async def report_summary_xlsx(request: web.Request, actor: Actor, _body: None) -> web.Response:
    report, tellers, staffing, lang = await _export(request, actor)
    return web.Response(
        body=export.to_xlsx(report, lang, tellers=tellers, staffing=staffing),
        content_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="summary-{report["from"]}-{report["to"]}.xlsx"'},
    )


@routes.http("GET", B + "/reports/staffing", summary="Manager: counters needed per weekday and hour (Erlang C)",
       answer=dict, query=StaffingQuery, action=Action.MANAGE_BRANCH)
async def report_staffing(request: web.Request, actor: Actor, _body: None) -> dict:
    q = params(request, StaffingQuery)
    return await reports.staffing(request.app[SERVICES], actor, request.match_info["branch"],
                                  weeks=q.weeks, sla=q.sla, first=_day(q.first), last=_day(q.last))


@routes.http("GET", B + "/reports/tellers", summary="Manager: teller scorecard", answer=dict,
       query=PeriodQuery, action=Action.MANAGE_BRANCH)
async def report_tellers(request: web.Request, actor: Actor, _body: None) -> dict:
    q = params(request, PeriodQuery)
    return await reports.scorecard(request.app[SERVICES], actor, request.match_info["branch"],
                                   first=_day(q.first), last=_day(q.last))


@routes.http("GET", B + "/reports/charts/{chart:[a-z]{1,20}}.svg", summary="Manager: a report chart as SVG",
       query=PeriodQuery, content_type=SVG, action=Action.MANAGE_BRANCH)
async def report_chart(request: web.Request, actor: Actor, _body: None) -> web.Response:
    q = params(request, PeriodQuery)
    svg = await reports.chart(request.app[SERVICES], actor, request.match_info["branch"],
                              request.match_info["chart"], first=_day(q.first), last=_day(q.last))
    return web.Response(text=svg, content_type=SVG, headers={"Cache-Control": "no-cache"})



@routes.http("GET", "/devices/me", summary="Device: who am I (kind, name, branch, time zone, language)",
       answer=DeviceAnswer, action=Action.DEVICE_SELF)
async def device_me(request: web.Request, actor: Actor, _body: None) -> DeviceAnswer:
    return await devices.whoami(request.app[SERVICES], actor)


@routes.http("GET", "/devices/me/tickets", summary="Kiosk: tickets it issued after ?after_id= (to print)",
       answer=list[TicketToPrint], query=AfterQuery, action=Action.PRINT)
async def device_tickets(request: web.Request, actor: Actor, _body: None) -> list[TicketToPrint]:
    after_id = params(request, AfterQuery).after_id
    return await devices.tickets_to_print(request.app[SERVICES], actor, after_id=after_id)


@routes.http("GET", "/devices/me/print-jobs", summary="Kiosk: its reprints after job ?after_id= (to print)",
       answer=list[TicketToPrint], query=AfterQuery, action=Action.PRINT)
async def device_print_jobs(request: web.Request, actor: Actor, _body: None) -> list[TicketToPrint]:
    after_id = params(request, AfterQuery).after_id
    return await devices.print_jobs(request.app[SERVICES], actor, after_id=after_id)


@routes.http("POST", "/devices/me/status", summary="Device: report health (printer online, paper)",
       body=DeviceStatusIn, answer=dict, action=Action.DEVICE_SELF)
async def device_status(request: web.Request, actor: Actor, body: DeviceStatusIn) -> dict:
    return await devices.report_status(request.app[SERVICES], actor, body)



@routes.http("GET", T + "/qr.svg", summary="Public: QR code of the ticket's phone page",
       limit="public", content_type=SVG, action=Action.PUBLIC)
async def ticket_qr(request: web.Request, _actor: Actor, _body: None) -> web.Response:
    token = request.match_info["token"]
    await tickets.public_ticket(request.app[SERVICES], token)  # 404 for unknown tokens
    url = f"{public_base(request)}/t/{token}"
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=6, border=2, xmldecl=False)
    return web.Response(body=buffer.getvalue(), content_type=SVG,
                        headers={"Cache-Control": "private, max-age=86400"})



@routes.http("POST", B + "/notices", summary="Manager: a notice on every display and kiosk (emergency: full screen)",
       body=NoticeIn, answer=NoticeAnswer, status=201, action=Action.MANAGE_BRANCH)
async def post_notice(request: web.Request, actor: Actor, body: NoticeIn) -> NoticeAnswer:
    return await notices.post_notice(request.app[SERVICES], actor, request.match_info["branch"], body)


@routes.http("GET", B + "/notices", summary="Notices showing now", answer=list[NoticeAnswer], action=Action.READ_QUEUE)
async def list_notices(request: web.Request, actor: Actor, _body: None) -> list[NoticeAnswer]:
    return await notices.list_notices(request.app[SERVICES], actor, request.match_info["branch"])


@routes.http("POST", B + "/notices/{notice:[0-9]{1,9}}/clear", summary="Manager: take a notice down",
       answer=dict, action=Action.MANAGE_BRANCH)
async def clear_notice(request: web.Request, actor: Actor, _body: None) -> dict:
    return await notices.clear_notice(request.app[SERVICES], actor, request.match_info["branch"],
                                      int(request.match_info["notice"]))
