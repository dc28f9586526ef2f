"""HTTP endpoints: each one reads the request, calls one service function, answers."""

from __future__ import annotations

import io

import segno
from aiohttp import web
from sqlalchemy import text

from server import __version__
from server.domain.errors import InvalidInput
from server.protocol import (
    CallTicket,
    CounterListEntry,
    CounterResult,
    DeviceAnswer,
    DeviceStatusIn,
    Empty,
    FeedbackAnswer,
    FeedbackIn,
    Health,
    IssueTicket,
    Login,
    NoticeAnswer,
    NoticeIn,
    PauseCounter,
    PublicTicket,
    QueueAnswer,
    Requeue,
    ServiceAnswer,
    StaffAnswer,
    TicketAnswer,
    TicketIssued,
    TicketToPrint,
    Transfer,
)
from server.reports import export
from server.services import auth, counters, devices, notices, queries, reports, tickets
from server.services.context import Actor

from .api import SERVICES, route
from .auth import sign_in, sign_out

B = "/branches/{branch}"
N = "/counters/{number:[0-9]{1,4}}"
MAX_IDEMPOTENCY_KEY = 128


@route("GET", "/health", summary="Liveness and database reachability", answer=Health)
async def health(request: web.Request, _actor: Actor, _body: None) -> Health:
    services = request.app[SERVICES]
    async with services.db.read() as conn:
        await conn.execute(text("SELECT 1"))
    return Health(status="ok", database=services.db.dialect, version=__version__)


@route("POST", "/auth/login", summary="Staff sign-in; sets the session cookie", body=Login, answer=StaffAnswer,
       limit="public")
async def login(request: web.Request, _actor: Actor, body: Login) -> StaffAnswer:
    actor = await auth.login(request.app[SERVICES], body.username, body.password)
    await sign_in(request, actor)
    return auth.staff_answer(actor)


@route("POST", "/auth/logout", summary="Sign out", answer=dict)
async def logout(request: web.Request, _actor: Actor, _body: None) -> dict:
    await sign_out(request)
    return {"signed_out": True}


@route("GET", "/auth/me", summary="The signed-in staff member", answer=StaffAnswer, who="staff")
async def me(request: web.Request, actor: Actor, _body: None) -> StaffAnswer:
    from server.domain.errors import Unauthenticated

    if not actor.is_staff:
        raise Unauthenticated("sign in first")
    return auth.staff_answer(actor)


@route("GET", B + "/services", summary="Services with waiting count and estimated wait",
       answer=list[ServiceAnswer])
async def list_services(request: web.Request, actor: Actor, _body: None) -> list[ServiceAnswer]:
    return await queries.list_services(request.app[SERVICES], actor, request.match_info["branch"])


@route("POST", B + "/tickets", summary="Issue a ticket (kiosk or staff); honours Idempotency-Key",
       body=IssueTicket, answer=TicketIssued, status=201, who="device", limit="issue")
async def issue_ticket(request: web.Request, actor: Actor, body: IssueTicket) -> TicketIssued:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (
        1 <= len(key) <= MAX_IDEMPOTENCY_KEY and key.isascii() and key.isprintable()
    ):
        raise InvalidInput(
            f"Idempotency-Key must be 1–{MAX_IDEMPOTENCY_KEY} printable ASCII characters (a UUID will do)"
        )
    return await tickets.issue_ticket(
        request.app[SERVICES], actor, request.match_info["branch"], body, idempotency_key=key
    )


@route("GET", B + "/queue", summary="Waiting tickets in call order (?counter=n: that counter's order)",
       answer=QueueAnswer, who="teller", query=("counter",))
async def queue(request: web.Request, actor: Actor, _body: None) -> QueueAnswer:
    counter = request.query.get("counter")
    if counter is not None and not (counter.isascii() and counter.isdigit() and len(counter) <= 4):
        raise InvalidInput("counter must be a counter number")
    return await queries.queue(
        request.app[SERVICES], actor, request.match_info["branch"],
        counter=int(counter) if counter is not None else None,
    )


@route("GET", B + "/counters", summary="Counters of the branch, and which the teller may open",
       answer=list[CounterListEntry], who="teller")
async def list_counters(request: web.Request, actor: Actor, _body: None) -> list[CounterListEntry]:
    return await counters.list_counters(request.app[SERVICES], actor, request.match_info["branch"])


@route("POST", B + N + "/feedback", summary="Evaluator device: rate the ticket just finished at the counter",
       body=FeedbackIn, answer=FeedbackAnswer, status=201, who="device")
