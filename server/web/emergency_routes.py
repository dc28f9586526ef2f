"""Emergency mode over HTTP: start, end, the state now, the incident record and its report."""

from __future__ import annotations

import asyncio
from typing import Annotated

from aiohttp import web
from pydantic import Field

from server.domain.access import Action
from server.protocol import (
    EmergencyEndCommand,
    EmergencyIn,
    EmergencyStartCommand,
    EmergencyState,
    IncidentAnswer,
    IncidentEntryIn,
)
from server.reports import incident_export
from server.services import emergency
from server.services.context import Actor

from .api import BRANCH, DIGITS, SERVICES, Params, RouteTable, params
from .routes import XLSX, PeriodQuery

routes = RouteTable()

B = "/branches/" + BRANCH
I = B + "/incidents/{incident:[0-9]{1,9}}"  # noqa: E741  # the incident path, as N is the counter's


class IncidentPath(Params):
    incident: Annotated[int, Field(ge=1), DIGITS]


def _incident(request: web.Request) -> int:
    return params(request, IncidentPath).incident


@routes.http("POST", B + "/emergency", summary="Manager: start emergency mode (or a drill); issuing stops for "
             "the scope at once on every kiosk, and every screen shows the message", body=EmergencyIn,
             answer=IncidentAnswer, status=201, action=Action.DECLARE_EMERGENCY)
async def start_emergency(request: web.Request, actor: Actor, body: EmergencyIn) -> IncidentAnswer:
    return await emergency.start_emergency(request.app[SERVICES], actor, request.match_info["branch"], body)


@routes.http("DELETE", B + "/emergency", summary="Manager: end emergency mode; issuing resumes everywhere",
             answer=IncidentAnswer, action=Action.DECLARE_EMERGENCY)
async def end_emergency(request: web.Request, actor: Actor, _body: None) -> IncidentAnswer:
    return await emergency.end_emergency(request.app[SERVICES], actor, request.match_info["branch"])


@routes.command("emergency/start", EmergencyStartCommand, action=Action.DECLARE_EMERGENCY, staff_view=True)
async def start_emergency_command(services, conn, args: EmergencyStartCommand) -> IncidentAnswer:
    return await emergency.start_emergency(services, conn.actor, conn.branch_id, args)


@routes.command("emergency/end", EmergencyEndCommand, action=Action.DECLARE_EMERGENCY, staff_view=True)
async def end_emergency_command(services, conn, _args: EmergencyEndCommand) -> IncidentAnswer:
    return await emergency.end_emergency(services, conn.actor, conn.branch_id)


@routes.http("GET", B + "/emergency", summary="Staff: the incident in force (with its timeline), or none",
             answer=EmergencyState, action=Action.READ_QUEUE)
async def emergency_state(request: web.Request, actor: Actor, _body: None) -> EmergencyState:
    return await emergency.emergency_state(request.app[SERVICES], actor, request.match_info["branch"])


@routes.http("GET", B + "/incidents", summary="Manager: past incidents and drills, newest first (?from=&to=)",
             answer=list[IncidentAnswer], query=PeriodQuery, action=Action.DECLARE_EMERGENCY)
async def list_incidents(request: web.Request, actor: Actor, _body: None) -> list[IncidentAnswer]:
    q = params(request, PeriodQuery)
    return await emergency.list_incidents(request.app[SERVICES], actor, request.match_info["branch"],
                                          first=q.first, last=q.last)


@routes.http("POST", I + "/entries", summary="Manager: a note or an action on the incident's timeline",
             body=IncidentEntryIn, answer=IncidentAnswer, status=201, params=IncidentPath,
             action=Action.DECLARE_EMERGENCY)
async def add_incident_entry(request: web.Request, actor: Actor, body: IncidentEntryIn) -> IncidentAnswer:
    return await emergency.add_entry(request.app[SERVICES], actor, request.match_info["branch"],
                                     _incident(request), body)


@routes.http("POST", I + "/reported-upward", summary="Manager: the incident was reported upward (now)",
             answer=IncidentAnswer, params=IncidentPath, action=Action.DECLARE_EMERGENCY)
async def report_incident_upward(request: web.Request, actor: Actor, _body: None) -> IncidentAnswer:
    return await emergency.report_upward(request.app[SERVICES], actor, request.match_info["branch"],
                                         _incident(request))


@routes.http("GET", I, summary="Manager: the incident's report (tickets affected, waiting at the start, "
             "how long issuing stopped, timeline)", answer=dict, params=IncidentPath, action=Action.DECLARE_EMERGENCY)
async def incident_report(request: web.Request, actor: Actor, _body: None) -> dict:
    return await emergency.incident_report(request.app[SERVICES], actor, request.match_info["branch"],
                                           _incident(request))


@routes.http("GET", I + ".csv", summary="The incident's report as CSV", params=IncidentPath, content_type="text/csv",
             action=Action.DECLARE_EMERGENCY)
async def incident_report_csv(request: web.Request, actor: Actor, _body: None) -> web.Response:
    report = await emergency.incident_report(request.app[SERVICES], actor, request.match_info["branch"],
                                             _incident(request))
    return web.Response(
        text=incident_export.to_csv(report), content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="incident-{report["incident"]["id"]}.csv"'},
    )


@routes.http("GET", I + ".xlsx", summary="The incident's report as an Excel workbook (summary, tickets, timeline)",
             params=IncidentPath, content_type=XLSX, action=Action.DECLARE_EMERGENCY)
async def incident_report_xlsx(request: web.Request, actor: Actor, _body: None) -> web.Response:
    report = await emergency.incident_report(request.app[SERVICES], actor, request.match_info["branch"],
                                             _incident(request))
    return web.Response(
        body=incident_export.to_xlsx(report), content_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="incident-{report["incident"]["id"]}.xlsx"'},
    )


@routes.http("GET", I + ".pdf", summary="The incident's report as PDF, to send upward (summary, tickets, timeline; "
             "Chinese and English)", params=IncidentPath, content_type="application/pdf",
             action=Action.DECLARE_EMERGENCY)
async def incident_report_pdf(request: web.Request, actor: Actor, _body: None) -> web.Response:
    report = await emergency.incident_report(request.app[SERVICES], actor, request.match_info["branch"],
                                             _incident(request))
    # Setting CJK text embeds a subset of a large font: seconds of work, kept off the event loop.
    body = await asyncio.to_thread(incident_export.to_pdf, report, branch_name=request.match_info["branch"])
    return web.Response(
        body=body, content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="incident-{report["incident"]["id"]}.pdf"'},
    )
