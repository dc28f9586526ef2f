"""Staff assessment over HTTP: JSON for the pages, CSV and XLSX for payroll, and the evaluator's prompt."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field

from server.domain.access import Action
from server.protocol import RatingPromptIn
from server.reports import sheets
from server.reports.words import LANGUAGES, Language, word
from server.services import assessment
from server.services.context import Actor

from .api import BRANCH, SERVICES, Params, RouteTable, params
from .routes import XLSX, ReportDay

routes = RouteTable()

B = "/branches/" + BRANCH
N = "/counters/{number:[0-9]{1,4}}"


class AssessmentQuery(Params):
    first: Annotated[ReportDay | None, Field(alias="from")] = None
    """The first business day (default: today)."""
    last: Annotated[ReportDay | None, Field(alias="to")] = None
    """The last business day (default: ``from``); at most 366 days after it."""
    lang: Literal["zh-CN", "en", "zh-TW"] | None = None
    """The language of an export's headings (default: the branch's)."""


async def _report(request: web.Request, actor: Actor) -> tuple[dict, Language]:
    q = params(request, AssessmentQuery)
    report = await assessment.assessment_report(
        request.app[SERVICES], actor, request.match_info["branch"],
        first=q.first.isoformat() if q.first else None, last=q.last.isoformat() if q.last else None,
    )
    lang: Language = q.lang or (report["language"] if report["language"] in LANGUAGES else "zh-CN")
    return report, lang


def _rows(report: dict, lang: Language) -> list[dict]:
    return [{**r, "band": word(r["band"], lang) if r["band"] else None} for r in assessment.rows_for_export(report)]


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@routes.http("GET", B + "/reports/assessment", summary="Staff assessment over a period: per teller a score, "
             "band, parts and the figures behind them (a manager: every teller; a teller: their own)",
             answer=dict, query=AssessmentQuery, action=Action.READ_ASSESSMENT)
async def report_assessment(request: web.Request, actor: Actor, _body: None) -> dict:
    return (await _report(request, actor))[0]


@routes.http("GET", B + "/reports/assessment.csv", summary="The staff assessment as CSV, headed in ?lang=",
             query=AssessmentQuery, content_type="text/csv", action=Action.READ_ASSESSMENT)
async def report_assessment_csv(request: web.Request, actor: Actor, _body: None) -> web.Response:
    report, lang = await _report(request, actor)
    text = sheets.to_csv(assessment.COLUMNS, _rows(report, lang), [word(c, lang) for c in assessment.COLUMNS])
    return web.Response(text=text, content_type="text/csv", charset="utf-8",
                        headers=_attachment(f"assessment-{report['from']}-{report['to']}.csv"))


@routes.http("GET", B + "/reports/assessment.xlsx", summary="The staff assessment as an Excel workbook for "
             "payroll, headed in ?lang=", query=AssessmentQuery, content_type=XLSX, action=Action.READ_ASSESSMENT)
async def report_assessment_xlsx(request: web.Request, actor: Actor, _body: None) -> web.Response:
    report, lang = await _report(request, actor)
    body = sheets.to_xlsx([("assessment", assessment.COLUMNS, _rows(report, lang))],
                          {c: word(c, lang) for c in assessment.COLUMNS})
    return web.Response(body=body, content_type=XLSX,
                        headers=_attachment(f"assessment-{report['from']}-{report['to']}.xlsx"))


@routes.http("POST", B + N + "/feedback/prompt", summary="Evaluator device: it is asking the customer just "
             "served at the counter for a rating (rating coverage counts it)", body=RatingPromptIn,
             answer=dict, action=Action.RATE_AT_COUNTER)
async def rating_prompt(request: web.Request, actor: Actor, body: RatingPromptIn) -> dict:
    return await assessment.record_prompt(request.app[SERVICES], actor, request.match_info["branch"],
                                          int(request.match_info["number"]), body)
