"""The summary report as CSV and XLSX, with the same columns as the JSON.

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
from typing import Any

import xlsxwriter

from .summary import COLUMNS


def _rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [*report["rows"], {**report["total"], "key": "total"}]


#: What a spreadsheet takes as the start of a formula in a cell it reads from CSV.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: Any) -> Any:
    """``value`` safe to put in a CSV cell: text that would start a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(report: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[report["group"], *COLUMNS[1:]], lineterminator="\n")
    writer.writeheader()
    for row in _rows(report):
        writer.writerow({report["group"]: csv_text(row["key"]), **{c: csv_text(row[c]) for c in COLUMNS[1:]}})
    return buffer.getvalue()


def to_xlsx(report: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = book.add_worksheet("summary")
    bold = book.add_format({"bold": True})
    _cells(sheet, 0, [f"branch {report['branch']}", f"{report['from']} – {report['to']}",
                      f"time zone {report['timezone']}"], bold)
    _cells(sheet, 2, [report["group"], *COLUMNS[1:]], bold)
    for i, row in enumerate(_rows(report), start=3):
        _cells(sheet, i, [row["key"], *(row[c] for c in COLUMNS[1:])])
    sheet.freeze_panes(3, 1)
    book.close()
    return buffer.getvalue()


def _cells(sheet: Any, row: int, values: list[Any], style: Any = None) -> None:
    """One row: text as string cells (never a formula or link), numbers as numbers, None empty."""
    for col, value in enumerate(values):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            sheet.write_string(row, col, str(value), style)
        else:
            sheet.write_number(row, col, value, style)