async def rate_at_counter(request: web.Request, actor: Actor, body: FeedbackIn) -> FeedbackAnswer:
    return await tickets.rate_at_counter(
        request.app[SERVICES], actor, request.match_info["branch"], int(request.match_info["number"]), body
    )


@route("GET", B + N, summary="A counter: state, teller, current ticket", answer=CounterResult, who="teller")
async def counter_view(request: web.Request, actor: Actor, _body: None) -> CounterResult:
    return await counters.counter_view(
        request.app[SERVICES], actor, request.match_info["branch"], int(request.match_info["number"])
    )


def _counter_route(action: str, summary: str, body=Empty, optional: bool = True) -> None:
    async def act(request: web.Request, actor: Actor, payload) -> CounterResult:
        return await counters.counter_action(
            request.app[SERVICES], actor, request.match_info["branch"],
            int(request.match_info["number"]), action, payload,
        )

    act.__name__ = "counter_" + action.replace("-", "_")
    route("POST", f"{B}{N}/{action}", summary=summary, body=body, body_optional=optional,
          answer=CounterResult, who="teller")(act)


for _action, _summary in [
    ("open", "Open the counter under the signed-in teller (a manager takes it over)"),
    ("close", "Close the counter (nothing may be called or serving)"),
    ("call-next", "Finish the current ticket, then call the next by the counter's policy"),
    ("recall", "Call the current ticket again"),
    ("no-show", "The called customer did not come"),
    ("start", "Service has started"),
    ("finish", "Service is done"),
]:
    _counter_route(_action, _summary)
_counter_route("pause", "Pause the counter, with an optional reason", PauseCounter)
_counter_route("call", "Call a chosen waiting ticket (id or today's number)", CallTicket, optional=False)
_counter_route("transfer", "Send the current ticket to a service or counter, first/last/original",
               Transfer, optional=False)


@route("POST", B + "/tickets/{ticket:[0-9]{1,18}}/requeue", summary="A no-show returns within the grace time",
       body=Requeue, body_optional=True, answer=TicketAnswer, who="teller")
async def requeue(request: web.Request, actor: Actor, body: Requeue | None) -> TicketAnswer:
    return await tickets.requeue_ticket(
        request.app[SERVICES], actor, request.match_info["branch"],
        int(request.match_info["ticket"]), body or Requeue(),
    )


T = "/tickets/{token:[A-Za-z0-9_-]{8,64}}"


@route("GET", T, summary="Public: one ticket by its unguessable token", answer=PublicTicket, limit="public")
async def public_ticket(request: web.Request, _actor: Actor, _body: None) -> PublicTicket:
    return await tickets.public_ticket(request.app[SERVICES], request.match_info["token"])


@route("POST", T + "/cancel", summary="Public: give up a waiting ticket", answer=PublicTicket, limit="public")
async def cancel_ticket(request: web.Request, _actor: Actor, _body: None) -> PublicTicket:
    return await tickets.cancel_ticket(request.app[SERVICES], request.match_info["token"])


@route("POST", T + "/feedback", summary="Public: rate the service once, after it", body=FeedbackIn,
       answer=FeedbackAnswer, status=201, limit="public")
async def feedback(request: web.Request, _actor: Actor, body: FeedbackIn) -> FeedbackAnswer:
    return await tickets.give_feedback(request.app[SERVICES], request.match_info["token"], body)


REPORT_QUERY = ("from", "to", "group")


async def _summary(request: web.Request, actor: Actor) -> dict:
    q = request.query
    return await reports.summary_report(
        request.app[SERVICES], actor, request.match_info["branch"],
        first=q.get("from"), last=q.get("to"), group=q.get("group", "service"),
    )


@route("GET", B + "/reports/summary", summary="Manager: waits, service times, SLA, ratings over a period",
       answer=dict, who="manager", query=REPORT_QUERY)
async def report_summary(request: web.Request, actor: Actor, _body: None) -> dict:
    return await _summary(request, actor)


@route("GET", B + "/reports/summary.csv", summary="The summary report as CSV", who="manager",
       query=REPORT_QUERY)
async def report_summary_csv(request: web.Request, actor: Actor, _body: None) -> web.Response:
    report = await _summary(request, actor)
    return web.Response(
        text=export.to_csv(report), content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="summary-{report["from"]}-{report["to"]}.csv"'},
    )


@route("GET", B + "/reports/summary.xlsx", summary="The summary report as an Excel workbook", who="manager",
       query=REPORT_QUERY)
