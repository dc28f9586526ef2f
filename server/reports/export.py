"""The summary report as CSV and XLSX, with the same columns as the JSON."""

from __future__ import annotations

import csv
import io
from typing import Any

import xlsxwriter

from .summary import COLUMNS


def _rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [*report["rows"], {**report["total"], "key": "total"}]


def to_csv(report: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[report["group"], *COLUMNS[1:]], lineterminator="\n")
    writer.writeheader()
    for row in _rows(report):
        writer.writerow({report["group"]: row["key"], **{c: row[c] for c in COLUMNS[1:]}})
    return buffer.getvalue()


def to_xlsx(report: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("summary")
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, [f"branch {report['branch']}", f"{report['from']} – {report['to']}",
                           f"time zone {report['timezone']}"], bold)
    sheet.write_row(2, 0, [report["group"], *COLUMNS[1:]], bold)
    for i, row in enumerate(_rows(report), start=3):
        sheet.write_row(i, 0, [row["key"], *(row[c] for c in COLUMNS[1:])])
    sheet.freeze_panes(3, 1)
    book.close()
    return buffer.getvalue()
