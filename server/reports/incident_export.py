"""One incident's report, to send upward, as CSV and XLSX (the JSON is the service's answer).

Headed in Chinese and English side by side (the report goes to the bank's own offices,
which read both). Text from people (notes, names) is written as text, never run as a
formula: CSV cells through :func:`server.reports.export.csv_text`, XLSX as string cells.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import xlsxwriter

from .export import csv_text

SUMMARY_ROWS = (
    ("incident", "事件 Incident"), ("kind", "类型 Kind"), ("drill", "演练 Drill"), ("scope", "范围 Scope"),
    ("started_at", "开始 Started"), ("started_by", "启动人 Started by"), ("ended_at", "结束 Ended"),
    ("reported_upward_at", "上报时间 Reported upward"), ("stopped_minutes", "停止取号分钟 Issuing stopped (min)"),
    ("waiting_at_start", "开始时等候 Waiting at the start"), ("tickets_affected", "受影响票号 Tickets affected"),
)
TICKET_HEAD = ("票号 Ticket", "业务 Service", "开始时状态 State at start", "现在状态 State now")
TIMELINE_HEAD = ("时间 At", "记录 Entry", "人员 By", "内容 Text")


def _summary(report: dict[str, Any]) -> list[tuple[str, Any]]:
    inc = report["incident"]
    scope = inc["scope"] if isinstance(inc["scope"], str) else ", ".join(inc["scope"])
    values = {
        "incident": inc["id"], "kind": inc["kind"], "drill": "yes" if inc["drill"] else "no", "scope": scope,
        "started_at": inc["started_at"], "started_by": inc["started_by"] or "", "ended_at": inc["ended_at"] or "",
        "reported_upward_at": inc["reported_upward_at"] or "", "stopped_minutes": report["stopped_minutes"],
        "waiting_at_start": report["waiting_at_start"], "tickets_affected": report["tickets_affected"],
    }
    return [(title, values[key]) for key, title in SUMMARY_ROWS]


def _tickets(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(t["number"], t["service"], t["state_at_start"], t["state_now"]) for t in report["tickets"]]


def _timeline(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(e["at"], e["kind"], e["actor"], e["text"]) for e in report["timeline"]]


def to_csv(report: dict[str, Any]) -> str:
    """Three blocks one after the other: the summary, the tickets affected, the timeline."""
    out = io.StringIO()
    writer = csv.writer(out)
    for title, value in _summary(report):
        writer.writerow([title, csv_text(value)])
    writer.writerow([])
    writer.writerow(TICKET_HEAD)
    writer.writerows([[csv_text(v) for v in row] for row in _tickets(report)])
    writer.writerow([])
    writer.writerow(TIMELINE_HEAD)
    writer.writerows([[csv_text(v) for v in row] for row in _timeline(report)])
    return out.getvalue()


def to_xlsx(report: dict[str, Any]) -> bytes:
    """A workbook with the sheets summary, tickets and timeline."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("summary")
    for r, (title, value) in enumerate(_summary(report)):
        sheet.write_string(r, 0, title, bold)
        if isinstance(value, (int, float)):
            sheet.write_number(r, 1, value)
        else:
            sheet.write_string(r, 1, str(value))
    sheet.set_column(0, 0, 34)
    sheet.set_column(1, 1, 30)
    sheets = (("tickets", TICKET_HEAD, _tickets(report)), ("timeline", TIMELINE_HEAD, _timeline(report)))
    for name, head, rows in sheets:
        ws = book.add_worksheet(name)
        for c, title in enumerate(head):
            ws.write_string(0, c, title, bold)
            ws.set_column(c, c, 24)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                ws.write_string(r, c, "" if value is None else str(value))
    book.close()
    return buffer.getvalue()
