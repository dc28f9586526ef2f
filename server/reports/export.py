"""The reports as CSV and XLSX: the summary's columns, headed in the reader's language.

Figures are written as a spreadsheet shows them: durations in XLSX as durations (a day's
fraction with an ``[h]:mm:ss`` format, so they add up and sort) and in CSV as ``h:mm:ss``
(which spreadsheets read as durations); shares as percentages; ratings with two decimals;
counts as whole numbers. The workbook has a sheet for the summary, the teller scorecard
and the staffing advice.

Text in a report comes from people (usernames, names of services and counters), and a
spreadsheet runs text that looks like a formula: ``=HYPERLINK(…)`` as a teller's name
would be a live link in the teller report. So every text cell is written as text: in
XLSX as a string cell (xlsxwriter's formula and URL guessing turned off), in CSV with a
leading ``'`` before ``= + - @`` (and tab or carriage return), as OWASP advises, since a
CSV file has no types to say "this is text".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, Literal

import xlsxwriter

from .summary import COLUMNS
from .words import Language, word

Kind = Literal["count", "duration", "share", "rating", "decimal", "text"]

#: How each figure is shown (figures not named here are counts).
KINDS: dict[str, Kind] = {
    **{c: "duration" for c in COLUMNS if c.endswith("_s")},
    "sla_share": "share", "utilisation": "share", "rating_share_4_5": "share",
    "rating_response_rate": "share", "rating_mean": "rating",
    # the teller scorecard
    "target_service_avg_s": "duration", "service_vs_target": "rating", "no_show_share": "share",
    # staffing advice
    "aht_s": "duration", "target_wait_s": "duration", "arrivals_per_hour": "decimal",
    "counters_open": "decimal", "service_level_needed": "share", "service_level_open": "share",
    "weekday": "text", "hour": "text", "teller": "text",
}
XLSX_FORMATS: dict[Kind, str] = {
    "count": "0", "duration": "[h]:mm:ss", "share": "0.0%", "rating": "0.00", "decimal": "0.0",
}
TELLER_COLUMNS = ("teller", "served", "service_avg_s", "target_service_avg_s", "service_vs_target",
                  "rating_mean", "ratings", "no_show_share", "upheld_complaints")
STAFFING_COLUMNS = ("weekday", "hour", "arrivals_per_hour", "aht_s", "target_wait_s", "counters_needed",
                    "service_level_needed", "counters_open", "service_level_open")

#: What a spreadsheet takes as the start of a formula in a cell it reads from CSV.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: Any) -> Any:
    """``value`` safe to put in a CSV cell: text that would start a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def hms(seconds: float) -> str:
    """``seconds`` as h:mm:ss, rounded to the second first (239.6 s is 0:04:00, never 0:03:60)."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def shown(value: Any, kind: Kind) -> Any:
    """A figure as a CSV cell shows it."""
    if not _is_number(value):
        return csv_text(value)
    if kind == "duration":
        return hms(value)
    if kind == "share":
        return f"{100 * value:.1f}%"
    if kind == "rating":
        return f"{value:.2f}"
    if kind == "decimal":
        return f"{value:.1f}"
    return round(value) if isinstance(value, float) and value.is_integer() else value


def _summary_rows(report: dict[str, Any], lang: Language) -> list[list[Any]]:
    rows = [[row["key"], *(row[c] for c in COLUMNS[1:])] for row in report["rows"]]
    return [*rows, [word("total", lang), *(report["total"][c] for c in COLUMNS[1:])]]


def _teller_rows(scorecard: dict[str, Any]) -> list[list[Any]]:
    return [[t.get(c) for c in TELLER_COLUMNS] for t in scorecard["tellers"]]


def _staffing_rows(staffing: dict[str, Any], lang: Language) -> list[list[Any]]:
    return [[word(s["weekday"], lang), f"{s['hour']:02d}:00", *(s.get(c) for c in STAFFING_COLUMNS[2:])]
            for s in staffing["rows"]]


def to_csv(report: dict[str, Any], lang: Language = "zh-CN") -> str:
    """The summary as CSV, headed in ``lang`` (UTF-8 with a BOM is the caller's choice)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([word(report["group"], lang), *(word(c, lang) for c in COLUMNS[1:])])
    kinds = ["text", *(KINDS.get(c, "count") for c in COLUMNS[1:])]
    for row in _summary_rows(report, lang):
        writer.writerow([shown(v, k) for v, k in zip(row, kinds, strict=True)])
    return buffer.getvalue()


def to_xlsx(report: dict[str, Any], lang: Language = "zh-CN", *, tellers: dict[str, Any] | None = None,
            staffing: dict[str, Any] | None = None) -> bytes:
    """The workbook: sheets "summary", and "tellers" and "staffing" when given."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    formats = {kind: book.add_format({"num_format": f}) for kind, f in XLSX_FORMATS.items()}
    name = report.get("branch_name") or report["branch"]
    title = [f"{word('branch', lang)}: {name}", f"{word('period', lang)}: {report['from']} – {report['to']}",
             f"{word('timezone', lang)}: {report['timezone']}"]

    def sheet(sheet_name: str, columns: tuple[str, ...], header: list[str], rows: list[list[Any]],
              kinds: list[Kind]) -> None:
        ws = book.add_worksheet(sheet_name)
        _cells(ws, 0, title, [None] * 3, formats, bold)
        _cells(ws, 2, header, ["text"] * len(header), formats, bold)
        for i, row in enumerate(rows, start=3):
            _cells(ws, i, row, kinds, formats)
        ws.set_column(0, 0, 16)
        ws.set_column(1, len(columns) - 1, 11)
        ws.freeze_panes(3, 1)

    kinds: list[Kind] = ["text", *(KINDS.get(c, "count") for c in COLUMNS[1:])]
    sheet("summary", COLUMNS, [word(report["group"], lang), *(word(c, lang) for c in COLUMNS[1:])],
          _summary_rows(report, lang), kinds)
    if tellers is not None:
        sheet("tellers", TELLER_COLUMNS, [word(c, lang) for c in TELLER_COLUMNS], _teller_rows(tellers),
              [KINDS.get(c, "count") for c in TELLER_COLUMNS])
    if staffing is not None:
        sheet("staffing", STAFFING_COLUMNS, [word(c, lang) for c in STAFFING_COLUMNS],
              _staffing_rows(staffing, lang), [KINDS.get(c, "count") for c in STAFFING_COLUMNS])
    book.close()
    return buffer.getvalue()


def _cells(sheet: Any, row: int, values: list[Any], kinds: Sequence[Kind | None], formats: dict[Kind, Any],
           style: Any = None) -> None:
    """One row: text as string cells (never a formula or link), figures as numbers in their
    format (durations as a day's fraction), None empty."""
    for col, (value, kind) in enumerate(zip(values, kinds, strict=True)):
        if value is None:
            continue
        if not _is_number(value):
            sheet.write_string(row, col, str(value), style)
        elif kind == "duration":
            sheet.write_number(row, col, round(value) / 86400, formats["duration"])
        else:
            sheet.write_number(row, col, value, formats.get(kind or "count", formats["count"]) if style is None
                               else style)