async def report_summary_xlsx(request: web.Request, actor: Actor, _body: None) -> web.Response:
    report = await _summary(request, actor)
    return web.Response(
        body=export.to_xlsx(report),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="summary-{report["from"]}-{report["to"]}.xlsx"'},
    )


@route("GET", B + "/reports/staffing", summary="Manager: counters needed per weekday and hour (Erlang C)",
       answer=dict, who="manager", query=("weeks", "sla"))
async def report_staffing(request: web.Request, actor: Actor, _body: None) -> dict:
    try:
        weeks = int(request.query.get("weeks", "4"))
        sla = float(request.query.get("sla", "0.8"))
    except ValueError:
        raise InvalidInput("weeks is a whole number and sla a share such as 0.8") from None
    return await reports.staffing(request.app[SERVICES], actor, request.match_info["branch"],
                                  weeks=weeks, sla=sla)


@route("GET", B + "/reports/tellers", summary="Manager: teller scorecard", answer=dict, who="manager",
       query=("from", "to"))
async def report_tellers(request: web.Request, actor: Actor, _body: None) -> dict:
    return await reports.scorecard(request.app[SERVICES], actor, request.match_info["branch"],
                                   first=request.query.get("from"), last=request.query.get("to"))


@route("GET", B + "/reports/charts/{chart:[a-z]+}.svg", summary="Manager: a report chart as SVG",
       who="manager", query=("from", "to"))
async def report_chart(request: web.Request, actor: Actor, _body: None) -> web.Response:
    svg = await reports.chart(request.app[SERVICES], actor, request.match_info["branch"],
                              request.match_info["chart"], first=request.query.get("from"),
                              last=request.query.get("to"))
    return web.Response(text=svg, content_type="image/svg+xml", headers={"Cache-Control": "no-cache"})



@route("GET", "/devices/me", summary="Device: who am I (kind, name, branch, time zone, language)",
       answer=DeviceAnswer, who="device")
async def device_me(request: web.Request, actor: Actor, _body: None) -> DeviceAnswer:
    return await devices.whoami(request.app[SERVICES], actor)


@route("GET", "/devices/me/tickets", summary="Kiosk: tickets it issued after ?after_id= (to print)",
       answer=list[TicketToPrint], who="device", query=("after_id",))
async def device_tickets(request: web.Request, actor: Actor, _body: None) -> list[TicketToPrint]:
    after = request.query.get("after_id", "0")
    if not (after.isascii() and after.isdigit() and len(after) <= 18):
        raise InvalidInput("after_id is a ticket id")
    return await devices.tickets_to_print(request.app[SERVICES], actor, after_id=int(after))


@route("POST", "/devices/me/status", summary="Device: report health (printer online, paper)",
       body=DeviceStatusIn, answer=dict, who="device")
async def device_status(request: web.Request, actor: Actor, body: DeviceStatusIn) -> dict:
    return await devices.report_status(request.app[SERVICES], actor, body)



@route("GET", T + "/qr.svg", summary="Public: QR code of the ticket's phone page", limit="public")
async def ticket_qr(request: web.Request, _actor: Actor, _body: None) -> web.Response:
    token = request.match_info["token"]
    await tickets.public_ticket(request.app[SERVICES], token)  # 404 for unknown tokens
    url = f"{request.scheme}://{request.host}/t/{token}"
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=6, border=2, xmldecl=False)
    return web.Response(body=buffer.getvalue(), content_type="image/svg+xml",
                        headers={"Cache-Control": "private, max-age=86400"})



@route("POST", B + "/notices", summary="Manager: a notice on every display and kiosk (emergency: full screen)",
       body=NoticeIn, answer=NoticeAnswer, status=201, who="manager")
async def post_notice(request: web.Request, actor: Actor, body: NoticeIn) -> NoticeAnswer:
    return await notices.post_notice(request.app[SERVICES], actor, request.match_info["branch"], body)


@route("GET", B + "/notices", summary="Notices showing now", answer=list[NoticeAnswer], who="teller")
async def list_notices(request: web.Request, actor: Actor, _body: None) -> list[NoticeAnswer]:
    return await notices.list_notices(request.app[SERVICES], actor, request.match_info["branch"])


@route("POST", B + "/notices/{notice:[0-9]{1,9}}/clear", summary="Manager: take a notice down",
       answer=dict, who="manager")
async def clear_notice(request: web.Request, actor: Actor, _body: None) -> dict:
    return await notices.clear_notice(request.app[SERVICES], actor, request.match_info["branch"],
                                      int(request.match_info["notice"]))
