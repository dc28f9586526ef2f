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


#: The CJK font the PDF is set in (Debian's fonts-noto-cjk); ``BRANCHQ_PDF_FONT`` names another.
PDF_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def _pdf_font() -> str:
    import os

    path = os.environ.get("BRANCHQ_PDF_FONT") or PDF_FONT
    if not os.path.exists(path):
        raise FileNotFoundError(f"the PDF needs a CJK font at {path} (Debian: apt install fonts-noto-cjk)")
    return path


def to_pdf(report: dict[str, Any], *, branch_name: str = "") -> bytes:
    """The report on A4 pages: the summary, the tickets affected and the timeline, in Chinese and
    English side by side, set in a CJK font (the text from people may be in any of the three)."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("cjk", fname=_pdf_font(), collection_font_number=0)  # SC face of the collection
    pdf.add_page()
    inc = report["incident"]
    pdf.set_font("cjk", size=16)
    title = "应急演练报告 Drill report" if inc["drill"] else "应急事件报告 Incident report"
    pdf.cell(0, 10, f"{title} #{inc['id']}", new_x="LMARGIN", new_y="NEXT")
    if branch_name:
        pdf.set_font("cjk", size=11)
        pdf.cell(0, 7, branch_name, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("cjk", size=9)
    head = FontFace(fill_color=(230, 230, 230))
    with pdf.table(col_widths=(45, 55), text_align="LEFT", first_row_as_headings=False) as table:
        for label, value in _summary(report):
            row = table.row()
            row.cell(label, style=head)
            row.cell(str(value))
    for heading, columns, rows in (("受影响票号 Tickets affected", TICKET_HEAD, _tickets(report)),
                                   ("时间线 Timeline", TIMELINE_HEAD, _timeline(report))):
        pdf.ln(4)
        pdf.set_font("cjk", size=11)
        pdf.cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=9)
        with pdf.table(text_align="LEFT", headings_style=head) as table:
            table.row(list(columns))
            for values in rows:
                table.row(["" if v is None else str(v) for v in values])
    return bytes(pdf.output())
